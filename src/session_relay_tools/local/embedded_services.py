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

from session_relay_tools.local import moto_json, moto_queries, moto_sqs, moto_updates

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


def _cache_method_names() -> None:
    """moto lists a response class's methods (``inspect.getmembers``) at every request to find the
    action's method: a tenth of a request's time. A class's methods do not change: list them once."""
    import functools

    from moto.core import responses

    if not hasattr(responses.method_names_from_class, "cache_info"):
        responses.method_names_from_class = functools.cache(responses.method_names_from_class)


class EmbeddedServices:
    """A WSGI app answering DynamoDB, DynamoDB Streams and SQS requests, one at a time."""

    def __init__(self) -> None:
        from moto.moto_server.werkzeug_app import create_backend_app

        moto_sqs.install()  # a receive costs what it returns, not what the queue holds
        _cache_method_names()
        moto_queries.install()
        moto_queries.track_writes()  # every request passes here: none is missed
        moto_json.install()  # an answer of plain data is serialized without moto's alias lookups
        moto_updates.install()  # an update expression is parsed once, not at every request
        # Each service's own app, without moto's per-request lookup of the service by host name
        # (which stats dozens of module folders per request and more than doubles the latency).
        self.apps = {name: create_backend_app(name) for name in SERVICES}
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        target = environ.get("HTTP_X_AMZ_TARGET")
        app = self.apps[service_for(target, environ.get("PATH_INFO", "/"))]
        with self.lock:
            moto_queries.note_request(operation(target))
            return [b"".join(app(environ, start_response))]


def operation(target: str | None) -> str:
    """The operation a JSON-protocol request names (``""`` for SQS's query protocol)."""
    return target.rsplit(".", 1)[-1] if target else ""
