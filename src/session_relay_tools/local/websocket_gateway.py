"""A local stand-in for API Gateway WebSocket, and its ``@connections`` Management API.

On one port, as in AWS where both live on the API's domain:
- WebSocket upgrades: each connect, frame and close becomes the API Gateway WebSocket event the
  deployed handlers get, routed on ``$request.body.action`` to the template's routes. A ``$connect``
  answer outside 2xx refuses the handshake with that status.
- HTTP ``POST|GET|DELETE /[{stage}/]@connections/{id}``: what boto3's ``apigatewaymanagementapi``
  client calls; a connection that is not open answers 410 ``GoneException``, like AWS.
Limits follow API Gateway: 32 KB client frames (larger ones close the connection with 1009),
128 KB posted frames, 10 minutes idle, 2 hours per connection.
"""

import asyncio
import base64
import contextlib
import json
import logging
import secrets
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, unquote

from session_relay_tools.local.calls import CallCounter
from session_relay_tools.local.functions import FunctionHost
from session_relay_tools.local.rest_gateway import Receive, Send

STAGE = "local"
MAX_POST_BYTES = 128 * 1024
IDLE_TIMEOUT_S = 10 * 60
MAX_CONNECTION_S = 2 * 60 * 60
CLOSE_GOING_AWAY = 1001
CONCURRENCY = 32

_log = logging.getLogger(__name__)


def new_connection_id() -> str:
    # API Gateway ids are short, opaque and URL-unfriendly ("L0SM9cOFvHcCIhw="); ours end in "=" too.
    return secrets.token_urlsafe(10) + "="


@dataclass
class Connection:
    connection_id: str
    send: Send
    source_ip: str
    user_agent: str | None
    connected_at: float = field(default_factory=time.time)
    last_active: float = field(default_factory=time.time)
    open: bool = True
    closed_by_server: bool = False  # DeleteConnection: frames not yet dispatched are not routed
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def send_text(self, text: str) -> bool:
        async with self.lock:
            if not self.open:
                return False
            try:
                await self.send({"type": "websocket.send", "text": text})
            except Exception:
                self.open = False
                return False
            return True

    async def close(self, code: int = 1000) -> None:
        async with self.lock:
            if self.open:
                self.open = False
                with contextlib.suppress(Exception):  # already closed by the peer
                    await self.send({"type": "websocket.close", "code": code})


