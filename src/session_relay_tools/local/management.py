"""The local WebSocket API's ``@connections`` Management API (HTTP on the WebSocket API's port):
``POST|GET|DELETE /[{stage}/]@connections/{id}``, answered as API Gateway answers boto3's
``apigatewaymanagementapi`` client; ``GET|DELETE /@local/calls`` serves the call counter.

Every ``@connections`` call draws on the account's request bucket, which it shares with the REST API
(10,000 a second with a burst of 5,000, across every API of the account, "WebSocket callback APIs"
included: https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html). Beyond it the
call is answered as the Management API answers a throttled client: 429 ``LimitExceededException``
(the service's model: ``"error": {"httpStatusCode": 429}``; boto3 raises
``client.exceptions.LimitExceededException``, "The client is sending more than the allowed number of
requests per unit of time":
https://docs.aws.amazon.com/botocore/latest/reference/services/apigatewaymanagementapi/client/exceptions/LimitExceededException.html),
the error code in ``x-amzn-ErrorType`` as for the service's other errors, whatever the connection.
"""

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from session_relay_tools.local import STAGE
from session_relay_tools.local.rest_gateway import TOO_MANY_REQUESTS, Receive, Send

if TYPE_CHECKING:
    from session_relay_tools.local.connection import Connection
    from session_relay_tools.local.websocket_gateway import WebSocketGateway

MAX_POST_BYTES = 128 * 1024


async def management_api(
    gateway: "WebSocketGateway", scope: dict[str, Any], receive: Receive, send: Send
) -> None:
    body = b""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    parts = _path_segments(scope)
    if parts and parts[0] == STAGE:
        parts = parts[1:]
    if parts == ["@local", "calls"] and gateway.calls is not None:
        if scope["method"] == "DELETE":
            gateway.calls.reset()
        await _json(send, 200, gateway.calls.snapshot())
        return
    if len(parts) != 2 or parts[0] != "@connections":
        await _aws_error(send, 404, "NotFoundException", "No route")
        return
    if not gateway.requests.take():  # before the connection is looked up: a gone one is throttled too
        await _aws_error(send, 429, "LimitExceededException", TOO_MANY_REQUESTS)
        return
    connection = gateway.connections.get(parts[1])
    if connection is None or not connection.open:
        await _aws_error(send, 410, "GoneException", f"Connection {parts[1]} is gone")
        return
    await _connection_call(connection, scope["method"], body, send)


async def _connection_call(connection: "Connection", method: str, body: bytes, send: Send) -> None:
    """``POST|GET|DELETE @connections/{id}`` on a connection that is open."""
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
            await _aws_error(send, 410, "GoneException", f"Connection {connection.connection_id} is gone")
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
        await connection.close()
        await _json(send, 204, None)
    else:
        await _aws_error(send, 405, "MethodNotAllowedException", f"{method} is not allowed")


def _path_segments(scope: dict[str, Any]) -> list[str]:
    """The request path's segments, each percent-decoded exactly once (a ``%2F`` in a connection id
    stays inside its segment); the ASGI ``path`` is already decoded, so it is only the fallback."""
    raw = scope.get("raw_path")
    if raw is None:
        return scope["path"].strip("/").split("/")
    return [unquote(part) for part in raw.decode("latin-1").strip("/").split("/")]


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
