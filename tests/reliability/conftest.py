"""Fixtures for the reliability suite: a second owner on the local stack, raw WebSocket clients,
direct reads of the stack's tables, and an in-process relay whose AWS calls can be made to fail.

The in-process relay (``relay``) runs the real Lambda entry points, the real store and the real
Management API gateway, on the local stack's embedded DynamoDB (moto's server, in a child process).
Faults are injected at botocore's ``before-send`` hook, in place of the HTTP call (so a refused write
is never applied), and botocore's own retries (standard mode, see session_relay.aws) and the store's
and gateway's retries all run exactly as in production. The Management API is faked at the
same hook: posts reach simulated executors, which reply through the real ``$default`` handler.
"""

import base64
import io
import json
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.retries import standard
from session_relay import api, auth, aws, settings, store
from session_relay.auth import new_api_key
from session_relay.store import ApiKeyRecord, ScriptRecord, now_ms

from session_relay_tools import admin
from session_relay_tools.local import functions
from session_relay_tools.local.dynamodb import EmbeddedDynamoDB
from session_relay_tools.local.process import RunningStack, free_port
from session_relay_tools.simulate import raw_identity
from session_relay_tools.template import create_tables

REPO_ROOT = Path(__file__).resolve().parents[2]
MANAGEMENT_API_URL = "https://r3l1ab1e.execute-api.us-east-1.amazonaws.com/prod"
REGION = "us-east-1"

# ------------------------------------------------------------------------------------------------
# The local stack: a second owner, raw sockets, table scans
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OwnerKey:
    script_id: str
    api_key: str


@pytest.fixture(scope="session")
def second_owner(local_stack: RunningStack) -> OwnerKey:
    """Another script and an API key for it alone, made the way an operator does (admin commands)."""
    target = admin.Target(endpoint=local_stack.dynamodb_endpoint, region=REGION)
    relay_store = admin.open_store(target)
    script = admin.create_script(relay_store, "second owner's game")
    issued = admin.create_key(relay_store, [script.script_id], name="second owner")
    return OwnerKey(script_id=script.script_id, api_key=issued.api_key)


def scan_table(stack: RunningStack, logical_id: str) -> list[dict[str, Any]]:
    return stack.scan(logical_id)


# ------------------------------------------------------------------------------------------------
# Faults injected under botocore
# ------------------------------------------------------------------------------------------------


class _Raw(io.BytesIO):
    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.getvalue()


def aws_response(request: Any, status: int, body: Any, headers: dict[str, str] | None = None) -> AWSResponse:
    payload = b"" if body is None else json.dumps(body).encode()
    return AWSResponse(
        request.url, status, {"Content-Type": "application/json", **(headers or {})}, _Raw(payload)
    )


DYNAMODB_ERRORS = {
    "ProvisionedThroughputExceededException": 400,
    "ThrottlingException": 400,
    "RequestLimitExceeded": 400,
    "InternalServerError": 500,
}


@dataclass
class Rule:
    operation: str
    code: str
    remaining: float
    when: Callable[[Any], bool] | None = None


class DynamoDBFaults:
    """Makes chosen DynamoDB operations fail with AWS error codes, before moto sees them."""

    def __init__(self) -> None:
        self.rules: list[Rule] = []
        self.calls: Counter[str] = Counter()
        self.injected: Counter[str] = Counter()
        self._lock = threading.Lock()

    def fail(
        self,
        operation: str,
        code: str = "ProvisionedThroughputExceededException",
        times: float = float("inf"),
        when: Callable[[Any], bool] | None = None,
    ) -> Rule:
        """Fail the next ``times`` calls of ``operation`` (every call by default) with ``code``."""
        rule = Rule(operation, code, times, when)
        self.rules.append(rule)
        return rule

    def heal(self) -> None:
        self.rules.clear()

    def __call__(self, request: Any, event_name: str, **_: Any) -> AWSResponse | None:
        operation = event_name.rsplit(".", 1)[-1]
        with self._lock:
            self.calls[operation] += 1
            for rule in self.rules:
                if (
                    rule.operation == operation
                    and rule.remaining > 0
                    and (rule.when is None or rule.when(request))
                ):
                    rule.remaining -= 1
                    self.injected[operation] += 1
                    body = {
                        "__type": f"com.amazonaws.dynamodb.v20120810#{rule.code}",
                        "message": "injected fault",
                    }
                    return aws_response(request, DYNAMODB_ERRORS[rule.code], body)
        return None


