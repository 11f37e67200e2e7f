"""The ``@connections`` Management API of the WebSocket API, faked in-process, with the simulated
clients behind it.

One fake, two faces. Where a handler asks ``gateway_for`` for a gateway, ``install`` hands it this
fake, which stands in for ``session_relay.gateway.Gateway`` (``post``, ``close``). Registered at
botocore's ``before-send`` hook of the Management API client instead, it answers boto3's calls
(``PostToConnection``, ``DeleteConnection``), so the real ``Gateway`` and botocore's retries run.
"""

import json
import threading
from collections import Counter, defaultdict
from typing import Any
from urllib.parse import unquote

import pytest
from botocore.awsrequest import AWSResponse
from session_relay import FRAME_LIMIT_BYTES
from session_relay.errors import ServiceUnavailable
from session_relay.service import wiring
from session_relay.websocket import events as websocket_events
from session_relay.wire import dump_json

from support.clients import Behaviour, RouteFunctions, Routes, SimulatedClient, echo
from support.clock import RealTime, VirtualClock
from support.faults import aws_response


class FakeManagementApi:
    """Connections are open unless in ``gone`` (410 GoneException: ``post`` and ``close`` answer
    False). As a gateway, a connection in ``failing`` (``failing_close``) raises ``ServiceUnavailable``
    on ``post`` (``close``), as the real gateway does once its retries are spent; at the botocore hook,
    ``throttled`` more calls, and every call of an (operation, connection id) in ``refused``, answer
    429 LimitExceededException. ``calls`` counts every call by operation, as AWS would bill it.

    Each frame is recorded as the client would receive it (JSON text, parsed back); a ``message``
    frame to a simulated client is answered from a thread of its own, like a real executor.
    """

    def __init__(self, clock: RealTime | VirtualClock | None = None, routes: Routes | None = None) -> None:
        self.clock = clock or RealTime()
        self.routes: Routes = routes or RouteFunctions(self)
        self.frames: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.clients: dict[str, SimulatedClient] = {}
        self.closed: list[str] = []
        self.gone: set[str] = set()
        self.failing: set[str] = set()
        self.failing_close: set[str] = set()
        self.throttled: float = 0
        self.refused: set[tuple[str, str]] = set()
        self.calls: Counter[str] = Counter()
        self.oversized: list[int] = []
        self.urls: list[str] = []  # the stage URLs handlers asked a gateway for
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._errors: list[BaseException] = []

    def connect(self, connection_id: str, session_id: str, behaviour: Behaviour = echo) -> SimulatedClient:
        """A simulated client on ``connection_id`` (its session already stored)."""
        client = SimulatedClient(self, connection_id, session_id, behaviour)
        self.clients[connection_id] = client
        return client

    def frames_for(self, connection_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.frames[connection_id])

    # ---------------------------------------------------------------- as session_relay.gateway.Gateway

    def post(self, connection_id: str, frame: dict[str, Any] | str, deadline_ms: int | None = None) -> bool:
        with self._lock:
            self.calls["PostToConnection"] += 1
        if connection_id in self.failing:
            raise ServiceUnavailable("the WebSocket gateway is unavailable, try again")
        return self._deliver(connection_id, frame if isinstance(frame, str) else dump_json(frame))

    def close(self, connection_id: str) -> bool:
        with self._lock:
            self.calls["DeleteConnection"] += 1
        if connection_id in self.failing_close:
            raise ServiceUnavailable("the WebSocket gateway is unavailable, try again")
        return self._close(connection_id)

    # ---------------------------------------------------------------- at botocore's before-send hook

    def __call__(self, request: Any, event_name: str, **_: Any) -> AWSResponse:
        operation = event_name.rsplit(".", 1)[-1]
        connection_id = unquote(request.url.rsplit("/@connections/", 1)[1])
        with self._lock:
            self.calls[operation] += 1
            if self.throttled > 0 or (operation, connection_id) in self.refused:
                self.throttled = max(0, self.throttled - 1)
                return aws_response(
                    request, 429, {"message": "Rate exceeded"}, {"x-amzn-errortype": "LimitExceededException"}
                )
        if operation == "DeleteConnection":
            done = self._close(connection_id)
        else:
            body = request.body
            done = self._deliver(connection_id, body.decode() if isinstance(body, bytes) else body)
        if not done:
            return aws_response(request, 410, {"message": "gone"}, {"x-amzn-errortype": "GoneException"})
        return aws_response(request, 204 if operation == "DeleteConnection" else 200, None)

    # ---------------------------------------------------------------- what both faces do

    def _deliver(self, connection_id: str, text: str) -> bool:
        if connection_id in self.gone:
            return False
        if len(text.encode()) > FRAME_LIMIT_BYTES:
            self.oversized.append(len(text.encode()))  # API Gateway would refuse it
        received = json.loads(text)
        with self._lock:
            self.frames[connection_id].append(received)
        client = self.clients.get(connection_id)
        if client is not None and received.get("type") == "message":
            thread = threading.Thread(target=self._run, args=(client, received), daemon=True)
            with self._lock:
                self._threads.append(thread)
            self.clock.began()  # busy from now: no virtual time passes before the client runs
            thread.start()
        return True

    def _close(self, connection_id: str) -> bool:
        if connection_id in self.gone:
            return False
        self.closed.append(connection_id)
        self.gone.add(connection_id)
        return True

    def _run(self, client: SimulatedClient, frame: dict[str, Any]) -> None:
        with self.clock.working():
            try:
                client.on_message(frame)
            except BaseException as exc:  # surfaced by finish(), in the test's own thread
                self._errors.append(exc)

    # ---------------------------------------------------------------- after the call

    def settle(self) -> None:
        """Wait until every simulated client has finished with the messages it received (a client
        may still send frames, an error frame may still be on its way, after the caller's answer).
        Under a virtual clock, time moves on to each parked client's wake-up first."""
        self.clock.run_until_idle()
        with self._lock:
            threads = [thread for thread in self._threads if thread is not threading.current_thread()]
        for thread in threads:
            thread.join(timeout=15)
            assert not thread.is_alive(), "a simulated client is still running"

    def finish(self) -> None:
        """Settle, then re-raise what failed in a simulated client's thread."""
        self.settle()
        if self._errors:
            raise self._errors[0]
        assert not self.oversized, f"frames over the {FRAME_LIMIT_BYTES}-byte limit were posted"


def install(monkeypatch: pytest.MonkeyPatch, fake: FakeManagementApi) -> FakeManagementApi:
    """Hand ``fake`` to every handler that builds a gateway (``gateway_for``), as the REST services
    (``wiring``) and the WebSocket routes (``websocket.events``) do."""

    def gateway_for(url: str) -> FakeManagementApi:
        fake.urls.append(url)
        return fake

    monkeypatch.setattr(wiring, "gateway_for", gateway_for)
    monkeypatch.setattr(websocket_events, "gateway_for", gateway_for)
    return fake
