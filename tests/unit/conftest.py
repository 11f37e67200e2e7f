"""Unit-test fixtures: DynamoDB in-process (moto) built from template.yaml, a fake Management API
whose simulated executor clients answer through the real WebSocket reply path, Lambda contexts,
and the sample events under ``events/``.

Nothing here opens a socket: moto intercepts botocore in-process, and REST calls go through the
real Lambda entry point (``functions/rest_api/app.py``, Mangum) as API Gateway proxy events.
"""

import base64
import json
import os
import secrets
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from session_relay import FRAME_LIMIT_BYTES, auth, aws, idempotency, settings, sockets, store
from session_relay import events as websocket_events
from session_relay.api import dependencies as api
from session_relay.auth import new_api_key
from session_relay.errors import ServiceUnavailable
from session_relay.store import ApiKeyRecord, ScriptRecord, Store, now_ms
from session_relay.wire import dump_json

from session_relay_tools.local import functions
from session_relay_tools.template import TABLE_ENVIRONMENT, create_tables, table_definitions

REPO_ROOT = Path(__file__).resolve().parents[2]
EVENTS_DIR = REPO_ROOT / "events"
FUNCTIONS_DIR = REPO_ROOT / "functions"
MANAGEMENT_API_URL = "https://w3bs0ck3t1.execute-api.us-east-1.amazonaws.com/prod"
REGION = "us-east-1"

# What a deployed function's code reads from its environment at import: its tables and the region.
FUNCTION_ENVIRONMENT = {
    "SESSIONS_TABLE": "t-sessions",
    "CONNECTIONS_TABLE": "t-connections",
    "AUTH_TABLE": "t-auth",
    "AWS_DEFAULT_REGION": REGION,
}


def run_fresh(code: str, *args: str, **environment: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter from the repository's root, started as a deployed function
    is: this process's environment without its ``AWS_``, ``POWERTOOLS_`` and ``LAMBDA_`` variables,
    plus ``FUNCTION_ENVIRONMENT`` and ``environment``."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("POWERTOOLS_", "AWS_", "LAMBDA_"))}
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        env={**inherited, **FUNCTION_ENVIRONMENT, **environment},
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO_ROOT,
        timeout=120,
    )


def entry_module(function: str) -> str:
    """The path of a function's Lambda entry module (``functions/<function>/app.py``)."""
    return str(FUNCTIONS_DIR / function / "app.py")


FAKE_AWS_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "POWERTOOLS_TRACE_DISABLED": "true",
}
# Settings read from the environment and left to their defaults unless a test sets them.
SETTINGS_ENVIRONMENT = (
    "DYNAMODB_ENDPOINT_URL",
    "INTEGRATION_TIMEOUT_MS",
    "API_KEY_CACHE_TTL_S",
    "MESSAGE_TTL_S",
    "POST_WORKERS",
)

CACHED_FACTORIES = (
    settings.get_settings,
    store.get_store,
    auth.get_authenticator,
    api.get_messenger,
    aws.dynamodb_client,
    aws.management_client,
    idempotency.persistence,
)


def clear_caches() -> None:
    for factory in CACHED_FACTORIES:
        factory.cache_clear()


# ------------------------------------------------------------------------------------------------
# Sample events
# ------------------------------------------------------------------------------------------------


def load_event(name: str, **values: Any) -> dict[str, Any]:
    """The event ``events/<name>.json`` with every ``{{placeholder}}`` replaced by ``values``."""
    text = (EVENTS_DIR / f"{name}.json").read_text()
    for placeholder, value in values.items():
        text = text.replace("{{" + placeholder + "}}", str(value))
    if "{{" in text:
        raise AssertionError(f"event {name} still has placeholders: give them as keyword arguments")
    return json.loads(text)


