"""moto's answers serialized by ``moto_json`` are byte for byte what moto's own serializer makes, on
every operation the stack uses and every attribute type; what it cannot prove the same goes to moto's."""

import boto3
import pytest
from moto.core.responses import ActionResult

from session_relay_tools.local import moto_json

CREDENTIALS = {"region_name": "us-east-1", "aws_access_key_id": "local", "aws_secret_access_key": "local"}

ITEM = {
    "id": {"S": "s-1"},
    "n": {"N": "12.50"},
    "b": {"B": b"\x00\xffbytes"},
    "ss": {"SS": ["a", "b"]},
    "ns": {"NS": ["1", "2.5"]},
    "bs": {"BS": [b"x", b"\x01"]},
    "m": {"M": {"deep": {"L": [{"S": "x"}, {"NULL": True}, {"BOOL": False}, {"M": {}}]}}},
    "l": {"L": []},
    "t": {"BOOL": True},
}


class Recorder:
    """Runs both serializers on each answer moto makes: what each returned, and which the fast one
    declined."""

    def __init__(self) -> None:
        self.compared: list[tuple[str, object, object]] = []
        self.declined: list[str] = []

    def __call__(self, original):
        def execute_result(result: ActionResult, context) -> object:
            theirs = original(result, context)
            name = f"{context.service_model.service_name}.{context.operation_model.name}"
            try:
                ours = moto_json.answer(result.result, context)
            except moto_json._NotPlain:
                self.declined.append(name)
            else:
                status, headers, body = theirs  # moto adds its own headers to these later
                self.compared.append((name, ours, (status, dict(headers), body)))
            return theirs

        return execute_result


@pytest.fixture
def endpoint(in_process_database):
    return f"http://{in_process_database.host}:{in_process_database.port}"


@pytest.fixture
def recorder(endpoint, monkeypatch):
    moto_json.uninstall()
    recorder = Recorder()
    monkeypatch.setattr(ActionResult, "execute_result", recorder(ActionResult.execute_result))
    return recorder


