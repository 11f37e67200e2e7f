"""The handlers' DynamoDB client on the local stack: put in through ``session_relay.aws``'s seam, the
product's configuration with a longer read timeout, and (embedded server) a few requests at a time."""

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from session_relay import aws, settings

from session_relay_tools.local.dynamodb import (
    EMBEDDED_DYNAMODB_IN_FLIGHT,
    LOCAL_DYNAMODB_READ_TIMEOUT_S,
    patient_dynamodb_client,
    use_patient_dynamodb_client,
)


@pytest.fixture(autouse=True)
def environment(monkeypatch):
    for name, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "SESSIONS_TABLE": "sessions",
        "CONNECTIONS_TABLE": "connections",
        "AUTH_TABLE": "auth",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("DYNAMODB_ENDPOINT_URL", raising=False)
    settings.get_settings.cache_clear()
    yield
    aws.use_dynamodb_client(None)
    settings.get_settings.cache_clear()


class _SlowDynamoDB(BaseHTTPRequestHandler):
    """Answers every request as an empty ListTables after a short wait, counting requests in flight."""

    lock = threading.Lock()
    in_flight = 0
    most = 0

    def do_POST(self):
        cls = type(self)
        with cls.lock:
            cls.in_flight += 1
            cls.most = max(cls.most, cls.in_flight)
        self.rfile.read(int(self.headers["Content-Length"]))
        time.sleep(0.05)
        with cls.lock:
            cls.in_flight -= 1
        body = json.dumps({"TableNames": []}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def slow_dynamodb():
    handler = type("Handler", (_SlowDynamoDB,), {"in_flight": 0, "most": 0, "lock": threading.Lock()})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", handler
    server.shutdown()
    server.server_close()


def _most_in_flight(client, handler, calls: int = 3 * EMBEDDED_DYNAMODB_IN_FLIGHT) -> int:
    with ThreadPoolExecutor(calls) as pool:
        answers = list(pool.map(lambda _: client.list_tables(), range(calls)))
    assert all(answer["TableNames"] == [] for answer in answers)
    return handler.most


def test_the_layer_uses_an_injected_client_until_the_default_is_restored():
    injected = object()
    aws.use_dynamodb_client(lambda: injected)
    assert aws.dynamodb_client() is injected
    aws.dynamodb_client.cache_clear()  # what tests do between cases: the factory stays
    assert aws.dynamodb_client() is injected
    aws.use_dynamodb_client(None)
    config = aws.dynamodb_client().meta.config
    assert (config.connect_timeout, config.read_timeout, config.max_pool_connections) == (2, 5, 64)
    assert config.retries == {"mode": "standard", "total_max_attempts": 7}  # 6 retries


def test_the_local_client_keeps_the_product_configuration_with_a_longer_read_timeout(slow_dynamodb):
    url, _ = slow_dynamodb
    config = patient_dynamodb_client(url, embedded=True).meta.config
    product = aws.default_dynamodb_client().meta.config
    assert config.read_timeout == LOCAL_DYNAMODB_READ_TIMEOUT_S > product.read_timeout
    assert config.connect_timeout == product.connect_timeout
    assert config.max_pool_connections == product.max_pool_connections
    assert config.retries == product.retries


def test_requests_to_the_embedded_server_queue_a_few_at_a_time(slow_dynamodb):
    url, handler = slow_dynamodb
    client = use_patient_dynamodb_client(url, embedded=True)
    assert aws.dynamodb_client() is client
    assert _most_in_flight(client, handler) == EMBEDDED_DYNAMODB_IN_FLIGHT


def test_requests_to_an_external_dynamodb_do_not_queue(slow_dynamodb):
    url, handler = slow_dynamodb
    client = patient_dynamodb_client(url, embedded=False)
    assert _most_in_flight(client, handler) > EMBEDDED_DYNAMODB_IN_FLIGHT