def frame_event(connection_id: str, body: str) -> websocket_events.WebSocketEvent:
    """A ``$default`` event carrying ``body`` as a client frame on ``connection_id``."""
    event = load_event("websocket/default_ping", connection_id=connection_id)
    event["body"] = body
    return websocket_events.WebSocketEvent.parse(event)


# ------------------------------------------------------------------------------------------------
# Lambda context
# ------------------------------------------------------------------------------------------------


def LambdaContext(
    remaining_ms: int = 75_000, function_name: str = "session-relay-RestApiFunction"
) -> functions.LambdaContext:
    """A Lambda context whose remaining time starts at ``remaining_ms`` and runs for real."""
    return functions.LambdaContext(function_name, remaining_ms / 1000)


# ------------------------------------------------------------------------------------------------
# Fake Management API and simulated executor clients
# ------------------------------------------------------------------------------------------------

Behaviour = Callable[[dict[str, Any]], dict[str, Any] | str | None]


def echo(frame: dict[str, Any]) -> dict[str, Any]:
    """The default client function: answer with the data it was sent."""
    return {"processed": True, "response": frame["data"]}


class SimulatedClient:
    """One executor connected over the WebSocket API. Frames it sends go through the real
    ``$default`` handler; frames pushed to it are recorded by the fake gateway."""

    def __init__(self, gateway: "FakeGateway", connection_id: str, session_id: str) -> None:
        self.gateway = gateway
        self.connection_id = connection_id
        self.session_id = session_id
        self.behaviour: Behaviour = echo
        self.delay_s = 0.0

    @property
    def received(self) -> list[dict[str, Any]]:
        return self.gateway.frames_for(self.connection_id)

    def received_of_type(self, frame_type: str) -> list[dict[str, Any]]:
        return [frame for frame in self.received if frame.get("type") == frame_type]

    def send(self, body: str) -> dict[str, Any]:
        """Send one raw text frame on the ``$default`` route."""
        return sockets.handle_frame(frame_event(self.connection_id, body), gateway=self.gateway)

    def send_frame(self, frame: dict[str, Any]) -> dict[str, Any]:
        return self.send(dump_json(frame))

    def reply(self, message_id: str, **fields: Any) -> dict[str, Any]:
        return self.send_frame({"action": "reply", "id": message_id, **fields})

    def hang_up(self) -> dict[str, Any]:
        """The client goes away: API Gateway forgets the connection and calls ``$disconnect``."""
        self.gateway.gone.add(self.connection_id)
        event = load_event("websocket/disconnect", connection_id=self.connection_id)
        return sockets.disconnect(websocket_events.WebSocketEvent.parse(event))

    def on_message(self, frame: dict[str, Any]) -> None:
        if self.delay_s:
            time.sleep(self.delay_s)
        answer = self.behaviour(frame)
        if answer is None:
            return
        self.send(
            answer if isinstance(answer, str) else dump_json({"action": "reply", "id": frame["id"], **answer})
        )


