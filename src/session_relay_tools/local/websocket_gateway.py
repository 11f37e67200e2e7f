"""A local stand-in for API Gateway WebSocket, and its ``@connections`` Management API.

On one port, as in AWS where both live on the API's domain:
- WebSocket upgrades: each connect, frame and close becomes the API Gateway WebSocket event the
  deployed handlers get, routed on ``$request.body.action`` to the template's routes. A ``$connect``
  answer outside 2xx refuses the handshake with that status. A route on a MOCK integration (ping)
  is answered by the gateway with the template's integration response, invoking nothing.
- HTTP ``POST|GET|DELETE /[{stage}/]@connections/{id}``: what boto3's ``apigatewaymanagementapi``
  client calls; a connection that is not open answers 410 ``GoneException``, like AWS.
Limits follow API Gateway: 32 KB client frames (larger ones close the connection with 1009),
128 KB posted frames, 10 minutes idle, 2 hours per connection. Every route's function draws on the
stack's one pool of concurrent executions; a throttled ``$connect`` refuses the handshake with 500,
a throttled frame gets API Gateway's ``{"message": "Internal server error", ...}`` frame back, and a
throttled ``$disconnect`` is lost (logged): API Gateway never retries a Lambda invocation, and
``$disconnect`` is best-effort:
https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-route-keys-connect-disconnect.html
https://docs.aws.amazon.com/lambda/latest/dg/services-apigateway-errors.html

The connection exists once ``$connect`` succeeded (the upgrade is pending until then, same page); a
client that left meanwhile is a connection closed at once, and gets its ``$disconnect`` like any other.
Client frames (every route but ``$connect``/``$disconnect``, the MOCK ping included) draw on the stage's
one throttle (``limits.stage_throttle``); a frame beyond it runs nothing and the client is sent
``{"message": "Too Many Requests", "connectionId": ..., "requestId": ...}`` (API Gateway answers a
throttled request "429 Too Many Requests"; on a WebSocket that answer is a frame, in the shape of the
gateway's other error frames), the connection staying open:
https://docs.aws.amazon.com/apigateway/latest/developerguide/websocket-api-protect.html

A handshake beyond the account's rate of new connections is refused 429 before anything runs, and every
Management API call draws on the account's request bucket (``admission``, ``management``).

Every route invocation ($connect, $disconnect, each frame's route, a MOCK ping or a throttled frame
included) prints one line (``logs.request``): route, connection id, status, milliseconds, request id.
"""

import asyncio
import base64
import json
import logging
import secrets
import time
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from session_relay_tools.local import admission, limits, logs
from session_relay_tools.local.admission import THROTTLED
from session_relay_tools.local.calls import CallCounter
from session_relay_tools.local.connection import Connection, new_connection_id
from session_relay_tools.local.functions import FunctionHost
from session_relay_tools.local.limits import RequestTooLarge, Throttled, TokenBucket
from session_relay_tools.local.management import STAGE, management_api
from session_relay_tools.local.rest_gateway import INTERNAL_ERROR, TOO_MANY_REQUESTS, Receive, Send
from session_relay_tools.template import load_template, websocket_mock_routes

IDLE_TIMEOUT_S = 10 * 60
MAX_CONNECTION_S = 2 * 60 * 60
CLOSE_GOING_AWAY = 1001
# The close code a connection gets when it ended without a close frame (RFC 6455 section 7.1.5).
CLOSE_ABNORMAL = 1006

_log = logging.getLogger(__name__)


