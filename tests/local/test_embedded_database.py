"""The embedded database, in the stack's own process (``InProcessDatabase``) or in a child process
(``DatabaseProcess``, the stack's): the handlers' client is answered without HTTP, every other client
over the port, both by the same moto backends, each request atomic."""

import os
import signal
import subprocess
import sys
import threading
import time

import boto3
import pytest
from botocore.exceptions import ClientError

from session_relay_tools.local.database_process import DatabaseProcess
from session_relay_tools.local.dynamodb import patient_dynamodb_client
from session_relay_tools.local.embedded_database import InProcessDatabase
from session_relay_tools.local.process import free_port

from .conftest import reset_in_process_moto

CREDENTIALS = {"region_name": "us-east-1", "aws_access_key_id": "local", "aws_secret_access_key": "local"}


@pytest.fixture(params=[InProcessDatabase, DatabaseProcess])
def database(request, monkeypatch):
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name.upper().replace("REGION_NAME", "AWS_DEFAULT_REGION"), value)
    database = request.param("127.0.0.1", free_port())
    database.start()
    yield database
    database.stop()
    if request.param is InProcessDatabase:
        reset_in_process_moto()


@pytest.fixture
def clients(database):
    endpoint = f"http://{database.host}:{database.port}"
    in_process = patient_dynamodb_client(endpoint, embedded=database)
    over_http = boto3.client("dynamodb", endpoint_url=endpoint, **CREDENTIALS)
    over_http.create_table(
        TableName="counters",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return in_process, over_http


def test_both_paths_see_the_same_tables_and_items(clients):
    in_process, over_http = clients
    in_process.put_item(TableName="counters", Item={"id": {"S": "a"}, "n": {"N": "1"}})
    over_http.put_item(TableName="counters", Item={"id": {"S": "b"}, "n": {"N": "2"}})
    assert over_http.get_item(TableName="counters", Key={"id": {"S": "a"}})["Item"]["n"] == {"N": "1"}
    assert in_process.get_item(TableName="counters", Key={"id": {"S": "b"}})["Item"]["n"] == {"N": "2"}
    assert in_process.list_tables()["TableNames"] == ["counters"]


@pytest.mark.parametrize("database", [InProcessDatabase], indirect=True)
def test_the_in_process_client_needs_no_socket(database, clients):
    in_process, _ = clients
    database.stop()  # the port is closed: only the in-process path is left
    in_process.put_item(TableName="counters", Item={"id": {"S": "a"}})
    assert in_process.get_item(TableName="counters", Key={"id": {"S": "a"}})["Item"] == {"id": {"S": "a"}}


@pytest.mark.parametrize("database", [DatabaseProcess], indirect=True)
def test_a_request_to_a_child_that_ended_fails_as_a_connection_error(database, clients):
    from botocore.exceptions import ConnectionClosedError, EndpointConnectionError

    handlers, _ = clients
    handlers.put_item(TableName="counters", Item={"id": {"S": "a"}})  # a connection is open and idle
    os.kill(database.pid, signal.SIGKILL)
    with pytest.raises((ConnectionClosedError, EndpointConnectionError)):
        handlers.get_item(TableName="counters", Key={"id": {"S": "a"}})


def test_the_child_meters_the_handlers_requests_when_asked(monkeypatch):
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name.upper().replace("REGION_NAME", "AWS_DEFAULT_REGION"), value)
    metered = DatabaseProcess("127.0.0.1", free_port())
    metered.start(meter=True)
    try:
        endpoint = f"http://{metered.host}:{metered.port}"
        handlers = patient_dynamodb_client(endpoint, embedded=metered)
        handlers.create_table(
            TableName="metered",
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        handlers.put_item(TableName="metered", Item={"id": {"S": "a"}, "data": {"S": "x" * 1500}})
        assert metered.meter.snapshot()["write_units"] == {"dynamodb": 2}  # 1.5 KB: two units
        metered.meter.reset()
        assert metered.meter.snapshot()["write_units"] == {"dynamodb": 0}
    finally:
        metered.stop()


def test_the_child_dies_with_its_parent_and_leaves_no_folder_behind():
    script = (
        "import sys, time\n"
        "from session_relay_tools.local.database_process import DatabaseProcess\n"
        "from session_relay_tools.local.process import free_port\n"
        "database = DatabaseProcess('127.0.0.1', free_port())\n"
        "database.start()\n"
        "print(database.pid, database.address, flush=True)\n"
        "time.sleep(60)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        pid, address = parent.stdout.readline().split()
        child = int(pid)
        parent.kill()  # SIGKILL: no cleanup runs in the parent
        parent.wait(10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _alive(child):
            time.sleep(0.05)
        assert not _alive(child)
        assert not os.path.exists(os.path.dirname(address))  # the child removed its socket's folder
    finally:
        parent.kill()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_a_failed_condition_is_dynamodbs_error_and_changes_nothing(clients):
    in_process, _ = clients
    in_process.put_item(TableName="counters", Item={"id": {"S": "a"}, "n": {"N": "1"}})
    with pytest.raises(in_process.exceptions.ConditionalCheckFailedException):
        in_process.put_item(
            TableName="counters",
            Item={"id": {"S": "a"}, "n": {"N": "9"}},
            ConditionExpression="attribute_not_exists(id)",
        )
    assert in_process.get_item(TableName="counters", Key={"id": {"S": "a"}})["Item"]["n"] == {"N": "1"}


def test_a_cancelled_transaction_writes_nothing(clients):
    in_process, over_http = clients
    in_process.put_item(TableName="counters", Item={"id": {"S": "taken"}})
    with pytest.raises(ClientError) as raised:
        in_process.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": "counters", "Item": {"id": {"S": "new"}}}},
                {
                    "Put": {
                        "TableName": "counters",
                        "Item": {"id": {"S": "taken"}},
                        "ConditionExpression": "attribute_not_exists(id)",
                    }
                },
            ]
        )
    assert raised.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert "Item" not in over_http.get_item(TableName="counters", Key={"id": {"S": "new"}})


def test_concurrent_updates_from_both_paths_are_each_atomic(clients):
    in_process, over_http = clients
    in_process.put_item(TableName="counters", Item={"id": {"S": "c"}, "n": {"N": "0"}})

    def add(client, times=25):
        for _ in range(times):
            client.update_item(
                TableName="counters",
                Key={"id": {"S": "c"}},
                UpdateExpression="SET n = n + :one",
                ExpressionAttributeValues={":one": {"N": "1"}},
            )

    threads = [threading.Thread(target=add, args=(client,)) for client in clients * 4]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert over_http.get_item(TableName="counters", Key={"id": {"S": "c"}})["Item"]["n"] == {"N": "200"}


def test_the_childs_requests_are_unsigned_and_reach_the_clients_region(monkeypatch):
    for name, value in {**CREDENTIALS, "region_name": "eu-west-1"}.items():
        monkeypatch.setenv(name.upper().replace("REGION_NAME", "AWS_DEFAULT_REGION"), value)
    database = DatabaseProcess("127.0.0.1", free_port())
    database.start()
    try:
        endpoint = f"http://{database.host}:{database.port}"
        handlers = patient_dynamodb_client(endpoint, embedded=database)
        sent: list[dict] = []
        handlers.meta.events.register_first("before-send.dynamodb", lambda request, **_: sent.append(request))
        handlers.create_table(
            TableName="regional",
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        assert "Authorization" not in sent[0].headers  # botocore did not sign it
        over_http = {**CREDENTIALS, "endpoint_url": endpoint}
        assert boto3.client("dynamodb", **{**over_http, "region_name": "eu-west-1"}).list_tables()[
            "TableNames"
        ] == ["regional"]
        assert boto3.client("dynamodb", **over_http).list_tables()["TableNames"] == []  # us-east-1
    finally:
        database.stop()
