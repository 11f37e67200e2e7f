"""A local stand-in for API Gateway REST: HTTP requests become REST proxy events (payload 1.0).

What API Gateway answers itself, as it does:
- a body over 10 MB: 413 (REQUEST_TOO_LARGE)
  https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-execution-service-limits-table.html
  https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html
- no answer within the integration timeout, counted from the request's arrival (a cold start, the
  body's upload and the wait for an execution all count): 504 ``Endpoint request timed out``
  (INTEGRATION_TIMEOUT, same page);
- Lambda refusing the invocation (throttled, event over 6 MB): 500; the invocation failing (the
  handler raised, a response over 6 MB or not in the proxy format): 502; both with
  ``{"message": "Internal server error"}``
  https://docs.aws.amazon.com/lambda/latest/dg/services-apigateway-errors.html
- beyond the account's request rate (10,000 a second, a burst of 5,000, one bucket for every API of
  the account, posts to connections included: ``limits.request_rate``, which the Management API's
  calls draw on too): 429 ``{"message": "Too Many Requests"}`` (the THROTTLED gateway response, same
  page as the 413; "Amazon API Gateway quotas" for the rate:
  https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html), with
  ``x-amzn-ErrorType: TooManyRequestsException`` (AWS's pages do not name the header's value; captured
  answers of throttled REST APIs carry this one); nothing is invoked.

The event's ``path``, ``pathParameters`` and ``requestContext.path`` carry the request path as the
client sent it, still percent-encoded, as a REST API's proxy event does (the fields:
https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html#api-gateway-simple-proxy-for-lambda-input-format
AWS's page does not say how they are encoded; a live capture of a REST API's event shows
``"path": "/capture/space%20value"``: https://gh.yyyyyyy.vvvv.ee/hotsock/voker/blob/main/vokerhttp/testdata/apigwv1-request.json).
The function's ASGI adapter (Mangum) decodes it, once: ``GET /no%2541`` is the route ``/no%41``.
Query parameters, by contrast, arrive decoded (same capture).

Every answer, the gateway's own refusals included, prints one line (``logs.request``): method, path,
status, milliseconds, and the event's ``requestContext.requestId``.
"""

import asyncio
import base64
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl, quote

from session_relay_tools.local import STAGE, logs
from session_relay_tools.local.functions import FunctionHost
from session_relay_tools.local.limits import RequestTooLarge, Throttled, TokenBucket, request_rate

# API Gateway's own limits: a 10 MB payload, and the integration timeout set in the template.
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024
INTERNAL_ERROR = "Internal server error"
TOO_MANY_REQUESTS = "Too Many Requests"

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


def _text_headers(scope: dict[str, Any]) -> list[tuple[str, str]]:
    return [(name.decode("latin-1"), value.decode("latin-1")) for name, value in scope["headers"]]


def _raw_path(scope: dict[str, Any]) -> str:
    """The request path as sent, percent-encoding kept (module docstring). The ASGI ``path`` is already
    decoded: handing that on would have the function decode it a second time ("%2541" -> "A")."""
    raw = scope.get("raw_path")
    if raw is None:  # a server that leaves raw_path out: encode the decoded path back
        return quote(scope["path"], safe="/:@!$&'()*+,;=~") or "/"
    return raw.decode("latin-1") or "/"


def rest_event(scope: dict[str, Any], body: bytes) -> dict[str, Any]:
    """The API Gateway REST proxy event for one HTTP request."""
    headers: dict[str, str] = {}
    multi_headers: dict[str, list[str]] = {}
    for name, value in _text_headers(scope):
        headers[name] = value
        multi_headers.setdefault(name, []).append(value)
    query: dict[str, str] = {}
    multi_query: dict[str, list[str]] = {}
    for name, value in parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True):
        query[name] = value
        multi_query.setdefault(name, []).append(value)
    path = _raw_path(scope)
    client_ip = (scope.get("client") or ("127.0.0.1", 0))[0]
    try:
        text, encoded = body.decode(), False
    except UnicodeDecodeError:
        text, encoded = base64.b64encode(body).decode(), True
    return {
        "resource": "/{proxy+}" if path != "/" else "/",
        "path": path,
        "httpMethod": scope["method"],
        "headers": headers or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": {"proxy": path.lstrip("/")} if path != "/" else None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/{proxy+}",
            "httpMethod": scope["method"],
            "path": f"/{STAGE}{path}",
            "stage": STAGE,
            "requestId": str(uuid.uuid4()),
            "requestTimeEpoch": int(time.time() * 1000),
            "identity": {"sourceIp": client_ip, "userAgent": headers.get("user-agent")},
            "accountId": "000000000000",
            "apiId": "local",
            "resourceId": "local",
            "protocol": scope.get("http_version", "1.1"),
            "domainName": headers.get("host", "127.0.0.1"),
        },
        "body": text or None,
        "isBase64Encoded": encoded,
    }


