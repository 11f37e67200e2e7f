"""Simulated executor clients: connected over the WebSocket API (as far as the relay can tell), they
receive the frames posted to them through the fake Management API and answer ``message`` frames with
a behaviour of the test's choosing, through the real ``$default`` route."""

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from session_relay.websocket import events as websocket_events
from session_relay.websocket import frames, handshake
from session_relay.wire import dump_json

from support.events import default_event, disconnect_event, frame_event
from support.functions import Handler, LambdaContext

if TYPE_CHECKING:
    from support.management import FakeManagementApi

Behaviour = Callable[[dict[str, Any]], dict[str, Any] | str | None]
"""What a client does with a ``message`` frame: the reply's fields (``processed``, ``response``,
``reason``), a raw frame to send instead, or None to stay silent."""


def echo(frame: dict[str, Any]) -> dict[str, Any]:
    """The default client function: answer with the data it was sent."""
    return {"processed": True, "response": frame["data"]}


def silent(_: dict[str, Any]) -> None:
    """A client that never answers."""


class Routes(Protocol):
    """Where a client's own traffic goes: its frames (``$default``) and its going away
    (``$disconnect``)."""

    def frame(self, connection_id: str, body: str) -> Any: ...

    def disconnect(self, connection_id: str) -> Any: ...


class RouteFunctions:
    """The WebSocket routes called directly, the fake Management API passed as their gateway."""

    def __init__(self, gateway: "FakeManagementApi") -> None:
        self.gateway = gateway
        self.kept = frames.Kept()  # as one execution environment of ``$default`` keeps it

    def frame(self, connection_id: str, body: str) -> dict[str, Any]:
        return frames.handle_frame(frame_event(connection_id, body), self.kept, gateway=self.gateway)

    def disconnect(self, connection_id: str) -> dict[str, Any]:
        return handshake.disconnect(websocket_events.WebSocketEvent.parse(disconnect_event(connection_id)))


class LambdaRoutes:
    """The WebSocket routes through their deployed Lambda handlers (``ws_default``, ``ws_disconnect``)."""

    def __init__(self, handlers: dict[str, Handler]) -> None:
        self.handlers = handlers

    def frame(self, connection_id: str, body: str) -> Any:
        context = LambdaContext(function_name="ws_default")
        return self.handlers["ws_default"](default_event(connection_id, body), context)

    def disconnect(self, connection_id: str) -> Any:
        context = LambdaContext(function_name="ws_disconnect")
        return self.handlers["ws_disconnect"](disconnect_event(connection_id), context)


class SimulatedClient:
    """One executor connected over the WebSocket API. Frames it sends go through ``gateway.routes``
    (the real ``$default`` route); frames pushed to it are recorded by the fake gateway, and each
    ``message`` frame is answered by ``behaviour`` on a thread of its own, ``delay_s`` seconds later
    (on the gateway's clock: virtual seconds under a virtual clock)."""

    def __init__(
        self, gateway: "FakeManagementApi", connection_id: str, session_id: str, behaviour: Behaviour = echo
    ) -> None:
        self.gateway = gateway
        self.connection_id = connection_id
        self.session_id = session_id
        self.behaviour = behaviour
        self.delay_s = 0.0

    @property
    def received(self) -> list[dict[str, Any]]:
        """Every frame posted to this client so far (parsed, in order)."""
        return self.gateway.frames_for(self.connection_id)

    def received_of_type(self, frame_type: str) -> list[dict[str, Any]]:
        return [frame for frame in self.received if frame.get("type") == frame_type]

    def send(self, body: str) -> Any:
        """Send one raw text frame on the ``$default`` route."""
        return self.gateway.routes.frame(self.connection_id, body)

    def send_frame(self, frame: dict[str, Any]) -> Any:
        return self.send(dump_json(frame))

    def reply(self, message_id: str, **fields: Any) -> Any:
        return self.send_frame({"action": "reply", "id": message_id, **fields})

    def hang_up(self) -> Any:
        """The client goes away: API Gateway forgets the connection and calls ``$disconnect``."""
        self.gateway.gone.add(self.connection_id)
        return self.gateway.routes.disconnect(self.connection_id)

    def on_message(self, frame: dict[str, Any]) -> None:
        if self.delay_s:
            self.gateway.clock.sleep(self.delay_s)
        answer = self.behaviour(frame)
        if answer is None:
            return
        self.send(
            answer if isinstance(answer, str) else dump_json({"action": "reply", "id": frame["id"], **answer})
        )