# ------------------------------------------------------------------------------------------------
# A fake Management API, answered at the same hook, and executors behind it
# ------------------------------------------------------------------------------------------------

Behaviour = Callable[[dict[str, Any]], dict[str, Any] | None]


def echo(frame: dict[str, Any]) -> dict[str, Any]:
    return {"processed": True, "response": frame["data"]}


def silent(_: dict[str, Any]) -> None:
    return None


@dataclass
class Executor:
    """One simulated executor: frames pushed to it are kept; messages are answered by ``behaviour``
    through the real ``$default`` handler, from a thread of their own."""

    relay: "Relay"
    connection_id: str
    session_id: str
    behaviour: Behaviour = echo
    delay_s: float = 0.0
    received: list[dict[str, Any]] = field(default_factory=list)

    def frames(self, frame_type: str) -> list[dict[str, Any]]:
        return [frame for frame in list(self.received) if frame.get("type") == frame_type]

    def send(self, body: str) -> Any:
        return self.relay.invoke_frame(self.connection_id, body)

    def reply(self, message_id: str, **fields: Any) -> Any:
        return self.send(json.dumps({"action": "reply", "id": message_id, **fields}))

    def answer(self, frame: dict[str, Any]) -> None:
        if self.delay_s:
            time.sleep(self.delay_s)
        reply = self.behaviour(frame)
        if reply is not None:
            self.reply(frame["id"], **reply)


class FakeManagementApi:
    """The ``@connections`` API answered in-process: 200 to open connections, 410 to gone ones,
    ``LimitExceededException`` (429) while throttled. Counts every call, as AWS would bill it."""

    def __init__(self) -> None:
        self.executors: dict[str, Executor] = {}
        self.gone: set[str] = set()
        self.throttled: float = 0  # how many more calls to throttle
        # (operation, connection id) pairs that stay throttled, e.g. ("DeleteConnection", "abc=")
        self.refused: set[tuple[str, str]] = set()
        self.calls: Counter[str] = Counter()
        self.closed: list[str] = []
        self.threads: list[threading.Thread] = []
        self.errors: list[BaseException] = []
        self._lock = threading.Lock()

    def __call__(self, request: Any, event_name: str, **_: Any) -> AWSResponse:
        operation = event_name.rsplit(".", 1)[-1]
        connection_id = unquote(request.url.rsplit("/@connections/", 1)[1])
        with self._lock:
            self.calls[operation] += 1
            if self.throttled > 0 or (operation, connection_id) in self.refused:
                self.throttled = max(0, self.throttled - 1)
                return aws_response(
                    request, 429, {"message": "Rate exceeded"}, {"x-amzn-errortype": "LimitExceededException"}
                )
            executor = self.executors.get(connection_id)
            if executor is None or connection_id in self.gone:
                return aws_response(request, 410, {"message": "gone"}, {"x-amzn-errortype": "GoneException"})
            if operation == "DeleteConnection":
                self.gone.add(connection_id)
                self.closed.append(connection_id)
                return aws_response(request, 204, None)
            frame = json.loads(request.body)
            executor.received.append(frame)
            if frame.get("type") == "message":
                thread = threading.Thread(target=self._run, args=(executor, frame), daemon=True)
                self.threads.append(thread)
                thread.start()
        return aws_response(request, 200, None)

    def _run(self, executor: Executor, frame: dict[str, Any]) -> None:
        try:
            executor.answer(frame)
        except BaseException as exc:  # surfaced in the test's thread by settle()
            self.errors.append(exc)

    def settle(self) -> None:
        for thread in list(self.threads):
            thread.join(15)
            assert not thread.is_alive(), "a simulated executor is still answering"
        if self.errors:
            raise self.errors[0]


# ------------------------------------------------------------------------------------------------
# The in-process relay
# ------------------------------------------------------------------------------------------------


def LambdaContext(
    remaining_ms: int = 75_000, function_name: str = "session-relay-RestApiFunction"
) -> functions.LambdaContext:
    """A Lambda context whose remaining time starts at ``remaining_ms`` and runs for real."""
    return functions.LambdaContext(function_name, remaining_ms / 1000)


@dataclass
class Answer:
    status_code: int
    text: str
    headers: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.text)


def _load_function(name: str) -> Any:
    path = REPO_ROOT / "functions" / name / "app.py"
    return functions.load_module(path, f"reliability_{name}_app").handler


@pytest.fixture(scope="session")
def handlers() -> dict[str, Callable[..., Any]]:
    return {name: _load_function(name) for name in ("rest_api", "ws_connect", "ws_default", "ws_disconnect")}


