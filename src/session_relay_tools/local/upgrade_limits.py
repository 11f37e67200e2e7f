"""What the WebSocket gateway refuses of a handshake before any route runs, answered at the HTTP layer.

- A URL longer than API Gateway's 4,096 characters ("Length, in characters, of the URL for a WebSocket
  API", not adjustable):
  https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-execution-service-websocket-limits-table.html
  AWS does not document the status; the gateway answers 414 URI Too Long (RFC 9110, section 15.5.15)
  with a ``{"message": ...}`` body, as its other refusals. The length counted is the request target
  (path and query string) as the client sent it.
- A handshake the gateway's own WebSocket parser (websockets) cannot read: a header line over its
  8,192 bytes, or more headers than its 128. Handed to the parser, such a request got no answer at
  all (the connection hung until the client gave up); it is answered 431 (Request Header Fields Too
  Large, RFC 6585) instead. This limit is the local gateway's, not one AWS documents.
"""

import json
import time
import uuid

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol
from websockets import http11

from session_relay_tools.local import logs

URL_LENGTH_LIMIT = 4096
URI_TOO_LONG = 414
HEADERS_TOO_LARGE = 431
_REASONS = {URI_TOO_LONG: b"URI Too Long", HEADERS_TOO_LARGE: b"Request Header Fields Too Large"}
_MESSAGES = {
    URI_TOO_LONG: f"the URL is longer than {URL_LENGTH_LIMIT} characters",
    HEADERS_TOO_LARGE: "a header is too large, or there are too many headers",
}


def refusal(target: bytes, headers: list[tuple[bytes, bytes]]) -> int | None:
    """The status a handshake with this request target and these headers is refused with, or None."""
    if len(target) > URL_LENGTH_LIMIT:
        return URI_TOO_LONG
    # The parser reads each header as one line, "name: value\r\n".
    if len(headers) > http11.MAX_NUM_HEADERS or any(
        len(name) + len(value) + 4 > http11.MAX_LINE_LENGTH for name, value in headers
    ):
        return HEADERS_TOO_LARGE
    return None


class UpgradeLimits(H11Protocol):
    """uvicorn's HTTP/1.1 protocol, refusing a handshake beyond the limits above before the upgrade."""

    def handle_websocket_upgrade(self, event: h11.Request) -> None:
        status = refusal(event.target, self.headers)
        if status is None:
            super().handle_websocket_upgrade(event)
            return
        started = time.monotonic()
        body = json.dumps({"message": _MESSAGES[status]}).encode()
        headers = [(b"content-type", b"application/json"), (b"connection", b"close")]
        for part in (
            h11.Response(status_code=status, headers=headers, reason=_REASONS[status]),
            h11.Data(data=body),
            h11.EndOfMessage(),
        ):
            self.transport.write(self.conn.send(part))
        self.transport.close()
        logs.request("websocket_api", str(uuid.uuid4()), status, started, route="$connect", connection_id="-")
