"""Fixtures for the reliability suite: a second owner on the local stack, table scans, and the relay
in-process (``relay``, see support.relay) whose AWS calls can be made to fail.

The in-process relay runs the real Lambda entry points, the real store and the real Management API
gateway, on the local stack's embedded DynamoDB (moto's server, one request at a time). Faults are
injected at botocore's ``before-send`` hook (support.faults); the Management API is faked at the same
hook (support.management): posts reach simulated executors, which reply through the real ``$default``
handler. The harness is the unit suite's (tests/support), so the two cannot drift apart.
"""

import secrets
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from support import tables
from support.environment import clear_caches, set_environment
from support.faults import BackoffLog, record_backoff
from support.functions import Handler, handlers
from support.owners import OwnerKey, operator_owner
from support.relay import Relay

from session_relay_tools.local.dynamodb import EmbeddedDynamoDB
from session_relay_tools.local.process import RunningStack, free_port

# ------------------------------------------------------------------------------------------------
# The local stack: a second owner, table scans
# ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def second_owner(local_stack: RunningStack) -> OwnerKey:
    """Another script and an API key for it alone, made the way an operator does (admin commands)."""
    return operator_owner(local_stack, "second owner")


def scan_table(stack: RunningStack, logical_id: str) -> list[dict[str, Any]]:
    return stack.scan(logical_id)


# ------------------------------------------------------------------------------------------------
# The in-process relay
# ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def function_handlers() -> dict[str, Handler]:
    return handlers()


@pytest.fixture
def backoff(monkeypatch: pytest.MonkeyPatch) -> BackoffLog:
    """botocore's exponential backoff delays, recorded; only a millisecond of each is slept."""
    return record_backoff(monkeypatch)


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
    return tables.boto3_session()


@pytest.fixture
def relay(
    monkeypatch: pytest.MonkeyPatch,
    function_handlers: dict[str, Handler],
    backoff: BackoffLog,
    embedded_dynamodb: str,
    boto3_session: boto3.session.Session,
) -> Iterator[Relay]:
    """The in-process relay on fresh tables; every cache cleared before and after."""
    created = tables.endpoint_tables(boto3_session, embedded_dynamodb, prefix=f"rel{secrets.token_hex(4)}-")
    set_environment(
        monkeypatch,
        created.environment,
        DYNAMODB_ENDPOINT_URL=embedded_dynamodb,
        POWERTOOLS_METRICS_DISABLED="true",
    )
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", boto3_session)
    clear_caches()
    try:
        relay = Relay(function_handlers, created.client)
        yield relay
        relay.management.finish()
    finally:
        clear_caches()
