"""A page of stream records read as the stack's mappings read it (over the database process's socket,
moto's JSON as sent: ``DatabaseClient.answer_as_json``) becomes the same records of Lambda's event as
the page botocore parses over the port, for every attribute type; a call the server fails raises
the error botocore parses without it."""

import boto3
import pytest
from botocore.exceptions import ClientError

from local.mapping_stack import embedded_server
from session_relay_tools.local.mappings.stream_events import shaped_change, stream_event

REGION = "us-east-1"
EVERY_TYPE = {
    "id": {"S": "k"},
    "s": {"S": "text é"},
    "n": {"N": "12.50"},
    "b": {"B": b"\x00\xffbinary"},
    "ss": {"SS": ["x", "y"]},
    "ns": {"NS": ["1", "2.5"]},
    "bs": {"BS": [b"\x01", b"\x02\x03"]},
    "m": {"M": {"inner": {"L": [{"S": "a"}, {"N": "1"}, {"BOOL": True}, {"NULL": True}]}}},
    "l": {"L": [{"B": b"\x04"}, {"M": {}}]},
    "t": {"BOOL": False},
    "z": {"NULL": True},
}


@pytest.fixture(scope="module")
def server():
    with embedded_server("socket") as running:
        yield running


def _stream(server, table: str) -> tuple[object, str, str]:
    dynamodb = boto3.client("dynamodb", endpoint_url=server.url, region_name=REGION)
    created = dynamodb.create_table(
        TableName=table,
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    stream_arn = created["TableDescription"]["LatestStreamArn"]
    streams = boto3.client("dynamodbstreams", endpoint_url=server.url, region_name=REGION)
    shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]["ShardId"]
    return dynamodb, stream_arn, shard


def _page(client, stream_arn: str, shard: str) -> list[dict]:
    iterator = client.get_shard_iterator(
        StreamArn=stream_arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    return client.get_records(ShardIterator=iterator, Limit=1000)["Records"]


def test_a_page_as_sent_makes_the_same_event_as_a_page_botocore_parsed(server, monkeypatch):
    for name, value in {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}.items():
        monkeypatch.setenv(name, value)
    dynamodb, stream_arn, shard = _stream(server, "pages-every-type")
    dynamodb.put_item(TableName="pages-every-type", Item=EVERY_TYPE)
    changed = {**EVERY_TYPE, "n": {"N": "-3"}, "b": {"B": b"\xfe"}}
    dynamodb.put_item(TableName="pages-every-type", Item=changed)
    dynamodb.delete_item(TableName="pages-every-type", Key={"id": {"S": "k"}})
    parsed_client = boto3.client("dynamodbstreams", endpoint_url=server.url, region_name=REGION)
    raw_client = boto3.client("dynamodbstreams", endpoint_url=server.url, region_name=REGION)
    server.database.serve(raw_client)
    server.database.answer_as_json(raw_client, "GetRecords")

    parsed = _page(parsed_client, stream_arn, shard)
    raw = _page(raw_client, stream_arn, shard)

    assert isinstance(parsed[0]["dynamodb"]["NewImage"]["b"]["B"], bytes)  # botocore parsed this page
    assert isinstance(raw[0]["dynamodb"]["NewImage"]["b"]["B"], str)  # this one is the wire's JSON
    shaped_parsed = [shaped_change(r, stream_arn, REGION) for r in parsed]
    shaped_raw = [shaped_change(r, stream_arn, REGION) for r in raw]
    assert [c.record["eventName"] for c in shaped_raw] == ["INSERT", "MODIFY", "REMOVE"]
    assert [c.record for c in shaped_raw] == [c.record for c in shaped_parsed]
    assert [c.text for c in shaped_raw] == [c.text for c in shaped_parsed]
    assert [c.created_s for c in shaped_raw] == pytest.approx([c.created_s for c in shaped_parsed])
    event = stream_event(shaped_raw)
    assert event == {"Records": [c.record for c in shaped_raw]}
    assert event["Records"][0]["dynamodb"]["NewImage"]["bs"] == {"BS": ["AQ==", "AgM="]}
    again = stream_event(shaped_raw)
    again["Records"][0]["dynamodb"].clear()  # what one invocation does to its event
    assert stream_event(shaped_raw) == event  # is not what the next one gets


def test_a_call_the_server_fails_raises_the_error_botocore_parses(server, monkeypatch):
    for name, value in {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}.items():
        monkeypatch.setenv(name, value)
    served, raw_client = (
        boto3.client("dynamodbstreams", endpoint_url=server.url, region_name=REGION) for _ in range(2)
    )
    server.database.serve(served)
    server.database.serve(raw_client)
    server.database.answer_as_json(raw_client, "GetRecords")
    errors = []
    for client in (served, raw_client):
        with pytest.raises(ClientError) as raised:
            client.get_records(ShardIterator="not-an-iterator-of-this-server")
        errors.append(raised.value.response)

    assert errors[1]["Error"] == errors[0]["Error"]
    assert errors[1]["ResponseMetadata"]["HTTPStatusCode"] == errors[0]["ResponseMetadata"]["HTTPStatusCode"]
    assert errors[1]["ResponseMetadata"]["HTTPStatusCode"] >= 400