class FakeGateway:
    """Stands in for ``session_relay.gateway.Gateway`` (the ``@connections`` Management API).

    ``post`` records each frame as the client would receive it (JSON text, parsed back). A
    connection in ``gone`` answers False (HTTP 410); one in ``failing`` raises
    ``ServiceUnavailable``, as the real gateway does once its retries are spent. A registered
    simulated client answers ``message`` frames from a background thread, like a real executor.
    """

    def __init__(self) -> None:
        self.frames: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.closed: list[str] = []
        self.gone: set[str] = set()
        self.failing: set[str] = set()
        self.failing_close: set[str] = set()
        self.clients: dict[str, SimulatedClient] = {}
        self.oversized: list[int] = []
        self.urls: list[str] = []  # the stage URLs handlers asked a gateway for
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._errors: list[BaseException] = []

    def frames_for(self, connection_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.frames[connection_id])

    def post(self, connection_id: str, frame: dict[str, Any] | str) -> bool:
        if connection_id in self.failing:
            raise ServiceUnavailable("the WebSocket gateway is unavailable, try again")
        if connection_id in self.gone:
            return False
        text = frame if isinstance(frame, str) else dump_json(frame)
        if len(text.encode()) > FRAME_LIMIT_BYTES:
            self.oversized.append(len(text.encode()))  # API Gateway would refuse it
        received = json.loads(text)
        with self._lock:
            self.frames[connection_id].append(received)
        client = self.clients.get(connection_id)
        if client is not None and received.get("type") == "message":
            thread = threading.Thread(target=self._run, args=(client, received), daemon=True)
            with self._lock:
                self._threads.append(thread)
            thread.start()
        return True

    def close(self, connection_id: str) -> bool:
        if connection_id in self.failing_close:
            raise ServiceUnavailable("the WebSocket gateway is unavailable, try again")
        if connection_id in self.gone:
            return False
        self.closed.append(connection_id)
        self.gone.add(connection_id)
        return True

    def _run(self, client: SimulatedClient, frame: dict[str, Any]) -> None:
        try:
            client.on_message(frame)
        except BaseException as exc:  # surfaced by finish(), in the test's own thread
            self._errors.append(exc)

    def settle(self) -> None:
        """Wait until every simulated client has finished with the messages it received (a client
        may still send frames, an error frame may still be on its way, after the caller's answer)."""
        with self._lock:
            threads = [thread for thread in self._threads if thread is not threading.current_thread()]
        for thread in threads:
            thread.join(timeout=10)
            assert not thread.is_alive(), "a simulated client is still running"

    def finish(self) -> None:
        """Settle, then re-raise what failed in a simulated client's thread."""
        self.settle()
        if self._errors:
            raise self._errors[0]
        assert not self.oversized, f"frames over the {FRAME_LIMIT_BYTES}-byte limit were posted"


# ------------------------------------------------------------------------------------------------
# Owners (scripts and API keys)
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Owner:
    api_key: str
    key_id: str
    script_ids: tuple[str, ...]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}

    @property
    def script_id(self) -> str:
        return self.script_ids[0]


# ------------------------------------------------------------------------------------------------
# Fixtures
# ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def boto3_session() -> boto3.session.Session:
    # One session for the whole run: building clients from a fresh session reloads the service
    # models (about 0.1 s per test). The fake credentials stop any call from reaching AWS.
    return boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
    )


@dataclass(frozen=True)
class MotoTables:
    environment: dict[str, str]  # SESSIONS_TABLE ... -> table name, as the handlers read them
    client: Any  # a raw DynamoDB client on the same backend, kept for the package's life


@pytest.fixture(scope="package")
def moto_tables(boto3_session: boto3.session.Session) -> Iterator[MotoTables]:
    """moto's in-process DynamoDB for this package, with the tables template.yaml defines.

    Package scope: the mock never outlives the unit tests (other suites talk to real endpoints).
    """
    with pytest.MonkeyPatch.context() as patch:
        for name, value in FAKE_AWS_ENVIRONMENT.items():
            patch.setenv(name, value)
        patch.setattr(boto3, "DEFAULT_SESSION", boto3_session)
        with mock_aws(config={"core": {"reset_boto3_session": False}}):
            client = boto3_session.client("dynamodb")
            yield MotoTables(create_tables(client, prefix="unit-"), client)


def empty_tables(tables: MotoTables) -> None:
    """Delete every item, so each test starts from empty tables (cheaper than new tables)."""
    for logical_id, arguments in table_definitions().items():
        table = tables.environment[TABLE_ENVIRONMENT[logical_id]]
        key_names = [key["AttributeName"] for key in arguments["KeySchema"]]
        scan: dict[str, Any] = {"TableName": table, "ConsistentRead": True}
        while True:
            page = tables.client.scan(**scan)
            keys = [{name: item[name] for name in key_names} for item in page["Items"]]
            for start in range(0, len(keys), 25):
                tables.client.batch_write_item(
                    RequestItems={
                        table: [{"DeleteRequest": {"Key": key}} for key in keys[start : start + 25]]
                    }
                )
            if "LastEvaluatedKey" not in page:
                break
            scan["ExclusiveStartKey"] = page["LastEvaluatedKey"]


