"""The broadcast work queue on SQS (moto, in-process): JSON bodies, ten messages a SendMessageBatch,
delays capped at SQS's 900 seconds, and the queue found from ``BROADCAST_QUEUE_URL``."""

import json
import secrets

import boto3
import pytest
from session_relay.errors import ServiceUnavailable
from session_relay.service.broadcasts_queue import MAX_DELAY_S, WorkQueue, get_queue
from support.environment import clear_caches


@pytest.fixture
def sqs():
    return boto3.client("sqs", region_name="us-east-1")


@pytest.fixture
def queue_url(sqs):
    # moto's SQS lives as long as the package's mock: a queue of this test's own.
    return sqs.create_queue(QueueName=f"unit-broadcasts-{secrets.token_hex(4)}")["QueueUrl"]


def received(sqs, url):
    found = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        found.extend(json.loads(message["Body"]) for message in batch)
        for message in batch:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return found


def test_many_messages_go_ten_a_call_and_arrive_as_sent(sqs, queue_url):
    calls = []
    sqs.meta.events.register("before-send.sqs.SendMessageBatch", lambda **_: calls.append(1))
    bodies = [{"k": "chunk", "n": n} for n in range(23)]

    WorkQueue(sqs, queue_url).send_many(bodies)

    assert len(calls) == 3
    assert sorted(received(sqs, queue_url), key=lambda body: body["n"]) == bodies


def test_a_delay_is_rounded_up_and_never_above_900_seconds(sqs, queue_url):
    sent = []
    sqs.meta.events.register("provide-client-params.sqs.SendMessage", lambda params, **_: sent.append(params))
    queue = WorkQueue(sqs, queue_url)

    queue.send({"k": "due"}, 1.2)
    queue.send({"k": "final"}, 5000)
    queue.send({"k": "late"}, -3)

    assert [params["DelaySeconds"] for params in sent] == [2, MAX_DELAY_S, 0]
    assert MAX_DELAY_S == 900


def test_an_unreachable_queue_is_a_503_not_a_crash(sqs):
    queue = WorkQueue(sqs, "https://sqs.us-east-1.amazonaws.com/123456789012/no-such-queue")
    with pytest.raises(ServiceUnavailable):
        queue.send({"k": "plan"})


def test_the_queue_comes_from_the_environment(monkeypatch, queue_url, sqs):
    monkeypatch.setenv("BROADCAST_QUEUE_URL", queue_url)
    clear_caches()
    get_queue().send({"k": "plan", "b": "x"})
    assert received(sqs, queue_url) == [{"k": "plan", "b": "x"}]
    monkeypatch.delenv("BROADCAST_QUEUE_URL")
    clear_caches()
    with pytest.raises(RuntimeError, match="BROADCAST_QUEUE_URL"):
        get_queue()
