"""moto's DynamoDB, DynamoDB Streams and SQS behind one WSGI app, one request at a time.

The three share moto's in-memory backends (a table's stream records are what the Streams API reads),
and one port: a request is routed by the operation it names (``X-Amz-Target``), as the AWS endpoints
of the three services would receive it; SQS's query protocol (a form with ``Action=``, or a queue URL
path) goes to SQS.

moto's backends are not safe under concurrent requests (a transaction deep-copies tables that other
threads are changing), so every request holds one lock from parsing to its last byte: each is atomic,
as DynamoDB's own requests are.
"""

import threading
from collections.abc import Callable, Iterable
from typing import Any

SERVICES = ("dynamodb", "dynamodbstreams", "sqs")
# The JSON protocols' target prefixes (botocore's service models: ``targetPrefix``).
_TARGET_PREFIXES = {
    "DynamoDB_20120810": "dynamodb",
    "DynamoDBStreams_20120810": "dynamodbstreams",
    "AmazonSQS": "sqs",
}


def service_for(target: str | None, path: str) -> str:
    """Which service a request is for, from its ``X-Amz-Target`` header and its path."""
    if target:
        prefix = target.split(".", 1)[0]
        if prefix in _TARGET_PREFIXES:
            return _TARGET_PREFIXES[prefix]
    if path not in ("", "/") or not target:
        return "sqs"  # SQS's query protocol: a form POST to the endpoint or to a queue URL
    return "dynamodb"


class EmbeddedServices:
    """A WSGI app answering DynamoDB, DynamoDB Streams and SQS requests, one at a time."""

    def __init__(self) -> None:
        from moto.moto_server.werkzeug_app import create_backend_app

        from session_relay_tools.local import moto_sqs

        moto_sqs.install()  # a receive costs what it returns, not what the queue holds
        # Each service's own app, without moto's per-request lookup of the service by host name
        # (which stats dozens of module folders per request and more than doubles the latency).
        self.apps = {name: create_backend_app(name) for name in SERVICES}
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        app = self.apps[service_for(environ.get("HTTP_X_AMZ_TARGET"), environ.get("PATH_INFO", "/"))]
        with self.lock:
            return [b"".join(app(environ, start_response))]
