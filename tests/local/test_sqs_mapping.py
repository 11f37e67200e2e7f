"""SQS event source mappings on the local stack deliver as Lambda does ("Using Lambda with Amazon SQS",
https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html): batches of at most ``BatchSize`` gathered
for up to the batching window, a failed batch back on the queue after its visibility timeout and in the
dead-letter queue after ``maxReceiveCount`` receives, partial batch responses, FIFO groups in order with
a failed message holding back only its own group, delayed messages, ``MaximumConcurrency``, and the
account's concurrency pool (a throttled batch is retried).
"""

import json
import time

import pytest

from local.mapping_stack import PATHS, MappingStack, embedded_server
from session_relay_tools.local.limits import MAX_PAYLOAD_BYTES, payload_size
from session_relay_tools.local.mappings.declared import declared_mappings
from session_relay_tools.local.mappings.scaling import Scaler
from session_relay_tools.local.mappings.sqs_events import WholeBatchFailed, failed_message_ids
from session_relay_tools.template import load_template

WORKER = """  Worker:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: {{handlers}}
      Handler: mapping_app.sqs
      Timeout: {timeout}
      Events:
        Work:
          Type: SQS
          Properties:
            Queue: !GetAtt WorkQueue.Arn
            BatchSize: {batch_size}
            MaximumBatchingWindowInSeconds: {window}
{extra}  WorkQueue:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: {visibility}
{queue_extra}      RedrivePolicy:
        deadLetterTargetArn: !GetAtt DeadLetters.Arn
        maxReceiveCount: 2
  DeadLetters:
    Type: AWS::SQS::Queue
{dead_letter_extra}"""


@pytest.fixture(scope="module", params=PATHS)
def server(request):
    with embedded_server(request.param) as embedded:
        yield embedded


@pytest.fixture
def stack(server, tmp_path, monkeypatch):
    for name, value in {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}.items():
        monkeypatch.setenv(name, value)
    made = []

    def make(
        batch_size=10, window=0, timeout=1, extra="", queue_extra="", fifo=False, concurrency=50, visibility=1
    ):
        fifo_lines = "      FifoQueue: true\n      ContentBasedDeduplication: true\n" if fifo else ""
        resources = WORKER.format(
            timeout=timeout,
            visibility=visibility,
            batch_size=batch_size,
            window=window,
            extra=extra,
            queue_extra=queue_extra + fifo_lines,
            dead_letter_extra="    Properties:\n" + fifo_lines if fifo else "",
        )
        made.append(MappingStack(server, tmp_path, resources, concurrency))
        return made[-1]

    yield make
    for made_stack in made:
        made_stack.close()


def _send(stack, *asks, **arguments):
    for ask in asks:
        stack.sqs.send_message(
            QueueUrl=stack.queue_url("WorkQueue"), MessageBody=json.dumps(ask), **arguments
        )


def _bodies(event):
    return [json.loads(record["body"]) for record in event["Records"]]


def test_the_event_has_lambdas_sqs_shape_and_a_handled_batch_is_deleted(stack):
    running = stack()
    _send(running, {"n": 1}, MessageAttributes={"kind": {"DataType": "String", "StringValue": "test"}})
    worker = running.seen("Worker")

    assert running.run(until=lambda: len(worker.events) == 1, then_s=0.3)

    (record,) = worker.events[0]["Records"]
    assert set(record) == {
        "messageId", "receiptHandle", "body", "attributes", "messageAttributes", "md5OfBody",
        "md5OfMessageAttributes", "eventSource", "eventSourceARN", "awsRegion",
    }  # fmt: skip
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == running.mappings.queues["WorkQueue"].arn
    assert record["awsRegion"] == "us-east-1"
    assert json.loads(record["body"]) == {"n": 1}
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert {"SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp"} <= set(record["attributes"])
    assert record["messageAttributes"] == {
        "kind": {"stringValue": "test", "stringListValues": [], "binaryListValues": [], "dataType": "String"}
    }
    assert running.waiting("WorkQueue") == 0  # deleted, not merely hidden
    assert running.drain("DeadLetters") == []


def test_a_batch_holds_at_most_batch_size_messages(stack):
    running = stack(batch_size=3)
    _send(running, *({"n": n} for n in range(7)))
    worker = running.seen("Worker")

    assert running.run(until=lambda: sum(len(e["Records"]) for e in worker.events) == 7)

    assert max(len(event["Records"]) for event in worker.events) == 3
    assert sorted(n["n"] for event in worker.events for n in _bodies(event)) == list(range(7))