CACHED_FACTORIES = (
    settings.get_settings,
    store.get_store,
    auth.get_authenticator,
    api.get_messenger,
    aws.dynamodb_client,
    aws.management_client,
)


class Relay:
    """The deployed handlers in-process on moto, with ``faults`` under DynamoDB and ``management``
    standing in for API Gateway's Management API."""

    def __init__(self, handlers: dict[str, Callable[..., Any]], dynamodb: Any) -> None:
        self.handlers = handlers
        self.dynamodb = dynamodb  # a raw client on the same moto backend, without faults
        self.store = store.get_store()
        self.faults = DynamoDBFaults()
        self.management = FakeManagementApi()
        self.store.client.meta.events.register_first("before-send.dynamodb", self.faults)
        self.management_client = aws.management_client(MANAGEMENT_API_URL)
        self.management_client.meta.events.register_first(
            "before-send.apigatewaymanagementapi", self.management
        )
        script_id = "script-" + secrets.token_hex(4)
        self.store.put_script(
            ScriptRecord(script_id=script_id, name="faults", enabled=True, created_at=now_ms())
        )
        api_key, key_hash, key_id = new_api_key()
        self.store.put_api_key(
            ApiKeyRecord(key_id, key_hash, (script_id,), "faults", now_ms(), revoked=False)
        )
        self.script_id = script_id
        self.api_key = api_key

    # ---------------------------------------------------------------- WebSocket side

    def _ws_event(self, connection_id: str, route: str, **extra: Any) -> dict[str, Any]:
        return {
            "requestContext": {
                "routeKey": route,
                "connectionId": connection_id,
                "domainName": "r3l1ab1e.execute-api.us-east-1.amazonaws.com",
                "stage": "prod",
                "requestId": secrets.token_hex(8),
                "eventType": {"$connect": "CONNECT", "$disconnect": "DISCONNECT"}.get(route, "MESSAGE"),
            },
            "isBase64Encoded": False,
            **extra,
        }

    def connect(self, behaviour: Behaviour = echo, **query: Any) -> Executor:
        connection_id = secrets.token_urlsafe(10)[:14] + "="
        identity = {k: str(v) for k, v in {**raw_identity(self.script_id), **query}.items()}
        event = self._ws_event(connection_id, "$connect", queryStringParameters=identity)
        answer = self.handlers["ws_connect"](event, LambdaContext(function_name="ws_connect"))
        assert answer["statusCode"] == 200, answer
        session_id = self.store.session_id_for_connection(connection_id)
        assert session_id is not None
        executor = Executor(self, connection_id, session_id, behaviour)
        self.management.executors[connection_id] = executor
        return executor

    def hang_up(self, executor: Executor) -> None:
        """The client leaves: the gateway forgets the connection and runs ``$disconnect``."""
        self.management.gone.add(executor.connection_id)
        event = self._ws_event(executor.connection_id, "$disconnect")
        self.handlers["ws_disconnect"](event, LambdaContext(function_name="ws_disconnect"))

    def invoke_frame(self, connection_id: str, body: str) -> Any:
        event = self._ws_event(connection_id, "$default", body=body)
        return self.handlers["ws_default"](event, LambdaContext(function_name="ws_default"))

    # ---------------------------------------------------------------- REST side

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        context: functions.LambdaContext | None = None,
        api_key: str | None = None,
    ) -> Answer:
        headers = {"Authorization": f"Bearer {api_key or self.api_key}", "Content-Type": "application/json"}
        event = {
            "resource": "/{proxy+}",
            "path": path,
            "httpMethod": method,
            "headers": headers,
            "multiValueHeaders": {k: [v] for k, v in headers.items()},
            "queryStringParameters": None,
            "multiValueQueryStringParameters": None,
            "pathParameters": {"proxy": path.lstrip("/")},
            "stageVariables": None,
            "requestContext": {
                "resourcePath": "/{proxy+}",
                "httpMethod": method,
                "path": f"/prod{path}",
                "stage": "prod",
                "requestId": secrets.token_hex(8),
                "identity": {"sourceIp": "127.0.0.1"},
                "accountId": "123456789012",
                "apiId": "r3l1ab1e",
                "requestTimeEpoch": int(time.time() * 1000),
            },
            "body": None if body is None else json.dumps(body),
            "isBase64Encoded": False,
        }
        answer = self.handlers["rest_api"](event, context or LambdaContext())
        text = answer["body"]
        if answer.get("isBase64Encoded"):
            text = base64.b64decode(text).decode()
        headers = {name.lower(): value for name, value in (answer.get("headers") or {}).items()}
        return Answer(answer["statusCode"], text, headers)

    def message(
        self,
        session_id: str,
        key: str = "echo",
        data: Any = None,
        context: functions.LambdaContext | None = None,
        **extra: Any,
    ) -> Answer:
        body = {"key": key, **({} if data is None else {"data": data}), **extra}
        return self.request("POST", f"/sessions/{session_id}/message", body, context)

    def message_many(
        self,
        session_ids: list[str],
        key: str = "echo",
        data: Any = None,
        context: functions.LambdaContext | None = None,
        **extra: Any,
    ) -> Answer:
        body = {"session_ids": session_ids, "key": key, **({} if data is None else {"data": data}), **extra}
        return self.request("POST", "/sessions/message", body, context)

    # ---------------------------------------------------------------- looking under the store

    def items(self, logical_table: str) -> list[dict[str, Any]]:
        table = {"sessions": self.store.sessions_table, "connections": self.store.connections_table}[
            logical_table
        ]
        items: list[dict[str, Any]] = []
        request: dict[str, Any] = {"TableName": table, "ConsistentRead": True}
        while True:
            page = self.dynamodb.scan(**request)
            items.extend(page["Items"])
            if "LastEvaluatedKey" not in page:
                return items
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def pending_messages(self) -> list[dict[str, Any]]:
        return [item for item in self.items("connections") if item.get("status", {}).get("S") == "pending"]

    def leftovers(self) -> list[dict[str, Any]]:
        """The connections table less idle lease items (an API key's item holding no lease, which
        DynamoDB's TTL deletes): every message, connection item and lease still held."""
        return [
            item
            for item in self.items("connections")
            if not (item["connection_id"]["S"].startswith("inflight#") and item.get("held") == {"N": "0"})
        ]

    def messages(self) -> list[dict[str, Any]]:
        return [item for item in self.items("connections") if item["item"]["S"].startswith("message#")]


