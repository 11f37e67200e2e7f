"""The local WebSocket API's handshake answers before a connection exists: the account's admission of
new connections, and a refused ``$connect``.

- API Gateway admits 500 new connections a second per account and Region, across all WebSocket APIs
  ("Quotas for configuring and running a WebSocket in API Gateway"):
  https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-execution-service-websocket-limits-table.html
  The local stack admits ``limits.connect_rate`` a second (``SESSION_RELAY_CONNECT_RATE``); a handshake
  beyond it is refused ``429`` before any function runs, so no session is created. API Gateway answers
  a throttled request "429 Too Many Requests" ("Throttle requests to your REST APIs", and the THROTTLED
  gateway response with its default ``{"message": ...}`` body):
  https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html
  https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html
- A ``$connect`` answer outside 2xx refuses the handshake with that status and the answer's body; a
  ``$connect`` that Lambda throttled is API Gateway's ``{"message": "Internal server error"}``:
  https://docs.aws.amazon.com/lambda/latest/dg/services-apigateway-errors.html
"""

import json
from typing import Any

from session_relay_tools.local.limits import TokenBucket
from session_relay_tools.local.rest_gateway import INTERNAL_ERROR, TOO_MANY_REQUESTS, Send

# The answer the gateway stands in for a $connect that Lambda refused (throttled, event too large).
THROTTLED: dict[str, Any] = {"statusCode": 500}


def admitted(connect_rate: TokenBucket) -> bool:
    """One new connection's share of the account's connection rate; False: refuse it with 429."""
    return connect_rate.take()


async def refuse_beyond_rate(send: Send) -> None:
    """The handshake's answer beyond the account's connection rate (nothing was invoked)."""
    await _respond(send, 429, json.dumps({"message": TOO_MANY_REQUESTS}).encode(), b"application/json")


async def refuse(send: Send, answer: Any, status: int) -> None:
    """The handshake's answer when ``$connect`` did not succeed."""
    body = (answer.get("body") or "").encode() if isinstance(answer, dict) else b""
    if answer is THROTTLED:
        body = json.dumps({"message": INTERNAL_ERROR}).encode()
    await _respond(send, status, body, b"text/plain; charset=utf-8")


async def _respond(send: Send, status: int, body: bytes, content_type: bytes) -> None:
    headers = [(b"content-type", content_type)]
    await send({"type": "websocket.http.response.start", "status": status, "headers": headers})
    await send({"type": "websocket.http.response.body", "body": body})