@pytest.fixture(autouse=True)
def aws(
    monkeypatch: pytest.MonkeyPatch, boto3_session: boto3.session.Session, moto_tables: MotoTables
) -> Iterator[dict[str, str]]:
    """Empty tables and the settings environment, fresh for every test; caches cleared."""
    for name, value in FAKE_AWS_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    for name in SETTINGS_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    for name, value in moto_tables.environment.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("MANAGEMENT_API_URL", MANAGEMENT_API_URL)
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", boto3_session)
    empty_tables(moto_tables)
    clear_caches()
    yield moto_tables.environment
    clear_caches()


@pytest.fixture
def relay_store(aws: dict[str, str]) -> Store:
    """The store the handlers use (the cached one, on moto)."""
    return store.get_store()


@pytest.fixture
def dynamodb(aws: dict[str, str], moto_tables: MotoTables) -> Any:
    """A raw DynamoDB client on the same moto backend, for looking under the store."""
    return moto_tables.client


@pytest.fixture
def gateway(aws: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGateway]:
    """The fake Management API, installed wherever the handlers build a gateway."""
    fake = FakeGateway()

    def gateway_for(url: str) -> FakeGateway:
        fake.urls.append(url)
        return fake

    monkeypatch.setattr(api, "gateway_for", gateway_for)
    monkeypatch.setattr(websocket_events, "gateway_for", gateway_for)
    yield fake
    fake.finish()


@pytest.fixture
def make_owner(relay_store: Store) -> Callable[..., Owner]:
    """Register scripts (enabled unless told otherwise) and issue an API key covering them."""

    def make(*script_ids: str, enabled: bool = True, revoked: bool = False) -> Owner:
        script_ids = script_ids or (f"script-{secrets.token_hex(4)}",)
        for script_id in script_ids:
            if relay_store.get_script(script_id) is None:
                relay_store.put_script(
                    ScriptRecord(script_id=script_id, name=script_id, enabled=enabled, created_at=now_ms())
                )
        api_key, key_hash, key_id = new_api_key()
        relay_store.put_api_key(
            ApiKeyRecord(
                key_id=key_id,
                key_hash=key_hash,
                script_ids=script_ids,
                name="unit test",
                created_at=now_ms(),
                revoked=revoked,
            )
        )
        return Owner(api_key=api_key, key_id=key_id, script_ids=script_ids)

    return make


@pytest.fixture
def owner(make_owner: Callable[..., Owner]) -> Owner:
    return make_owner("script-alpha")


def connect_event(connection_id: str, script_id: str, **query: str | None) -> dict[str, Any]:
    """The ``$connect`` sample event with query fields overridden (None removes one)."""
    event = load_event("websocket/connect", connection_id=connection_id, script_id=script_id)
    parameters = dict(event["queryStringParameters"])
    for name, value in query.items():
        if value is None:
            parameters.pop(name, None)
        else:
            parameters[name] = value
    event["queryStringParameters"] = parameters or None
    event["multiValueQueryStringParameters"] = {k: [v] for k, v in parameters.items()} or None
    return event


def new_connection_id() -> str:
    # API Gateway connection ids look like "L0SM9cOFvHcCIhw=".
    return secrets.token_urlsafe(10)[:14] + "="


@pytest.fixture
def connect(gateway: FakeGateway, relay_store: Store) -> Callable[..., SimulatedClient]:
    """Connect a simulated client through the real ``$connect`` handler; it echoes by default."""

    def open_session(script_id: str, **query: str) -> SimulatedClient:
        connection_id = new_connection_id()
        event = websocket_events.WebSocketEvent.parse(connect_event(connection_id, script_id, **query))
        answer = sockets.connect(event)
        assert answer["statusCode"] == 200, answer
        session_id = relay_store.session_id_for_connection(connection_id)
        assert session_id is not None
        simulated = SimulatedClient(gateway, connection_id, session_id)
        gateway.clients[connection_id] = simulated
        return simulated

    return open_session


