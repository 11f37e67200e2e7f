"""The embedded database's meter: the write request units DynamoDB bills for each kind of write, by
item size (1 KB a unit, the larger of before and after), transactions (two a 1 KB), failed conditions
(the item found) and a global secondary index's puts, deletes and key changes; and the items each read
returned."""

import boto3
import pytest
from botocore.exceptions import ClientError

from session_relay_tools.local import moto_queries
from session_relay_tools.local.dynamodb import patient_dynamodb_client
from session_relay_tools.local.embedded_database import InProcessDatabase
from session_relay_tools.local.metering import Meter
from session_relay_tools.local.process import free_port

CREDENTIALS = {"region_name": "us-east-1", "aws_access_key_id": "local", "aws_secret_access_key": "local"}
TABLE = "metered"


@pytest.fixture
def database(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "local")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "local")
    database = InProcessDatabase("127.0.0.1", free_port())
    database.start()
    database.meter = Meter()
    yield database
    database.stop()
    from moto.backends import get_backend

    get_backend("dynamodb").reset()
    moto_queries.uninstall()


@pytest.fixture
def db(database):
    endpoint = f"http://{database.host}:{database.port}"
    boto3.client("dynamodb", endpoint_url=endpoint, **CREDENTIALS).create_table(
        TableName=TABLE,
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
            {"AttributeName": "g", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by_g",
                "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    return patient_dynamodb_client(endpoint, embedded=database)


def spent(database, write) -> int:
    database.meter.reset()
    write()
    return database.meter.total()


def key(name):
    return {"pk": {"S": name}, "sk": {"S": "x"}}


def test_an_item_costs_a_unit_a_kilobyte_and_an_update_the_larger_of_before_and_after(database, db):
    small = {**key("a"), "v": {"S": "s" * 500}}
    large = {**key("b"), "v": {"S": "s" * 2500}}
    assert spent(database, lambda: db.put_item(TableName=TABLE, Item=small)) == 1
    assert spent(database, lambda: db.put_item(TableName=TABLE, Item=large)) == 3
    shrink = {":v": {"S": "s"}}
    update = {
        "TableName": TABLE,
        "Key": key("b"),
        "UpdateExpression": "SET v = :v",
        "ExpressionAttributeValues": shrink,
    }
    assert spent(database, lambda: db.update_item(**update)) == 3  # the item before was 2.5 KB
    assert spent(database, lambda: db.update_item(**update)) == 1
    assert spent(database, lambda: db.delete_item(TableName=TABLE, Key=key("a"))) == 1


def test_a_transaction_costs_two_units_an_item_and_a_failed_condition_still_costs(database, db):
    items = [{"Put": {"TableName": TABLE, "Item": {**key(n), "v": {"S": "v"}}}} for n in ("c", "d")]
    assert spent(database, lambda: db.transact_write_items(TransactItems=items)) == 4

    def refused():
        with pytest.raises(ClientError):
            db.put_item(TableName=TABLE, Item=key("c"), ConditionExpression="attribute_not_exists(pk)")

    assert spent(database, refused) == 1
    batch = {TABLE: [{"PutRequest": {"Item": key(n)}} for n in ("e", "f", "g")]}
    assert spent(database, lambda: db.batch_write_item(RequestItems=batch)) == 3
    assert spent(database, lambda: db.get_item(TableName=TABLE, Key=key("c"))) == 0  # a read


def test_an_index_is_written_when_an_item_enters_it_leaves_it_or_changes_its_key(database, db):
    assert spent(database, lambda: db.put_item(TableName=TABLE, Item={**key("h"), "g": {"S": "1"}})) == 2

    def set_g(value):
        return lambda: db.update_item(
            TableName=TABLE,
            Key=key("h"),
            UpdateExpression="SET g = :g",
            ExpressionAttributeValues={":g": value},
        )

    assert spent(database, set_g({"S": "2"})) == 3  # the table, and the index's delete and put
    unprojected = {"TableName": TABLE, "Key": key("h"), "UpdateExpression": "SET note = :o"}
    assert (
        spent(database, lambda: db.update_item(**unprojected, ExpressionAttributeValues={":o": {"N": "1"}}))
        == 1
    )
    remove = {"TableName": TABLE, "Key": key("h"), "UpdateExpression": "REMOVE g"}
    assert spent(database, lambda: db.update_item(**remove)) == 2  # leaves the index
    assert spent(database, lambda: db.put_item(TableName=TABLE, Item=key("i"))) == 1  # never in it


def test_reads_are_counted_by_the_items_they_returned_and_billed_by_size_and_consistency(database, db):
    for name in ("j", "k", "l"):
        db.put_item(TableName=TABLE, Item={**key(name), "g": {"S": "same"}, "v": {"S": "v" * 3000}})
    database.meter.reset()
    db.get_item(TableName=TABLE, Key=key("j"), ConsistentRead=True)  # 1 unit (under 4 KB)
    db.get_item(TableName=TABLE, Key=key("absent"))  # nothing returned, nothing billed
    # Each item rounded up to 4 KB, eventually consistent: 2 x 0.5, whatever the projection.
    db.batch_get_item(
        RequestItems={TABLE: {"Keys": [key("j"), key("k"), key("absent")], "ProjectionExpression": "pk"}}
    )
    # One Query: 3 items of about 3 KB are 9 KB together, 3 blocks of 4 KB at 0.5 (an index is eventual).
    db.query(
        TableName=TABLE,
        IndexName="by_g",
        KeyConditionExpression="g = :g",
        ExpressionAttributeValues={":g": {"S": "same"}},
    )
    assert database.meter.snapshot() == {
        "write_units": {"dynamodb": 0},
        "read_units": {"dynamodb": 1 + 1 + 1.5},
        "items_read": {"BatchGetItem": 2, "GetItem": 1, "Query": 3},
    }