def test_the_batching_window_gathers_messages_sent_apart_into_one_batch(stack):
    running = stack(batch_size=20, window=2, visibility=5)
    worker = running.seen("Worker")
    sent: list[float] = []

    def send_then_wait():
        # Five messages, then five more 0.3 s later, while the window the first ones opened is still open.
        if not sent or (len(sent) == 1 and time.monotonic() - sent[0] > 0.3):
            _send(running, *({"n": len(sent) * 5 + n} for n in range(5)))
            sent.append(time.monotonic())
        return bool(worker.events)

    assert running.run(until=send_then_wait, then_s=0.2)

    assert len(worker.events) == 1
    assert len(worker.events[0]["Records"]) == 10


def test_a_failing_batch_reappears_after_the_visibility_timeout_then_goes_to_the_dead_letter_queue(stack):
    running = stack(batch_size=3)
    _send(running, {"n": 1, "raise": True}, {"n": 2}, {"n": 3})
    worker = running.seen("Worker")

    assert running.run(until=lambda: len(worker.events) >= 2, then_s=1.5)

    # Received twice (maxReceiveCount 2), each time the whole batch, its receive count grown.
    assert len(worker.events) == 2
    for attempt, event in enumerate(worker.events, start=1):
        assert sorted(ask["n"] for ask in _bodies(event)) == [1, 2, 3]
        assert {r["attributes"]["ApproximateReceiveCount"] for r in event["Records"]} == {str(attempt)}
    dead = running.drain("DeadLetters")
    assert sorted(json.loads(m["Body"])["n"] for m in dead) == [1, 2, 3]
    assert running.waiting("WorkQueue") == 0


def test_partial_batch_failures_keep_only_the_named_messages(stack):
    report = "            FunctionResponseTypes: [ReportBatchItemFailures]\n"
    running = stack(batch_size=3, extra=report)
    _send(running, {"n": 1}, {"n": 2, "fail_item": True}, {"n": 3})
    worker = running.seen("Worker")

    assert running.run(until=lambda: len(worker.events) >= 2, then_s=1.5)

    assert sorted(ask["n"] for ask in _bodies(worker.events[0])) == [1, 2, 3]
    assert [ask["n"] for event in worker.events[1:] for ask in _bodies(event)] == [2]
    assert [json.loads(m["Body"])["n"] for m in running.drain("DeadLetters")] == [2]


def test_a_report_naming_no_message_of_the_batch_fails_the_whole_batch():
    assert failed_message_ids({"batchItemFailures": []}, ["a"]) == set()
    assert failed_message_ids(None, ["a"]) == set()
    assert failed_message_ids({"batchItemFailures": [{"itemIdentifier": "a"}]}, ["a", "b"]) == {"a"}
    for answer in (
        {"batchItemFailures": [{"itemIdentifier": "zzz"}]},
        {"batchItemFailures": [{"itemIdentifier": ""}]},
        {"batchItemFailures": [{"itemIdentifier": None}]},
        {"batchItemFailures": [{"id": "a"}]},
        "not json",
    ):
        with pytest.raises(WholeBatchFailed):
            failed_message_ids(answer, ["a", "b"])


def test_fifo_groups_arrive_in_order_and_a_failed_message_holds_back_only_its_group(stack):
    running = stack(batch_size=1, fifo=True)
    url = running.queue_url("WorkQueue")
    for group, ask in [
        ("a", {"n": "a1", "raise": True}),
        ("a", {"n": "a2"}),
        ("b", {"n": "b1"}),
        ("b", {"n": "b2"}),
    ]:
        # An explicit deduplication id: moto gives a sequence number only then.
        running.sqs.send_message(
            QueueUrl=url, MessageBody=json.dumps(ask), MessageGroupId=group, MessageDeduplicationId=ask["n"]
        )
    worker = running.seen("Worker")
    seen = lambda: [ask["n"] for event in worker.events for ask in _bodies(event)]  # noqa: E731

    assert running.run(until=lambda: "a2" in seen())

    order = seen()
    assert order.index("b1") < order.index("b2") < order.index("a1", 1)  # b went on while a1 waited
    assert order.count("a1") == 2  # maxReceiveCount 2, then the dead-letter queue
    assert order.index("a2") > len(order) - 1 - order[::-1].index("a1")  # a2 only after a1's last try
    assert [json.loads(m["Body"])["n"] for m in running.drain("DeadLetters")] == ["a1"]
    record = worker.events[0]["Records"][0]
    assert {"MessageGroupId", "SequenceNumber", "MessageDeduplicationId"} <= set(record["attributes"])