@pytest.fixture
def lambda_context() -> functions.LambdaContext:
    return LambdaContext()


@dataclass
class RestResponse:
    """What API Gateway would hand back to the caller."""

    status_code: int
    text: str
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.text)


class RestCaller:
    """Calls the REST Lambda handler with API Gateway REST proxy events built from
    ``events/rest/get_session.json`` (Mangum in front of the FastAPI app, as deployed).

    Call it from the test's own thread: Mangum runs the app on that thread's event loop.
    """

    def __init__(self, handler: Callable[..., Any]) -> None:
        self.handler = handler

    def request(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
        json_body: Any = None,
        content: str | bytes | None = None,
        context: functions.LambdaContext | None = None,
    ) -> RestResponse:
        event = load_event("rest/get_session", api_key="unused", session_id="unused")
        event["httpMethod"] = event["requestContext"]["httpMethod"] = method
        event["path"] = path
        event["pathParameters"] = {"proxy": path.lstrip("/")}
        event["requestContext"]["path"] = f"/{event['requestContext']['stage']}{path}"
        sent = {k: v for k, v in event["headers"].items() if k not in ("Authorization", "Content-Type")}
        if json_body is not None:
            content = json.dumps(json_body)
        if content is not None:
            sent["Content-Type"] = "application/json"
        sent.update(headers or {})
        event["headers"] = sent
        event["multiValueHeaders"] = {k: [v] for k, v in sent.items()}
        event["queryStringParameters"] = params or None
        event["multiValueQueryStringParameters"] = {k: [v] for k, v in params.items()} if params else None
        if isinstance(content, bytes):
            event["body"], event["isBase64Encoded"] = base64.b64encode(content).decode(), True
        else:
            event["body"], event["isBase64Encoded"] = content, False
        return self.invoke(event, context)

    def invoke(self, event: dict[str, Any], context: functions.LambdaContext | None = None) -> RestResponse:
        answer = self.handler(event, context or LambdaContext())
        body = answer["body"]
        if answer.get("isBase64Encoded"):
            body = base64.b64decode(body).decode()
        return RestResponse(answer["statusCode"], body, dict(answer.get("headers") or {}))

    def get(self, path: str, **kwargs: Any) -> RestResponse:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any) -> RestResponse:
        return self.request("POST", path, json_body=json, **kwargs)


def import_function(name: str) -> Any:
    """``functions/<name>/app.py`` as a module."""
    return functions.load_module(FUNCTIONS_DIR / name / "app.py", f"function_{name}_app")


@pytest.fixture(scope="session")
def function_handlers() -> dict[str, Callable[..., Any]]:
    return {
        name: import_function(name).handler
        for name in ("rest_api", "ws_connect", "ws_default", "ws_disconnect")
    }


@pytest.fixture
def client(gateway: FakeGateway, function_handlers: dict[str, Callable[..., Any]]) -> RestCaller:
    """The REST API through its Lambda entry point."""
    return RestCaller(function_handlers["rest_api"])


@pytest.fixture
def failure() -> Callable[..., str]:
    """Check the contract's error shape and status; returns the error sentence."""

    def check(response: Any, status: int) -> str:
        assert response.status_code == status, response.text
        body = response.json()
        assert set(body) == {"success", "error"}, body
        assert body["success"] is False
        assert isinstance(body["error"], str)
        assert body["error"].strip()
        assert "Traceback" not in body["error"]
        return body["error"]

    return check


@pytest.fixture
def events() -> Callable[..., dict[str, Any]]:
    """``load_event`` as a fixture, for tests that read the sample events."""
    return load_event
