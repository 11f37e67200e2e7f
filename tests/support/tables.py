"""DynamoDB for the in-process handlers: one boto3 session, and the tables template.yaml defines,
in moto (in-process) or on the local stack's embedded DynamoDB."""

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

from session_relay_tools.local.process import scan_table
from session_relay_tools.template import TABLE_ENVIRONMENT, create_tables, table_definitions
from support.environment import FAKE_AWS_ENVIRONMENT, REGION


@functools.cache
def boto3_session() -> boto3.session.Session:
    """The session every client is built from. Keep one for the whole run: a fresh session reloads
    the service models (about 0.1 s per client). The fake credentials stop any call reaching AWS."""
    return boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
    )


@dataclass(frozen=True)
class Tables:
    environment: dict[str, str]  # SESSIONS_TABLE ... -> table name, as the handlers read them
    client: Any  # a raw DynamoDB client on the same backend, for looking under the store


@contextmanager
def moto_tables(session: boto3.session.Session, prefix: str) -> Iterator[Tables]:
    """moto's in-process DynamoDB with the template's tables, for as long as the context lasts."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in FAKE_AWS_ENVIRONMENT.items():
            patch.setenv(name, value)
        patch.setattr(boto3, "DEFAULT_SESSION", session)
        with mock_aws(config={"core": {"reset_boto3_session": False}}):
            client = session.client("dynamodb")
            yield Tables(create_tables(client, prefix=prefix), client)


def endpoint_tables(session: boto3.session.Session, endpoint_url: str, prefix: str) -> Tables:
    """The template's tables, newly created on a DynamoDB endpoint (the embedded one)."""
    client = session.client("dynamodb", endpoint_url=endpoint_url)
    return Tables(create_tables(client, prefix=prefix), client)


def scan(client: Any, table: str) -> list[dict[str, Any]]:
    """Every item of ``table``, read consistently."""
    return scan_table(client, table)


def empty_tables(tables: Tables) -> None:
    """Delete every item, so each test starts from empty tables (cheaper than new tables)."""
    for logical_id, arguments in table_definitions().items():
        table = tables.environment[TABLE_ENVIRONMENT[logical_id]]
        key_names = [key["AttributeName"] for key in arguments["KeySchema"]]
        keys = [{name: item[name] for name in key_names} for item in scan(tables.client, table)]
        for start in range(0, len(keys), 25):
            tables.client.batch_write_item(
                RequestItems={table: [{"DeleteRequest": {"Key": key}} for key in keys[start : start + 25]]}
            )
