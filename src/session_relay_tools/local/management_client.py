"""The handlers' Management API client, answered inside the local stack's own process.

The handlers reach the ``@connections`` API through boto3's ``apigatewaymanagementapi`` client. In the
stack's process that API is the WebSocket gateway's own ``management_api``, so the client's requests
are handed to it directly (botocore's ``before-send`` hook answers in place of the HTTP request, as
for the embedded database): the request is still serialized, and its answer parsed, exactly as over
HTTP, and the request rate, the 410/413/429 answers and the call counter are the same code. Only the
socket, the second HTTP parse and the signature are gone (a post cost a wave of handshakes about a
fifth of its time; the local Management API reads no header, so it checks no signature, over HTTP
either). Any other client (tests, ``aws``, another process) still uses the HTTP endpoint.
"""

import asyncio
import concurrent.futures
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from session_relay_tools.local.management import management_api

if TYPE_CHECKING:
    from session_relay_tools.local.websocket_gateway import WebSocketGateway


class InProcessManagement:
    """botocore ``before-send`` handler: the Management API's answer to a request, from ``gateway``."""

    def __init__(
        self, gateway: "WebSocketGateway", loop: asyncio.AbstractEventLoop, timeout_s: float
    ) -> None:
        self.gateway = gateway
        self.loop = loop
        self.timeout_s = timeout_s

    def __call__(self, request: Any, **_: Any) -> Any:
        from botocore.awsrequest import AWSResponse
        from botocore.exceptions import ReadTimeoutError
        from moto.core.botocore_stubber import MockRawResponse

        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        elif not isinstance(body, bytes):
            body = body.read()
        url = urlsplit(request.url)
        future = asyncio.run_coroutine_threadsafe(self._call(request.method, url.path, body), self.loop)
        try:
            status, headers, payload = future.result(self.timeout_s)
        except concurrent.futures.TimeoutError as error:
            future.cancel()
            raise ReadTimeoutError(endpoint_url=request.url) from error
        return AWSResponse(request.url, status, headers, MockRawResponse(payload))

    async def _call(self, method: str, path: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        scope = {"type": "http", "method": method, "path": path, "raw_path": path.encode("latin-1")}
        received = False
        answer: dict[str, Any] = {"status": 500, "headers": {}, "body": b""}

        async def receive() -> dict[str, Any]:
            nonlocal received
            if received:
                return {"type": "http.disconnect"}
            received = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
                answer["headers"] = {name.decode(): value.decode() for name, value in message["headers"]}
            else:
                answer["body"] += message.get("body", b"")

        await management_api(self.gateway, scope, receive, send)
        return answer["status"], answer["headers"], answer["body"]


def use_in_process_management(gateway: "WebSocketGateway", loop: asyncio.AbstractEventLoop) -> None:
    """Make the handlers' Management API clients (through ``session_relay.aws``) answer in-process."""
    import botocore
    from session_relay import aws

    def factory(endpoint_url: str) -> Any:
        client = aws.default_management_client(endpoint_url)
        answer = InProcessManagement(gateway, loop, client.meta.config.read_timeout)
        client.meta.events.register("choose-signer.apigatewaymanagementapi", lambda **_: botocore.UNSIGNED)
        client.meta.events.register("before-send.apigatewaymanagementapi", answer)
        return client

    aws.use_management_client(factory)