class _TooLarge(Exception):
    pass


async def _read_body(receive: Receive) -> bytes | None:
    """The whole request body; None if the client left; ``_TooLarge`` past API Gateway's limit."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_PAYLOAD_BYTES:
            raise _TooLarge
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


async def _respond(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _gateway_error(
    status: int, message: str, error_type: str = "GatewayError"
) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
    # API Gateway's own errors (not the function's) have this shape.
    body = json.dumps({"message": message}).encode()
    return status, body, [(b"content-type", b"application/json"), (b"x-amzn-errortype", error_type.encode())]


def throttled_answer() -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
    """API Gateway's answer to a request beyond the account's rate (module docstring)."""
    return _gateway_error(429, TOO_MANY_REQUESTS, "TooManyRequestsException")


class RestGateway:
    """ASGI app: every request goes through the template's REST function, as a proxy event."""

    def __init__(
        self, host: FunctionHost, integration_timeout_s: float, requests: TokenBucket | None = None
    ) -> None:
        self.host = host
        self.integration_timeout_s = integration_timeout_s
        # The account's request bucket, shared with the Management API (the stack hands both the same).
        self.requests = requests if requests is not None else request_rate()

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        arrived = time.monotonic()
        answered = await self._answer(scope, receive, arrived)
        if answered is None:  # the client left before its request was whole: no answer
            return
        (status, body, headers), request_id = answered
        try:
            await _respond(send, status, body, headers)
        finally:  # one line per answer (module logs), sent or not
            path = _raw_path(scope)
            logs.request("rest_api", request_id, status, arrived, method=scope["method"], path=path)

    async def _answer(
        self, scope: dict[str, Any], receive: Receive, arrived: float
    ) -> tuple[tuple[int, bytes, list[tuple[bytes, bytes]]], str] | None:
        """The answer to the request and its request id (a new one when API Gateway refuses the
        request before building an event); None if the client left."""
        try:
            body = await _read_body(receive)
        except _TooLarge:
            return _gateway_error(413, "Request Too Long"), str(uuid.uuid4())
        if body is None:
            return None
        if not self.requests.take():
            return throttled_answer(), str(uuid.uuid4())
        event = rest_event(scope, body)
        request_id = event["requestContext"]["requestId"]
        invocation = self.host.invoke(self.host.rest_function, event)
        remaining_s = self.integration_timeout_s - (time.monotonic() - arrived)
        try:
            result = await asyncio.wait_for(invocation, max(0.0, remaining_s))
        except TimeoutError:
            return _gateway_error(504, "Endpoint request timed out"), request_id
        except (Throttled, RequestTooLarge):
            return _gateway_error(500, INTERNAL_ERROR), request_id
        except Exception:
            return _gateway_error(502, INTERNAL_ERROR), request_id
        return _proxy_response(result), request_id


def _proxy_response(result: Any) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
    if not isinstance(result, dict) or not isinstance(result.get("statusCode"), int):
        return _gateway_error(502, INTERNAL_ERROR)
    headers: list[tuple[bytes, bytes]] = []
    multi = result.get("multiValueHeaders") or {}
    for name, values in multi.items():
        headers.extend((name.lower().encode(), str(value).encode()) for value in values)
    for name, value in (result.get("headers") or {}).items():
        if name not in multi:
            headers.append((name.lower().encode(), str(value).encode()))
    body = result.get("body") or ""
    payload = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()
    headers = [(n, v) for n, v in headers if n != b"content-length"]
    headers.append((b"content-length", str(len(payload)).encode()))
    return result["statusCode"], payload, headers
