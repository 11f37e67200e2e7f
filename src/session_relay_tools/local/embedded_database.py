"""The embedded database: moto's DynamoDB, DynamoDB Streams and SQS served on a port for every client
(``aws --endpoint-url``, tests, other tools), and answered without an HTTP hop for the handlers' own
DynamoDB client. The local stack runs it in a child process and answers that client over a Unix socket
(``database_process``); tests and benchmarks may run it in their own process (``answer``).

Both paths reach the same moto backends through ``EmbeddedServices``' lock, so every request is atomic
(moto's backends are not thread-safe) whichever way it came. The handlers' client still serializes
its request and parses the answer exactly as over HTTP (botocore's ``before-send`` hook answers in
its place), so what the handlers see is the same wire protocol: only the socket is gone.
"""

import logging
import threading
from typing import Any

from session_relay_tools.local import moto_queries
from session_relay_tools.local.embedded_services import EmbeddedServices, operation
from session_relay_tools.local.metering import Meter


class InProcessDatabase:
    """``start()`` serves ``host:port`` from a thread; ``answer`` is the handlers' ``before-send``."""

    def __init__(self, host: str, port: int) -> None:
        from moto.core.botocore_stubber import MockRawResponse
        from moto.moto_server.werkzeug_app import MotoRequestHandler
        from werkzeug.serving import make_server

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self.host, self.port = host, port
        self.services = EmbeddedServices()
        self._raw = MockRawResponse
        self._dispatch = _dispatchers()
        self._server = make_server(
            host, port, self.services, threaded=True, request_handler=MotoRequestHandler
        )
        self._thread: threading.Thread | None = None
        self.meter: Meter | None = None  # set when the stack meters its calls (SESSION_RELAY_METER=1)

    def start(self) -> None:
        serve = self._server.serve_forever
        self._thread = threading.Thread(target=serve, name="embedded-database", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(10)
            self._thread = None
        self._server.server_close()

    def serve(self, client: Any) -> None:
        """Answer ``client``'s requests in this process (signed, as over HTTP)."""
        name = client.meta.service_model.service_id.hyphenize()
        client.meta.events.register(f"before-send.{name}", self.answer)

    def answer(self, request: Any, **_: Any) -> Any:
        """botocore ``before-send``: the AWS response to ``request``, computed by moto in this process."""
        from botocore.awsrequest import AWSResponse

        status, headers, body = self.respond(request)
        return AWSResponse(request.url, status, headers, self._raw(body))

    def respond(self, request: Any) -> tuple[int, Any, Any]:
        """moto's status, headers and body for a request botocore prepared (``AWSPreparedRequest``)."""
        from moto.core.exceptions import HTTPException
        from moto.core.request import normalize_request

        target = request.headers.get("X-Amz-Target")
        if isinstance(target, bytes):
            target = target.decode()
        dispatch = self._dispatch[_service(target, request.url)]
        normalized = normalize_request(request)

        def run() -> tuple[int, Any, Any]:
            try:
                return dispatch(normalized, normalized.raw_url, normalized.headers)
            except HTTPException as error:
                return error.code, error.get_headers(), error.get_body()

        name = operation(target)
        with self.services.lock:
            moto_queries.note_request(name)
            metered = self.meter
            return run() if metered is None else metered.measure(name, request.body, run)


def _service(target: str | None, url: str) -> str:
    from urllib.parse import urlsplit

    from session_relay_tools.local.embedded_services import service_for

    return service_for(target, urlsplit(url).path)


def _dispatchers() -> dict[str, Any]:
    from moto.dynamodb.responses import DynamoHandler
    from moto.dynamodbstreams.responses import DynamoDBStreamsHandler
    from moto.sqs.responses import SQSResponse

    return {
        "dynamodb": DynamoHandler.dispatch,
        "dynamodbstreams": DynamoDBStreamsHandler.dispatch,
        "sqs": SQSResponse.dispatch,
    }
