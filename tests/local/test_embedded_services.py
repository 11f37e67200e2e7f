"""The embedded server answers DynamoDB, DynamoDB Streams and SQS on one port (DESIGN.md "Local
stack"), so the event source mappings' emulation can use the endpoint every handler uses."""

import boto3
import pytest

from session_relay_tools.local.dynamodb import EmbeddedDynamoDB
from session_relay_tools.local.embedded_services import service_for
from session_relay_tools.local.process import free_port

CREDENTIALS = {"region_name": "us-east-1", "aws_access_key_id": "local", "aws_secret_access_key": "local"}


@pytest.fixture(scope="module")
def endpoint():
    server = EmbeddedDynamoDB("127.0.0.1", free_port())
    server.start()
    yield f"http://{server.host}:{server.port}"
    server.stop()


def test_requests_are_routed_by_the_operation_they_name():
    assert service_for("DynamoDB_20120810.PutItem", "/") == "dynamodb"
    assert service_for("DynamoDBStreams_20120810.GetRecords", "/") == "dynamodbstreams"
    assert service_for("AmazonSQS.SendMessage", "/") == "sqs"
    assert service_for(None, "/") == "sqs"  # the query protocol: Action=... in a form
    assert service_for(None, "/123456789012/work") == "sqs"


def test_a_table_with_a_stream_produces_records_read_through_the_streams_api(endpoint):
    dynamodb = boto3.client("dynamodb", endpoint_url=endpoint, **CREDENTIALS)
    streams = boto3.client("dynamodbstreams", endpoint_url=endpoint, **CREDENTIALS)
    description = dynamodb.create_table(
        TableName="streamed",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]
    dynamodb.put_item(TableName="streamed", Item={"id": {"S": "a"}, "n": {"N": "1"}})
    dynamodb.delete_item(TableName="streamed", Key={"id": {"S": "a"}})

    stream_arn = description["LatestStreamArn"]
    assert [s["StreamArn"] for s in streams.list_streams(TableName="streamed")["Streams"]] == [stream_arn]
    shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]
    iterator = streams.get_shard_iterator(
        StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records = streams.get_records(ShardIterator=iterator)["Records"]
    assert [record["eventName"] for record in records] == ["INSERT", "REMOVE"]
    assert records[0]["dynamodb"]["NewImage"] == {"id": {"S": "a"}, "n": {"N": "1"}}
    assert records[1]["dynamodb"]["OldImage"] == {"id": {"S": "a"}, "n": {"N": "1"}}


@pytest.mark.parametrize("fifo", [False, True])
def test_sqs_queues_send_receive_and_delete_on_the_same_port(endpoint, fifo):
    sqs = boto3.client("sqs", endpoint_url=endpoint, **CREDENTIALS)
    name, attributes, extra = "work", {}, {}
    if fifo:
        name, attributes = "events.fifo", {"FifoQueue": "true", "ContentBasedDeduplication": "true"}
        extra = {"MessageGroupId": "script-1"}
    queue_url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    assert queue_url.startswith(endpoint)
    sqs.send_message(QueueUrl=queue_url, MessageBody="first", **extra)
    sqs.send_message(QueueUrl=queue_url, MessageBody="second", **extra)
    received = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)["Messages"]
    assert [message["Body"] for message in received] == ["first", "second"]
    for message in received:
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    assert sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=0).get("Messages", []) == []