def _table(client) -> None:
    client.create_table(
        TableName="tab",
        AttributeDefinitions=[
            {"AttributeName": "id", "AttributeType": "S"},
            {"AttributeName": "g", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by_g",
                "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )


def _operations(client, streams) -> None:
    capacity = {"ReturnConsumedCapacity": "INDEXES"}
    client.put_item(TableName="tab", Item=ITEM, **capacity)
    client.put_item(TableName="tab", Item={**ITEM, "n": {"N": "3"}}, ReturnValues="ALL_OLD")
    client.put_item(
        TableName="tab", Item={"id": {"S": "s-2"}, "g": {"S": "x"}}, ReturnConsumedCapacity="TOTAL"
    )
    client.get_item(TableName="tab", Key={"id": {"S": "s-1"}}, ConsistentRead=True)
    client.get_item(TableName="tab", Key={"id": {"S": "none"}})
    client.get_item(TableName="tab", Key={"id": {"S": "s-1"}}, ProjectionExpression="m.deep, b")
    for values in ("ALL_NEW", "UPDATED_OLD", "UPDATED_NEW", "NONE"):
        client.update_item(
            TableName="tab",
            Key={"id": {"S": "s-1"}},
            UpdateExpression="SET n = n + :one, g = :g",
            ExpressionAttributeValues={":one": {"N": "1"}, ":g": {"S": "x"}},
            ReturnValues=values,
            **capacity,
        )
    with pytest.raises(client.exceptions.ConditionalCheckFailedException):
        client.update_item(
            TableName="tab",
            Key={"id": {"S": "s-1"}},
            UpdateExpression="SET n = :n",
            ConditionExpression="attribute_not_exists(id)",
            ExpressionAttributeValues={":n": {"N": "0"}},
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    client.query(
        TableName="tab",
        IndexName="by_g",
        KeyConditionExpression="g = :g",
        ExpressionAttributeValues={":g": {"S": "x"}},
        Limit=1,
        **capacity,
    )
    client.query(
        TableName="tab",
        KeyConditionExpression="id = :i",
        Select="COUNT",
        ExpressionAttributeValues={":i": {"S": "s-1"}},
    )
    client.scan(TableName="tab", **capacity)
    client.batch_get_item(
        RequestItems={"tab": {"Keys": [{"id": {"S": "s-1"}}, {"id": {"S": "s-9"}}]}}, **capacity
    )
    client.batch_write_item(
        RequestItems={
            "tab": [
                {"PutRequest": {"Item": {"id": {"S": "s-3"}}}},
                {"DeleteRequest": {"Key": {"id": {"S": "s-2"}}}},
            ]
        },
        ReturnItemCollectionMetrics="SIZE",
        **capacity,
    )
    client.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": "tab", "Item": {"id": {"S": "s-4"}}}},
            {
                "Update": {
                    "TableName": "tab",
                    "Key": {"id": {"S": "s-3"}},
                    "UpdateExpression": "SET x = :x",
                    "ExpressionAttributeValues": {":x": {"BS": [b"y"]}},
                }
            },
            {
                "ConditionCheck": {
                    "TableName": "tab",
                    "Key": {"id": {"S": "s-1"}},
                    "ConditionExpression": "attribute_exists(id)",
                }
            },
        ],
        **capacity,
    )
    client.transact_get_items(TransactItems=[{"Get": {"TableName": "tab", "Key": {"id": {"S": "s-1"}}}}])
    client.delete_item(TableName="tab", Key={"id": {"S": "s-4"}}, ReturnValues="ALL_OLD", **capacity)
    client.describe_table(TableName="tab")
    client.describe_time_to_live(TableName="tab")
    client.list_tables()
    arn = client.describe_table(TableName="tab")["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    streams.list_streams(TableName="tab")
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    page = streams.get_records(ShardIterator=iterator["ShardIterator"], Limit=1000)
    assert page["Records"], "the stream holds the writes above"
    streams.get_records(ShardIterator=page["NextShardIterator"])  # empty


def test_every_answer_it_takes_is_byte_identical_to_motos(endpoint, recorder) -> None:
    client = boto3.client("dynamodb", endpoint_url=endpoint, **CREDENTIALS)
    streams = boto3.client("dynamodbstreams", endpoint_url=endpoint, **CREDENTIALS)
    _table(client)
    _operations(client, streams)
    for name, ours, theirs in recorder.compared:
        assert ours == theirs, name
    assert recorder.declined == []  # every answer above was plain data
    taken = {name for name, _, _ in recorder.compared}
    expected = {"PutItem", "GetItem", "UpdateItem", "DeleteItem", "Query", "Scan", "BatchGetItem"}
    expected |= {"BatchWriteItem", "TransactWriteItems", "TransactGetItems"}
    assert {f"dynamodb.{name}" for name in expected} <= taken
    assert "dynamodbstreams.GetRecords" in taken


def test_installed_it_answers_in_motos_place_and_clients_read_the_same(endpoint, monkeypatch) -> None:
    client = boto3.client("dynamodb", endpoint_url=endpoint, **CREDENTIALS)
    _table(client)
    client.put_item(TableName="tab", Item=ITEM)
    calls = []
    original_answer = moto_json.answer
    monkeypatch.setattr(moto_json, "answer", lambda *a: calls.append(1) or original_answer(*a))
    ours = client.get_item(TableName="tab", Key={"id": {"S": "s-1"}})["Item"]
    assert calls, "the stack's embedded database installs the serializer"
    moto_json.uninstall()
    theirs = client.get_item(TableName="tab", Key={"id": {"S": "s-1"}})["Item"]
    assert ours == theirs


class _Model:
    def __init__(self) -> None:
        self.table_name = "t"


def test_what_it_cannot_prove_the_same_goes_to_moto(recorder) -> None:
    from moto.core.responses import ActionContext
    from moto.core.serialize import JSONSerializer
    from moto.core.utils import get_service_model

    service = get_service_model("dynamodb")
    context = ActionContext(service, service.operation_model("GetItem"), JSONSerializer, object())
    for result in (
        {"Item": {"id": {"S": "x"}}, "item": {}},  # a key moto might pick for "Item" (its xform_name)
        {"ConsumedCapacity": {"TableName": "t", "table_name": "u"}},  # the same, one level down
        {"ConsumedCapacity": _Model()},  # an object: moto picks its attributes by name
        ValueError("an error"),
    ):
        with pytest.raises(moto_json._NotPlain):
            moto_json.answer(result, context)
    other = ActionContext(
        get_service_model("sqs"),
        get_service_model("sqs").operation_model("ListQueues"),
        JSONSerializer,
        object(),
    )
    with pytest.raises(moto_json._NotPlain):
        moto_json.answer({}, other)
