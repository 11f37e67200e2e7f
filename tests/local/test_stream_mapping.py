"""DynamoDB Streams event source mappings on the local stack deliver as Lambda does ("Using AWS Lambda
with Amazon DynamoDB", https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html): each shard in order
with both images, batches of at most ``BatchSize`` gathered for up to the window, a failed batch retried
(bisected when asked) until ``MaximumRetryAttempts``, then Lambda's on-failure record on the destination
queue ("Retaining discarded records for a DynamoDB event source in Lambda",
https://docs.aws.amazon.com/lambda/latest/dg/services-dynamodb-errors.html).
"""

import json
import time
import uuid

import boto3
import pytest

from local.conftest import template_text
from local.mapping_stack import PATHS, MappingStack, embedded_server
from session_relay_tools.local.mappings.declared import declared_mappings
from session_relay_tools.local.mappings.sqs_events import WholeBatchFailed
from session_relay_tools.local.mappings.stream_events import checkpoint
from session_relay_tools.template import create_tables, load_template, stream_arns

WATCHER = """  Watcher:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: {{handlers}}
      Handler: mapping_app.stream
      Timeout: 2
      Events:
        Changes:
          Type: DynamoDB
          Properties:
            Stream: !GetAtt Sessions.StreamArn
            StartingPosition: TRIM_HORIZON
            BatchSize: {batch_size}
            MaximumBatchingWindowInSeconds: {window}
{extra}  Sessions:
    Type: AWS::DynamoDB::Table
    Properties:
      AttributeDefinitions:
        - AttributeName: id
          AttributeType: S
      KeySchema:
        - AttributeName: id
          KeyType: HASH
      BillingMode: PAY_PER_REQUEST
      StreamSpecification:
        StreamViewType: NEW_AND_OLD_IMAGES
      TimeToLiveSpecification:
        AttributeName: expires_at
        Enabled: true
  Failures:
    Type: AWS::SQS::Queue
"""
ON_FAILURE = """            DestinationConfig:
              OnFailure:
                Destination: !GetAtt Failures.Arn
"""


@pytest.fixture(scope="module", params=PATHS)
def server(request):
    with embedded_server(request.param) as embedded:
        yield embedded


@pytest.fixture
def stack(server, tmp_path, monkeypatch):
    for name, value in {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}.items():
        monkeypatch.setenv(name, value)
    made = []

    def make(batch_size=100, window=0, extra="", wall_clock=time.time):
        resources = WATCHER.format(batch_size=batch_size, window=window, extra=extra)
        made.append(MappingStack(server, tmp_path, resources, wall_clock=wall_clock))
        return made[-1]

    yield make
    for made_stack in made:
        made_stack.close()


def _put(running, key, **attributes):
    item = {"id": {"S": key}, **{name: {"S": value} for name, value in attributes.items()}}
    running.dynamodb.put_item(TableName=running.table("Sessions"), Item=item)


def _records(module):
    return [record for event in module.events for record in event["Records"]]


def _delivered_keys(module):
    """Keys of the records of every invocation that succeeded (no poison in it), in order."""
    keys = []
    for event in module.events:
        if not any("poison" in r["dynamodb"].get("NewImage", {}) for r in event["Records"]):
            keys += [r["dynamodb"]["Keys"]["id"]["S"] for r in event["Records"]]
    return keys