class WebSocketGateway:
    """ASGI app for the WebSocket API and its Management API."""

    def __init__(self, host: FunctionHost, domain_name: str, calls: CallCounter | None = None) -> None:
        self.host = host
        self.calls = calls
        self.domain_name = domain_name
        self.connections: dict[str, Connection] = {}
        self.routes = host.websocket_routes
        self._tasks: set[asyncio.Task[Any]] = set()
        # Like a Lambda concurrency limit: invocations beyond it wait their turn instead of piling
        # hundreds of requests onto the embedded DynamoDB, which serves one at a time.
        self._slots = asyncio.Semaphore(CONCURRENCY)

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
            action = json.loads(body).get("action")
        except (ValueError, AttributeError, RecursionError):  # any body at all still reaches $default
            action = None
        # Like API Gateway, a frame selects only a custom route: "$connect" and "$disconnect" are
        # the gateway's own events, never something a client's frame can invoke.
        selectable = isinstance(action, str) and not action.startswith("$") and action in self.routes
        return action if selectable else "$default"

    async def _invoke(
        self, route_key: str, event: dict[str, Any], connection: Connection | None = None
    ) -> Any:
        function = self.routes.get(route_key)
        if function is None:
            return {"statusCode": 200}
        try:
            async with self._slots:
                if connection is not None and connection.closed_by_server:
                    return {"statusCode": 410}  # not dispatched before DeleteConnection: not routed
                return await self.host.invoke(function, event)
        except Exception:
            # Lambda would log the failed invocation; a silent 500 here hid lost $disconnects.
            _log.exception("%s invocation failed", route_key)
            return {"statusCode": 500}

    # ------------------------------------------------------------ WebSocket API

    async def _websocket(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if (await receive())["type"] != "websocket.connect":
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
        status = answer.get("statusCode", 200) if isinstance(answer, dict) else 500
        if not 200 <= status < 300:
            body = (answer.get("body") or "").encode() if isinstance(answer, dict) else b""
            await send(
                {
                    "type": "websocket.http.response.start",
                    "status": status,
                    "headers": [(b"content-type", b"text/plain; charset=utf-8")],
                }
            )
            await send({"type": "websocket.http.response.body", "body": body})
            return
        self.connections[connection.connection_id] = connection
        await send({"type": "websocket.accept"})
        close_code, reason = 1005, "Client closed the connection"
        try:
            while True:
                message = await receive()
                if message["type"] == "websocket.disconnect":
                    close_code = message.get("code", 1005)
                    break
                connection.last_active = time.time()
                self._spawn(self._frame(connection, message))
        finally:
            connection.open = False
            self.connections.pop(connection.connection_id, None)
            event = {
                "headers": headers,
                "multiValueHeaders": {name: [value] for name, value in headers.items()},
                "requestContext": {
                    **self._context(connection, "$disconnect", "DISCONNECT"),
                    "disconnectStatusCode": close_code,
                    "disconnectReason": reason,
                },
                "isBase64Encoded": False,
            }
            await self._invoke("$disconnect", event)

    async def _frame(self, connection: Connection, message: dict[str, Any]) -> None:
        if message.get("text") is not None:
            body, encoded = message["text"], False
        else:
            body, encoded = base64.b64encode(message.get("bytes") or b"").decode(), True
        route_key = "$default" if encoded else self._route_for(body)
        context = self._context(connection, route_key, "MESSAGE")
        context["messageId"] = secrets.token_urlsafe(10)
        event = {"requestContext": context, "body": body, "isBase64Encoded": encoded}
        await self._invoke(route_key, event, connection)

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

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

    # ------------------------------------------------------------ Management API

    async def _management(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        body = b""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        parts = [unquote(part) for part in scope["path"].strip("/").split("/")]
        if parts and parts[0] == STAGE:
            parts = parts[1:]
        if parts == ["@local", "calls"] and self.calls is not None:
            if scope["method"] == "DELETE":
                self.calls.reset()
            await _json(send, 200, self.calls.snapshot())
            return
        if len(parts) != 2 or parts[0] != "@connections":
            await _aws_error(send, 404, "NotFoundException", "No route")
            return
        connection = self.connections.get(parts[1])
        if connection is None or not connection.open:
            await _aws_error(send, 410, "GoneException", f"Connection {parts[1]} is gone")
            return
        method = scope["method"]
        if method == "POST":
            if len(body) > MAX_POST_BYTES:
                await _aws_error(send, 413, "PayloadTooLargeException", "Payload too large")
                return
            try:
                text = body.decode()
            except UnicodeDecodeError:
                await _aws_error(send, 400, "BadRequestException", "Only UTF-8 text frames are sent")
                return
            if not await connection.send_text(text):
                await _aws_error(send, 410, "GoneException", f"Connection {parts[1]} is gone")
                return
            await _json(send, 200, {})
        elif method == "GET":
            await _json(
                send,
                200,
                {
                    "ConnectedAt": _iso(connection.connected_at),
                    "LastActiveAt": _iso(connection.last_active),
                    "Identity": {"SourceIp": connection.source_ip, "UserAgent": connection.user_agent},
                },
            )
        elif method == "DELETE":
            connection.closed_by_server = True
            await connection.close()
            await _json(send, 204, None)
        else:
            await _aws_error(send, 405, "MethodNotAllowedException", f"{method} is not allowed")


def _iso(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).isoformat().replace("+00:00", "Z")


async def _json(send: Send, status: int, document: Any) -> None:
    body = b"" if document is None else json.dumps(document).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _aws_error(send: Send, status: int, code: str, message: str) -> None:
    body = json.dumps({"message": message}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"x-amzn-errortype", code.encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