def test_a_delayed_message_is_delivered_only_after_its_delay(stack):
    running = stack(queue_extra="      DelaySeconds: 1\n")
    _send(running, {"n": 1})
    running.sqs.send_message(QueueUrl=running.queue_url("WorkQueue"), MessageBody='{"n": 2}', DelaySeconds=2)
    worker = running.seen("Worker")

    assert running.run(until=lambda: len(worker.events) == 2)

    delays = {}
    for event in worker.events:
        for record in event["Records"]:
            attributes = record["attributes"]
            delay_ms = int(attributes["ApproximateFirstReceiveTimestamp"]) - int(attributes["SentTimestamp"])
            delays[json.loads(record["body"])["n"]] = delay_ms
    assert delays[1] >= 1000  # the queue's DelaySeconds
    assert delays[2] >= 2000  # the message's own DelaySeconds wins


def test_maximum_concurrency_bounds_the_invocations_in_flight(stack):
    running = stack(batch_size=1, extra="            ScalingConfig:\n              MaximumConcurrency: 2\n")
    _send(running, *({"n": n, "sleep_s": 0.2} for n in range(6)))
    worker = running.seen("Worker")

    assert running.run(until=lambda: len(worker.events) == 6, then_s=0.3)

    assert worker.peak == 2
    assert running.drain("DeadLetters") == []


def test_batches_the_concurrency_pool_throttles_are_retried_not_lost(stack):
    running = stack(batch_size=1, timeout=1, concurrency=1)
    _send(running, *({"n": n, "sleep_s": 0.05} for n in range(4)))
    worker = running.seen("Worker")

    assert running.run(until=lambda: len(worker.events) == 4, then_s=0.2)

    assert worker.peak == 1
    assert sorted(ask["n"] for event in worker.events for ask in _bodies(event)) == [0, 1, 2, 3]
    assert running.drain("DeadLetters") == []


def test_an_invocation_that_times_out_leaves_its_batch_on_the_queue(stack):
    running = stack(batch_size=2, timeout=1)
    _send(running, {"n": 1, "sleep_s": 1.3}, {"n": 2})
    worker = running.seen("Worker")

    assert running.run(until=lambda: len(worker.events) >= 2, then_s=1.6)

    assert len(worker.events) == 2  # timed out twice: never deleted, then the dead-letter queue
    assert sorted(json.loads(m["Body"])["n"] for m in running.drain("DeadLetters")) == [1, 2]


def test_limits_lambda_refuses_stop_the_stack_with_a_sentence(tmp_path):
    from local.conftest import template_text

    cases = {
        "BatchSize: 11": "a BatchSize over 10 needs MaximumBatchingWindowInSeconds",
        "BatchSize: 10001\n            MaximumBatchingWindowInSeconds: 1": "BatchSize must be from 1 to 10",
        "ScalingConfig:\n              MaximumConcurrency: 1": "MaximumConcurrency must be from 2 to 1000",
    }
    for index, (line, sentence) in enumerate(cases.items()):
        resources = WORKER.format(
            timeout=1, visibility=1, batch_size=1, window=0, extra="", queue_extra="", dead_letter_extra=""
        )
        resources = resources.replace("BatchSize: 1\n            MaximumBatchingWindowInSeconds: 0", line)
        path = tmp_path / f"t{index}.yaml"
        path.write_text(template_text() + resources.format(handlers="."))
        load_template.cache_clear()
        with pytest.raises(SystemExit, match=sentence):
            declared_mappings(load_template(path))
    too_slow = WORKER.format(
        timeout=5, visibility=1, batch_size=1, window=0, extra="", queue_extra="", dead_letter_extra=""
    )
    path = tmp_path / "slow.yaml"
    path.write_text(template_text() + too_slow.format(handlers="."))
    with pytest.raises(SystemExit, match="Timeout exceeds WorkQueue's VisibilityTimeout"):
        declared_mappings(load_template(path))