@dataclass
class BackoffLog:
    """Delays botocore's standard retry mode computed (seconds), kept instead of slept."""

    delays: list[float] = field(default_factory=list)


@pytest.fixture
def backoff(monkeypatch: pytest.MonkeyPatch) -> BackoffLog:
    """Record botocore's exponential backoff delays and sleep only a millisecond of each.

    The jitter is fixed at its maximum so the delays themselves show the exponential growth.
    """
    log = BackoffLog()
    original = standard.ExponentialBackoff.delay_amount

    def delay_amount(self: Any, context: Any) -> float:
        self._random = lambda: 1.0
        delay = original(self, context)
        log.delays.append(delay)
        return delay / 1000

    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", delay_amount)
    return log


@pytest.fixture(scope="session")
def embedded_dynamodb() -> Iterator[str]:
    """The local stack's embedded DynamoDB (moto's server, one request at a time) for in-process
    tests: injected faults answer in place of the HTTP call, so a refused write is never applied."""
    database = EmbeddedDynamoDB("127.0.0.1", free_port())
    database.start()
    yield f"http://127.0.0.1:{database.port}"
    database.stop()


@pytest.fixture(scope="session")
def boto3_session() -> boto3.session.Session:
    # One session for the run: a fresh one per client reloads the service models (~0.1 s each).
    return boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
    )


@pytest.fixture
def relay(
    monkeypatch: pytest.MonkeyPatch,
    handlers: dict[str, Callable[..., Any]],
    backoff: BackoffLog,
    embedded_dynamodb: str,
    boto3_session: boto3.session.Session,
) -> Iterator[Relay]:
    """The in-process relay on fresh tables; every cache cleared before and after."""
    environment = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "MANAGEMENT_API_URL": MANAGEMENT_API_URL,
        "DYNAMODB_ENDPOINT_URL": embedded_dynamodb,
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_SESSION_TOKEN", "INTEGRATION_TIMEOUT_MS", "API_KEY_CACHE_TTL_S", "MESSAGE_TTL_S"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", boto3_session)
    raw = boto3_session.client("dynamodb", endpoint_url=embedded_dynamodb)
    for name, value in create_tables(raw, prefix=f"rel{secrets.token_hex(4)}-").items():
        monkeypatch.setenv(name, value)
    for factory in CACHED_FACTORIES:
        factory.cache_clear()
    try:
        relay = Relay(handlers, raw)
        yield relay
        relay.management.settle()
    finally:
        for factory in CACHED_FACTORIES:
            factory.cache_clear()
