"""Unit-test fixtures over the shared in-process harness (``tests/support``): DynamoDB in-process
(moto) built from template.yaml, the fake Management API whose simulated executor clients answer
through the real WebSocket reply path, Lambda contexts, a virtual clock, and the sample events.

Nothing here opens a socket: moto intercepts botocore in-process, and REST calls go through the
real Lambda entry point (``functions/rest_api/app.py``, Mangum) as API Gateway proxy events.
"""

import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from session_relay import store
from session_relay.store import Store
from session_relay.websocket import events as websocket_events
from session_relay.websocket import handshake
from support import clock, management, owners, tables
from support.clients import SimulatedClient
from support.environment import clear_caches, set_environment
from support.events import connect_event, load_event, new_connection_id
from support.functions import Handler, LambdaContext, handlers
from support.owners import Owner
from support.rest import RestCaller

from session_relay_tools.local import functions


@pytest.fixture(scope="session")
def boto3_session() -> boto3.session.Session:
    return tables.boto3_session()


@pytest.fixture(scope="package")
def moto_tables(boto3_session: boto3.session.Session) -> Iterator[tables.Tables]:
    """moto's in-process DynamoDB for this package, with the tables template.yaml defines.

    Package scope: the mock never outlives the unit tests (other suites talk to real endpoints).
    """
    with tables.moto_tables(boto3_session, prefix="unit-") as created:
        yield created


@pytest.fixture(autouse=True)
def aws(
    monkeypatch: pytest.MonkeyPatch, boto3_session: boto3.session.Session, moto_tables: tables.Tables
) -> Iterator[dict[str, str]]:
    """Empty tables and the settings environment, fresh for every test; caches cleared."""
    set_environment(monkeypatch, moto_tables.environment)
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", boto3_session)
    tables.empty_tables(moto_tables)
    clear_caches()
    yield moto_tables.environment
    clear_caches()


@pytest.fixture
def relay_store(aws: dict[str, str]) -> Store:
    """The store the handlers use (the cached one, on moto)."""
    return store.get_store()


@pytest.fixture
def dynamodb(aws: dict[str, str], moto_tables: tables.Tables) -> Any:
    """A raw DynamoDB client on the same moto backend, for looking under the store."""
    return moto_tables.client


@pytest.fixture
def gateway(aws: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[management.FakeManagementApi]:
    """The fake Management API, installed wherever the handlers build a gateway."""
    fake = management.install(monkeypatch, management.FakeManagementApi())
    yield fake
    fake.finish()


@pytest.fixture
def virtual_clock(
    monkeypatch: pytest.MonkeyPatch, gateway: management.FakeManagementApi
) -> clock.VirtualClock:
    """Virtual time for the product (epoch time, the messaging service's clock and sleep) and for the
    simulated clients (their ``delay_s`` and their sleeps): it advances only when the code sleeps."""
    gateway.clock = clock.install(monkeypatch, clock.VirtualClock())
    return gateway.clock


@pytest.fixture
def make_owner(relay_store: Store) -> Callable[..., Owner]:
    """Register scripts (enabled unless told otherwise) and issue an API key covering them, with
    ``scopes`` (all four unless told otherwise)."""

    def make(
        *script_ids: str, enabled: bool = True, revoked: bool = False, scopes: tuple[str, ...] | None = None
    ) -> Owner:
        return owners.make_owner(relay_store, *script_ids, enabled=enabled, revoked=revoked, scopes=scopes)

    return make


@pytest.fixture
def owner(make_owner: Callable[..., Owner]) -> Owner:
    return make_owner("script-alpha")


@pytest.fixture
def connect(gateway: management.FakeManagementApi, relay_store: Store) -> Callable[..., SimulatedClient]:
    """Connect a simulated client through the real ``$connect`` handler; it echoes by default."""

    def open_session(script_id: str, **query: str) -> SimulatedClient:
        connection_id = new_connection_id()
        event = websocket_events.WebSocketEvent.parse(connect_event(connection_id, script_id, **query))
        answer = handshake.connect(event)
        assert answer["statusCode"] == 200, answer
        session_id = relay_store.sessions.session_id_for_connection(connection_id)
        assert session_id is not None
        return gateway.connect(connection_id, session_id)

    return open_session


@pytest.fixture
def lambda_context() -> functions.LambdaContext:
    return LambdaContext()


@pytest.fixture(scope="session")
def function_handlers() -> dict[str, Handler]:
    return handlers()


@pytest.fixture
def client(gateway: management.FakeManagementApi, function_handlers: dict[str, Handler]) -> RestCaller:
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


@pytest.fixture
def sent_requests() -> Iterator[Callable[..., list[Any]]]:
    """``start(describe)``: from now on, every DynamoDB request the (current) store's client sends, as
    ``describe(operation, body)`` (the operation's name by default), in order, seen at botocore's
    ``before-send`` hook ahead of moto's answer. Every hook is removed when the test ends."""
    hooked = []

    def start(describe: Callable[[str, dict[str, Any]], Any] = lambda operation, _: operation) -> list[Any]:
        sent: list[Any] = []
        lock = threading.Lock()

        def record(request: Any, event_name: str, **_: Any) -> None:
            described = describe(event_name.rsplit(".", 1)[-1], json.loads(request.body or b"{}"))
            with lock:
                sent.append(described)

        client = store.get_store().client
        client.meta.events.register_first("before-send.dynamodb", record)
        hooked.append((client, record))
        return sent

    yield start
    for client, record in hooked:
        client.meta.events.unregister("before-send.dynamodb", record)