def test_functions_environment_names_the_local_queues_and_boto3_finds_the_local_server(stack, monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL_SQS", raising=False)
    variables = (
        "      Environment:\n        Variables:\n"
        "          WORK_QUEUE_URL: !Ref WorkQueue\n"
        "          WORK_QUEUE_ARN: !GetAtt WorkQueue.Arn\n"
        "          DEAD_LETTERS: !GetAtt DeadLetters.QueueName\n"
    )
    running = stack(
        extra="  WorkerSettings:\n    Type: AWS::Serverless::Function\n    Properties:\n" + variables
    )
    queue = running.mappings.queues["WorkQueue"]

    assert running.environment["WORK_QUEUE_URL"] == queue.url
    assert running.environment["WORK_QUEUE_ARN"] == queue.arn
    assert running.environment["DEAD_LETTERS"] == running.mappings.queues["DeadLetters"].arn.rsplit(":", 1)[1]
    assert running.environment["AWS_ENDPOINT_URL_SQS"] == running.endpoint
    assert running.environment["AWS_ENDPOINT_URL_DYNAMODB_STREAMS"] == running.endpoint
    redrive = running.sqs.get_queue_attributes(QueueUrl=queue.url, AttributeNames=["RedrivePolicy"])
    policy = json.loads(redrive["Attributes"]["RedrivePolicy"])
    assert policy == {"deadLetterTargetArn": running.mappings.queues["DeadLetters"].arn, "maxReceiveCount": 2}


def test_each_invocation_prints_one_line(stack, capsys, monkeypatch):
    monkeypatch.setenv("SESSION_RELAY_LOG_FORMAT", "json")
    running = stack(batch_size=1)
    _send(running, {"n": 1}, {"n": 2, "raise": True})
    worker = running.seen("Worker")

    assert running.run(until=lambda: len(worker.events) == 2, then_s=0.2)

    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"api": "sqs"' in line]
    assert sorted(line["status"] for line in lines) == [200, 500]
    assert {line["route"] for line in lines} == {f"{running.prefix}WorkQueue -> Worker"}
    assert {line["records"] for line in lines} == {"1 record"}


def test_concurrency_starts_at_five_batches_and_grows_by_300_a_minute_up_to_its_cap():
    now = [0.0]
    scaler = Scaler(None, clock=lambda: now[0])
    assert scaler.allowed() == 5
    scaler.busy()
    now[0] = 30.0
    assert scaler.allowed() == 155
    now[0] = 600.0
    assert scaler.allowed() == 1000
    scaler.idle()
    assert scaler.allowed() == 5
    capped = Scaler(2, clock=lambda: now[0])
    capped.busy()
    now[0] = 1200.0
    assert capped.allowed() == 2


def test_a_server_error_is_reported_and_the_mapping_keeps_polling(stack, capsys):
    running = stack()
    deleted = []

    def delete_the_queue_then_watch():
        if not deleted:
            running.sqs.delete_queue(QueueUrl=running.queue_url("WorkQueue"))
            deleted.append(time.monotonic())
        return time.monotonic() - deleted[0] > 1.5

    assert running.run(until=lambda: delete_the_queue_then_watch() and running.mappings.running() == 1)

    assert "warning: sqs mapping of " in capsys.readouterr().err


RESOURCE_MAPPING = """  Worker:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: {handlers}
      Handler: mapping_app.sqs
      Timeout: 1
  WorkMapping:
    Type: AWS::Lambda::EventSourceMapping
    Properties:
      FunctionName: !Ref Worker
      EventSourceArn: !GetAtt WorkQueue.Arn
      BatchSize: 2
  WorkQueue:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: 5
"""


def test_an_event_source_mapping_resource_is_run_as_sams_event_would_be(server, tmp_path, monkeypatch):
    for name, value in {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}.items():
        monkeypatch.setenv(name, value)
    running = MappingStack(server, tmp_path, RESOURCE_MAPPING)
    try:
        _send(running, *({"n": n} for n in range(3)))
        worker = running.seen("Worker")

        assert running.run(until=lambda: sum(len(e["Records"]) for e in worker.events) == 3, then_s=0.2)

        assert sorted(len(event["Records"]) for event in worker.events) == [1, 2]
        assert running.waiting("WorkQueue") == 0
    finally:
        running.close()


def test_a_batch_stops_short_of_lambdas_6_mb_payload(stack):
    running = stack(batch_size=100, window=1, visibility=30)
    filler = "x" * 250_000  # 26 of these are 6.5 MB: one batch of 100 would be over the limit
    for n in range(26):
        _send(running, {"n": n, "filler": filler})
    worker = running.seen("Worker")

    assert running.run(until=lambda: sum(len(e["Records"]) for e in worker.events) == 26, then_s=0.3)

    assert [len(event["Records"]) for event in worker.events] == [25, 1]
    assert all(payload_size(event) <= MAX_PAYLOAD_BYTES for event in worker.events)
    assert sorted(ask["n"] for event in worker.events for ask in _bodies(event)) == list(range(26))


def test_a_message_seen_again_while_the_window_gathers_is_in_the_batch_once(stack):
    running = stack(batch_size=20, window=2, visibility=1)  # the window outlasts the visibility timeout
    _send(running, {"n": 1})
    worker = running.seen("Worker")

    assert running.run(until=lambda: bool(worker.events), then_s=0.3)

    (event,) = worker.events
    (record,) = event["Records"]
    assert record["attributes"]["ApproximateReceiveCount"] == "2"  # the newest receipt
    assert running.waiting("WorkQueue") == 0  # and it deleted the message