class WebSocketGateway:
    """ASGI app for the WebSocket API and its Management API."""

    def __init__(
        self,
        host: FunctionHost,
        domain_name: str,
        calls: CallCounter | None = None,
        throttle: TokenBucket | None = None,
        connect_rate: TokenBucket | None = None,
        requests: TokenBucket | None = None,
    ) -> None:
        self.host = host
        self.calls = calls
        self.domain_name = domain_name
        self.connections: dict[str, Connection] = {}
        self.routes = host.websocket_routes
        # Routes on a MOCK integration (the ping route) are answered here, read from the template,
        # as API Gateway answers them: no function runs.
        self.mock_routes = websocket_mock_routes()
        # The stage's throttle, over every client frame of every connection (module docstring).
        self.throttle = throttle if throttle is not None else limits.stage_throttle(load_template())
        # The account's rates: new connections (admission), and requests, which the Management API's
        # calls draw on together with the REST API's (the stack hands both gateways one bucket).
        self.connect_rate = connect_rate if connect_rate is not None else limits.connect_rate()
        self.requests = requests if requests is not None else limits.request_rate()
        self._tasks: set[asyncio.Task[Any]] = set()

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
        elif scope["type"] == "http":
            await self._management(scope, receive, send)

    # ------------------------------------------------------------ events

    def _context(self, connection: Connection, route_key: str, event_type: str) -> dict[str, Any]:
        now = time.time()
        return {
            "routeKey": route_key,
            "eventType": event_type,
            "messageDirection": "IN",
            "extendedRequestId": str(uuid.uuid4()),
            "requestTime": datetime.fromtimestamp(now, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "stage": STAGE,
            "connectedAt": int(connection.connected_at * 1000),
            "requestTimeEpoch": int(now * 1000),
            "identity": {"sourceIp": connection.source_ip, "userAgent": connection.user_agent},
            "requestId": str(uuid.uuid4()),
            "domainName": self.domain_name,
            "connectionId": connection.connection_id,
            "apiId": "local",
        }

    def _route_for(self, body: str) -> str:
        try:
            # Strict JSON, as API Gateway evaluates $request.body.action: a body with NaN is not
            # JSON, so it goes to $default (and is refused there) rather than to a custom route.
            action = json.loads(body, parse_constant=_not_json).get("action")
        except (ValueError, AttributeError, RecursionError):  # any body at all still reaches $default
            action = None
        # Like API Gateway, a frame selects only a custom route: "$connect" and "$disconnect" are
        # the gateway's own events, never something a client's frame can invoke.
        selectable = (
            isinstance(action, str)
            and not action.startswith("$")
            and (action in self.routes or action in self.mock_routes)
        )
        return action if selectable else "$default"

    async def _invoke(self, route_key: str, event: dict[str, Any]) -> Any:
        """The route's answer, after its request line (module docstring)."""
        started = time.monotonic()
        answer = await self._answer(route_key, event)
        context = event["requestContext"]
        _request_line(route_key, context["connectionId"], _status(answer), started, context["requestId"])
        return answer

    async def _answer(self, route_key: str, event: dict[str, Any]) -> Any:
        function = self.routes.get(route_key)
        if function is None:
            return {"statusCode": 200}
        try:
            return await self.host.invoke(function, event)
        except (Throttled, RequestTooLarge) as exc:
            _log.warning("%s not invoked: Lambda refused it (%s)", route_key, type(exc).__name__)
            return THROTTLED
        except Exception:
            # The function logged its failure (with the request id); the gateway saw a 500.
            return {"statusCode": 500}

    # ------------------------------------------------------------ WebSocket API

    async def _websocket(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if (await receive())["type"] != "websocket.connect":
            return
        if not admission.admitted(self.connect_rate):  # beyond the account's rate: nothing runs
            await admission.refuse_beyond_rate(send)
            _request_line("$connect", "-", 429, time.monotonic(), str(uuid.uuid4()))
            return
        headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}
        connection = Connection(
            connection_id=new_connection_id(),
            send=send,
            source_ip=(scope.get("client") or ("127.0.0.1", 0))[0],
            user_agent=headers.get("user-agent"),
        )
        query = dict(parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True))
        event = {
            "headers": headers,
            "multiValueHeaders": {name: [value] for name, value in headers.items()},
            "queryStringParameters": query or None,
            "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} or None,
            "requestContext": self._context(connection, "$connect", "CONNECT"),
            "isBase64Encoded": False,
        }
        answer = await self._invoke("$connect", event)
        status = _status(answer)
        if not 200 <= status < 300:
            await admission.refuse(send, answer, status)
            return
        # $connect succeeded: the connection exists from now on, even if its client already left (then
        # it is closed at once), and whatever way it ends, its close is reported to $disconnect.
        self.connections[connection.connection_id] = connection
        close_code = CLOSE_ABNORMAL
        try:
            try:
                await send({"type": "websocket.accept"})
            except OSError:  # uvicorn's ClientDisconnected: the client left while $connect ran
                pass
            else:
                close_code = await self._serve(connection, receive)
        finally:
            connection.open = False
            self.connections.pop(connection.connection_id, None)
            await connection.frames_done()
            await self._invoke("$disconnect", self._disconnect_event(connection, headers, close_code))

    async def _serve(self, connection: Connection, receive: Receive) -> int:
        """Route the client's frames until it closes; returns the close code."""
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                return message.get("code", 1005)
            connection.last_active = time.time()
            if not connection.open:  # a frame read after the server closed the connection is not routed
                continue
            if self.throttle.take():
                connection.track(self._spawn(self._frame(connection, message)))
            else:
                request_id = str(uuid.uuid4())
                route_key = self._route_key(message)
                _request_line(route_key, connection.connection_id, 429, time.monotonic(), request_id)
                self._spawn(self._gateway_error(connection, TOO_MANY_REQUESTS, request_id))

    def _disconnect_event(
        self, connection: Connection, headers: dict[str, str], close_code: int
    ) -> dict[str, Any]:
        return {
            "headers": headers,
            "multiValueHeaders": {name: [value] for name, value in headers.items()},
            "requestContext": {
                **self._context(connection, "$disconnect", "DISCONNECT"),
                "disconnectStatusCode": close_code,
                "disconnectReason": "Client closed the connection",
            },
            "isBase64Encoded": False,
        }

    def _route_key(self, message: dict[str, Any]) -> str:
        text = message.get("text")
        return "$default" if text is None else self._route_for(text)

    async def _frame(self, connection: Connection, message: dict[str, Any]) -> None:
        if message.get("text") is not None:
            body, encoded = message["text"], False
        else:
            body, encoded = base64.b64encode(message.get("bytes") or b"").decode(), True
        route_key = self._route_key(message)
        if route_key in self.mock_routes:
            started, answer = time.monotonic(), self.mock_routes[route_key]
            try:
                if answer is not None:
                    await connection.send_text(answer)
            finally:  # the gateway answered it: a request all the same
                _request_line(route_key, connection.connection_id, 200, started, str(uuid.uuid4()))
            return
        context = self._context(connection, route_key, "MESSAGE")
        context["messageId"] = secrets.token_urlsafe(10)
        event = {"requestContext": context, "body": body, "isBase64Encoded": encoded}
        if await self._invoke(route_key, event) is THROTTLED:
            # What API Gateway sends the client when a route's integration fails.
            await self._gateway_error(connection, INTERNAL_ERROR, context["requestId"])

    async def _gateway_error(
        self, connection: Connection, message: str, request_id: str | None = None
    ) -> None:
        """An error frame API Gateway itself sends the client; the connection stays open."""
        error = {"message": message, "connectionId": connection.connection_id}
        await connection.send_text(json.dumps({**error, "requestId": request_id or str(uuid.uuid4())}))

    def _spawn(self, coroutine: Any) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def enforce_limits(self) -> None:
        """Close connections idle for 10 minutes or open for 2 hours, as API Gateway does."""
        while True:
            await asyncio.sleep(5)
            now = time.time()
            for connection in list(self.connections.values()):
                idle = now - connection.last_active > IDLE_TIMEOUT_S
                if idle or now - connection.connected_at > MAX_CONNECTION_S:
                    await connection.close(CLOSE_GOING_AWAY)

    async def close_all(self) -> None:
        for connection in list(self.connections.values()):
            await connection.close(CLOSE_GOING_AWAY)

    async def _management(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        await management_api(self, scope, receive, send)


def _status(answer: Any) -> int:
    """The status API Gateway takes from a route's answer (an answer that is no object: 500)."""
    return answer.get("statusCode", 200) if isinstance(answer, dict) else 500


def _request_line(route_key: str, connection_id: str, status: int, started: float, request_id: str) -> None:
    logs.request("websocket_api", request_id, status, started, route=route_key, connection_id=connection_id)


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")
