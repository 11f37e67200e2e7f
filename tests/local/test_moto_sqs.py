"""moto's SQS with ``moto_sqs.install()`` answers as before (visibility, delays, retention, FIFO groups,
redrive), and a receive no longer counts the whole queue for each message it returns."""

import json
import time
from types import SimpleNamespace

import boto3
import pytest
from moto import mock_aws
from moto.sqs import models

from session_relay_tools.local import moto_sqs


@pytest.fixture
def sqs(monkeypatch):
    for name, value in {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}.items():
        monkeypatch.setenv(name, value)
    moto_sqs.install()
    with mock_aws():
        yield boto3.client("sqs", region_name="us-east-1")


def _receive(sqs, url, count=10, visibility=None):
    extra = {} if visibility is None else {"VisibilityTimeout": visibility}
    answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=count, **extra)
    return answer.get("Messages", [])


def test_visibility_and_delays_behave_as_before(sqs):
    url = sqs.create_queue(QueueName="plain")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="now")
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=1)

    (first,) = _receive(sqs, url, visibility=1)
    assert first["Body"] == "now"
    assert _receive(sqs, url) == []  # hidden while received, and the other still delayed
    time.sleep(1.1)
    assert sorted(m["Body"] for m in _receive(sqs, url)) == ["later", "now"]


def test_fifo_groups_and_redrive_behave_as_before(sqs):
    dead = sqs.create_queue(QueueName="dead.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    dead_arn = sqs.get_queue_attributes(QueueUrl=dead, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = json.dumps({"deadLetterTargetArn": dead_arn, "maxReceiveCount": 1})
    attributes = {"FifoQueue": "true", "ContentBasedDeduplication": "true", "RedrivePolicy": redrive}
    url = sqs.create_queue(QueueName="work.fifo", Attributes=attributes)["QueueUrl"]
    for body in ("a1", "a2"):
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId="a")

    assert [m["Body"] for m in _receive(sqs, url, count=1, visibility=0)] == ["a1"]
    # a1 was received once (maxReceiveCount 1): the next receive moves it to the dead-letter queue.
    assert [m["Body"] for m in _receive(sqs, url)] == ["a2"]
    assert [m["Body"] for m in _receive(sqs, dead)] == ["a1"]


def test_retention_is_read_from_the_queue():
    backend = SimpleNamespace(get_queue=lambda name: SimpleNamespace(message_retention_period=60))
    check = models.SQSBackend.is_message_valid_based_on_retention_period
    moto_sqs.install()
    assert check(backend, "q", SimpleNamespace(sent_timestamp=(time.time() - 30) * 1000))
    assert not check(backend, "q", SimpleNamespace(sent_timestamp=(time.time() - 61) * 1000))


def test_a_receive_no_longer_reads_every_queue_attribute_per_message(sqs, monkeypatch):
    url = sqs.create_queue(QueueName="busy")["QueueUrl"]
    for start in range(0, 100, 10):
        entries = [{"Id": str(n), "MessageBody": str(start + n)} for n in range(10)]
        sqs.send_message_batch(QueueUrl=url, Entries=entries)
    calls = []
    original = models.SQSBackend.get_queue_attributes
    monkeypatch.setattr(
        models.SQSBackend,
        "get_queue_attributes",
        lambda self, *a, **k: calls.append(a) or original(self, *a, **k),
    )

    assert len(_receive(sqs, url)) == 10
    assert calls == []