def test_inserts_modifies_and_removes_arrive_in_order_with_both_images(stack):
    running = stack()
    _put(running, "a", state="new")
    _put(running, "a", state="changed")
    running.dynamodb.delete_item(TableName=running.table("Sessions"), Key={"id": {"S": "a"}})
    _put(running, "b", state="new")
    watcher = running.seen("Watcher")

    assert running.run(until=lambda: len(_records(watcher)) == 4, then_s=0.3)

    records = _records(watcher)
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "REMOVE", "INSERT"]
    insert, modify, remove, _ = (r["dynamodb"] for r in records)
    assert insert["Keys"] == {"id": {"S": "a"}}
    assert insert["NewImage"] == {"id": {"S": "a"}, "state": {"S": "new"}}
    assert "OldImage" not in insert
    assert modify["OldImage"]["state"] == {"S": "new"}
    assert modify["NewImage"]["state"] == {"S": "changed"}
    assert remove["OldImage"]["state"] == {"S": "changed"}
    assert "NewImage" not in remove
    sequence = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
    assert sequence == sorted(sequence)
    stream_arn = running.dynamodb.describe_table(TableName=running.table("Sessions"))["Table"][
        "LatestStreamArn"
    ]
    for record in records:
        assert record["eventSource"] == "aws:dynamodb"
        assert record["eventSourceARN"] == stream_arn
        assert record["awsRegion"] == "us-east-1"
        assert record["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
        assert isinstance(record["dynamodb"]["ApproximateCreationDateTime"], float)
        assert {"eventID", "eventVersion", "SizeBytes"} <= set(record) | set(record["dynamodb"])
    json.dumps(watcher.events)  # the event is plain JSON, as Lambda's runtime gets it


def test_a_batch_holds_at_most_batch_size_records_in_order(stack):
    running = stack(batch_size=2)
    for key in "abcde":
        _put(running, key)
    watcher = running.seen("Watcher")

    assert running.run(until=lambda: len(_records(watcher)) == 5, then_s=0.3)

    assert [len(event["Records"]) for event in watcher.events] == [2, 2, 1]
    assert _delivered_keys(watcher) == list("abcde")


def test_the_batching_window_gathers_changes_made_apart_into_one_batch(stack):
    running = stack(batch_size=100, window=2)
    watcher = running.seen("Watcher")
    made: list[float] = []

    def write_then_wait():
        # Three changes, then three more 0.3 s later, while the window the first ones opened is open.
        if not made or (len(made) == 1 and time.monotonic() - made[0] > 0.3):
            for index in range(3):
                _put(running, f"k{len(made)}{index}")
            made.append(time.monotonic())
        return bool(watcher.events)

    assert running.run(until=write_then_wait, then_s=0.3)

    assert [len(event["Records"]) for event in watcher.events] == [6]


def test_bisect_isolates_the_failing_record_and_the_destination_gets_lambdas_record(stack):
    extra = "            BisectBatchOnFunctionError: true\n            MaximumRetryAttempts: 1\n" + ON_FAILURE
    running = stack(batch_size=4, extra=extra)
    for key in ("r1", "r2"):
        _put(running, key)
    _put(running, "r3", poison="yes")
    _put(running, "r4")
    watcher = running.seen("Watcher")

    assert running.run(until=lambda: "r4" in _delivered_keys(watcher), then_s=0.3)

    assert _delivered_keys(watcher) == ["r1", "r2", "r4"]  # the others delivered once, in order
    poisoned = [e for e in watcher.events if any("poison" in r["dynamodb"]["NewImage"] for r in e["Records"])]
    # [r1..r4] fails -> [r1, r2] ok, [r3, r4] fails -> [r3] fails, is retried once, fails -> [r4] ok
    assert [len(event["Records"]) for event in poisoned] == [4, 2, 1, 1]
    (message,) = running.drain("Failures")
    document = json.loads(message["Body"])
    r3 = poisoned[-1]["Records"][0]
    assert document["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert document["requestContext"]["approximateInvokeCount"] == 2
    assert document["requestContext"]["functionArn"].endswith(":function:Watcher")
    assert document["responseContext"] == {
        "statusCode": 200,
        "executedVersion": "$LATEST",
        "functionError": "Unhandled",
    }
    assert document["version"] == "1.0"
    info = document["DDBStreamBatchInfo"]
    assert info["batchSize"] == 1
    assert info["startSequenceNumber"] == info["endSequenceNumber"] == r3["dynamodb"]["SequenceNumber"]
    assert info["streamArn"] == r3["eventSourceARN"]
    assert info["shardId"].startswith("shardId-")
    assert info["approximateArrivalOfFirstRecord"].endswith("Z")


def test_retries_end_at_maximum_retry_attempts_and_the_shard_moves_on(stack):
    running = stack(batch_size=2, extra="            MaximumRetryAttempts: 2\n" + ON_FAILURE)
    _put(running, "r1")
    _put(running, "r2", poison="yes")
    _put(running, "r3")
    watcher = running.seen("Watcher")

    assert running.run(until=lambda: "r3" in _delivered_keys(watcher), then_s=0.3)

    keys = [[r["dynamodb"]["Keys"]["id"]["S"] for r in event["Records"]] for event in watcher.events]
    assert keys == [["r1", "r2"]] * 3 + [["r3"]]  # the first try and two retries, then the next batch
    (message,) = running.drain("Failures")
    document = json.loads(message["Body"])
    assert document["requestContext"]["approximateInvokeCount"] == 3
    assert document["DDBStreamBatchInfo"]["batchSize"] == 2


def test_records_older_than_maximum_record_age_go_to_the_destination_without_an_invocation(stack):
    running = stack(
        extra="            MaximumRecordAgeInSeconds: 60\n" + ON_FAILURE, wall_clock=lambda: time.time() + 120
    )
    for key in ("r1", "r2"):
        _put(running, key)
    watcher = running.seen("Watcher")
    failures = []

    assert running.run(until=lambda: failures or failures.extend(running.drain("Failures")), then_s=0.3)

    assert watcher.events == []
    (message,) = failures
    document = json.loads(message["Body"])
    assert document["requestContext"]["condition"] == "RecordAgeExceeded"
    assert document["requestContext"]["approximateInvokeCount"] == 0
    assert document["DDBStreamBatchInfo"]["batchSize"] == 2


def test_parallelization_splits_a_batch_by_key_and_keeps_each_keys_changes_in_order(stack):
    running = stack(extra="            ParallelizationFactor: 2\n")
    keys = [f"k{index}" for index in range(10)]
    for version in ("1", "2", "3"):
        for key in keys:
            _put(running, key, version=version)
    watcher = running.seen("Watcher")

    assert running.run(until=lambda: len(_records(watcher)) == 30, then_s=0.3)

    assert len(watcher.events) == 2  # one batch of 30, split over the two lanes by key
    lanes = [{r["dynamodb"]["Keys"]["id"]["S"] for r in event["Records"]} for event in watcher.events]
    assert not lanes[0] & lanes[1]  # a key's changes all in one lane
    for event in watcher.events:
        for key in {r["dynamodb"]["Keys"]["id"]["S"] for r in event["Records"]}:
            versions = [
                r["dynamodb"]["NewImage"]["version"]["S"]
                for r in event["Records"]
                if r["dynamodb"]["Keys"]["id"]["S"] == key
            ]
            assert versions == ["1", "2", "3"]


def test_a_partial_batch_failure_retries_from_the_checkpoint_then_discards_the_rest(stack):
    extra = (
        "            FunctionResponseTypes: [ReportBatchItemFailures]\n            MaximumRetryAttempts: 1\n"
    )
    running = stack(batch_size=3, extra=extra + ON_FAILURE)
    _put(running, "r1")
    _put(running, "r2", fail_item="yes")
    _put(running, "r3")
    watcher = running.seen("Watcher")
    failures = []

    assert running.run(until=lambda: failures or failures.extend(running.drain("Failures")), then_s=0.3)

    keys = [[r["dynamodb"]["Keys"]["id"]["S"] for r in event["Records"]] for event in watcher.events]
    assert keys == [["r1", "r2", "r3"], ["r2", "r3"]]  # retried from r2, the checkpoint
    (message,) = failures
    info = json.loads(message["Body"])["DDBStreamBatchInfo"]
    assert info["batchSize"] == 2
    assert info["startSequenceNumber"] == watcher.events[1]["Records"][0]["dynamodb"]["SequenceNumber"]


def test_with_bisect_too_a_partial_answer_splits_the_batch_at_its_checkpoint_only(stack):
    extra = (
        "            FunctionResponseTypes: [ReportBatchItemFailures]\n"
        "            BisectBatchOnFunctionError: true\n            MaximumRetryAttempts: 0\n"
    )
    running = stack(batch_size=4, extra=extra + ON_FAILURE)
    _put(running, "r1")
    _put(running, "r2", fail_item="yes")
    _put(running, "r3")
    _put(running, "r4")
    watcher = running.seen("Watcher")
    failures = []

    assert running.run(until=lambda: failures or failures.extend(running.drain("Failures")), then_s=0.3)

    assert [len(event["Records"]) for event in watcher.events] == [4]  # no retry left, no halving
    (message,) = failures
    assert json.loads(message["Body"])["DDBStreamBatchInfo"]["batchSize"] == 3  # r2 to r4


def test_a_partial_batch_response_checkpoints_at_the_lowest_sequence_number_named():
    numbers = ["100", "200", "300"]
    assert checkpoint(None, numbers) is None
    assert checkpoint({"batchItemFailures": []}, numbers) is None
    assert (
        checkpoint({"batchItemFailures": [{"itemIdentifier": "300"}, {"itemIdentifier": "200"}]}, numbers)
        == 1
    )
    for answer in (
        {"batchItemFailures": [{"itemIdentifier": ""}]},
        {"batchItemFailures": [{"id": "100"}]},
        [],
    ):
        with pytest.raises(WholeBatchFailed):
            checkpoint(answer, numbers)


def test_limits_lambda_refuses_stop_the_stack_with_a_sentence(tmp_path):
    cases = {
        "            ParallelizationFactor: 11\n": "ParallelizationFactor must be from 1 to 10",
        "            MaximumRetryAttempts: -2\n": "MaximumRetryAttempts must be from -1 to 10000",
        "            MaximumRecordAgeInSeconds: 30\n": "MaximumRecordAgeInSeconds must be from 60 to 604800",
        "            FilterCriteria:\n              Filters:\n                - Pattern: a-pattern\n": (
            "FilterCriteria is not emulated"
        ),
    }
    for index, (extra, sentence) in enumerate(cases.items()):
        path = tmp_path / f"t{index}.yaml"
        path.write_text(
            template_text() + WATCHER.format(batch_size=1, window=0, extra=extra).format(handlers=".")
        )
        with pytest.raises(SystemExit, match=sentence):
            declared_mappings(load_template(path))
    latest = WATCHER.replace("TRIM_HORIZON", "EARLIEST").format(batch_size=1, window=0, extra="")
    path = tmp_path / "position.yaml"
    path.write_text(template_text() + latest.format(handlers="."))
    with pytest.raises(SystemExit, match="StartingPosition must be TRIM_HORIZON or LATEST"):
        declared_mappings(load_template(path))


def test_a_table_that_exists_without_its_stream_gets_it(server, tmp_path, monkeypatch):
    for name, value in {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}.items():
        monkeypatch.setenv(name, value)
    dynamodb = boto3.client("dynamodb", endpoint_url=server.url, region_name="us-east-1")
    prefix = f"t{uuid.uuid4().hex[:8]}-"
    dynamodb.create_table(  # as an external DynamoDB may hold it from before the stream was declared
        TableName=f"{prefix}Sessions",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    path = tmp_path / "template.yaml"
    path.write_text(template_text() + WATCHER.format(batch_size=1, window=0, extra="").format(handlers="."))

    create_tables(dynamodb, prefix, path)

    table = dynamodb.describe_table(TableName=f"{prefix}Sessions")["Table"]
    assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert stream_arns(dynamodb, {"Sessions": f"{prefix}Sessions"}) == {"Sessions": table["LatestStreamArn"]}
