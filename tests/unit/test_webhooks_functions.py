"""The owner events' two functions (PROTOCOL.md section 5), run through their Lambda entry points on moto's
DynamoDB and SQS and a real local receiver: ``events`` turns the sessions table's stream records into
events on the FIFO queue (only those a webhook wants, with the reason a session ended), ``webhooks``
signs and POSTs them, leaving a failed delivery on the queue with its backoff as visibility timeout."""

import hashlib
import hmac
import json
import time

import pytest
from session_relay.service import webhooks_queue
from session_relay.service.webhooks_delivery import deliver
from session_relay.service.webhooks_events import publish_one
from session_relay.service.webhooks_sender import backoff_s
from session_relay.store.sessions import session_key
from session_relay.store.table import serialize
from session_relay.store.webhooks import WebhookRecord
from support.functions import LambdaContext, import_function
from support.webhook_queues import drop_queues, make_queues
from support.webhook_receiver import start_receiver

TTL = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}


@pytest.fixture(scope="module")
def functions():
    return import_function("events").handler, import_function("webhooks").handler


@pytest.fixture
def queues(boto3_session, monkeypatch):
    monkeypatch.setenv("WEBHOOK_LOOPBACK_URLS", "allowed")
    made = make_queues(boto3_session, monkeypatch, "functions-")
    yield made
    drop_queues(made)


@pytest.fixture
def receiver():
    started = start_receiver()
    yield started
    started.stop()


def hook(client, owner, url, **fields):
    answer = client.request(
        "PUT", f"/scripts/{owner.script_id}/webhook", headers=owner.headers, json_body={"url": url, **fields}
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["webhook"].get("secret")


def item_of(dynamodb, aws, session_id):
    found = dynamodb.get_item(
        TableName=aws["SESSIONS_TABLE"], Key=serialize(session_key(session_id)), ConsistentRead=True
    )
    return found["Item"]


def record(name, item, number, identity=None, made_s=None):
    """A stream record as Lambda gives it, made ``number`` seconds from now unless ``made_s`` says when."""
    image = "NewImage" if name == "INSERT" else "OldImage"
    made_s = int(time.time()) + number if made_s is None else made_s
    shaped = {
        "eventID": f"stream-{number}",
        "eventName": name,
        "eventSource": "aws:dynamodb",
        "dynamodb": {"ApproximateCreationDateTime": made_s, image: item},
    }
    if identity:
        shaped["userIdentity"] = identity
    return shaped


def run_events(functions, records):
    return functions[0]({"Records": records}, LambdaContext(function_name="events"))


def received(queues):
    """The queue's messages as the webhooks function gets them (Lambda's SQS event shape)."""
    answer = queues.client.receive_message(
        QueueUrl=queues.queue, MaxNumberOfMessages=10, AttributeNames=["All"]
    )
    return [
        {
            "messageId": m["MessageId"],
            "receiptHandle": m["ReceiptHandle"],
            "body": m["Body"],
            "attributes": m["Attributes"],
        }
        for m in answer.get("Messages", [])
    ]


def test_connected_and_disconnected_events_reach_the_receiver_signed_in_order(
    client, owner, connect, dynamodb, aws, queues, receiver, functions
):
    secret = hook(client, owner, receiver.url)
    session = connect(owner.script_id)
    inserted = item_of(dynamodb, aws, session.session_id)
    records = [record("INSERT", inserted, 1), record("REMOVE", inserted, 2)]
    assert run_events(functions, records) == {"queued": 2}

    batch = received(queues)
    assert functions[1]({"Records": batch}, LambdaContext()) == {"batchItemFailures": []}
    (delivery,) = receiver.deliveries
    connected, disconnected = delivery.events
    assert [connected["type"], disconnected["type"]] == ["session.connected", "session.disconnected"]
    assert connected["data"]["id"] == session.session_id
    assert isinstance(connected["data"]["roblox_id"], int)
    assert disconnected["data"]["reason"] == "client"
    assert connected["created_at"] == records[0]["dynamodb"]["ApproximateCreationDateTime"] * 1000
    stamp, mac = delivery.headers["Session-Relay-Signature"].split(",")
    signed = stamp.removeprefix("t=").encode() + b"." + delivery.body
    assert mac.removeprefix("v1=") == hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


REASONS = {
    "owner": ("owner", None),
    "banned": ("banned", None),
    "flood": ("flood", None),
    "expired": (None, TTL),
    "client": (None, None),
}


@pytest.mark.parametrize("reason", list(REASONS))
def test_each_reason_comes_from_the_item_or_the_ttl_identity(
    client, owner, connect, dynamodb, aws, queues, functions, reason
):
    hook(client, owner, "https://hooks.example.com/in", events=["session.disconnected"])
    session = connect(owner.script_id)
    item = item_of(dynamodb, aws, session.session_id)
    marked, identity = REASONS[reason]
    if marked:
        item["ended_reason"] = {"S": marked}
    run_events(functions, [record("INSERT", item, 1), record("REMOVE", item, 2, identity)])
    (message,) = queues.messages(queues.queue)
    assert [(e["type"], e["data"]["reason"]) for e in message["events"]] == [("session.disconnected", reason)]


def reasons_at_delete(monkeypatch, relay_store, dynamodb, aws):
    """Record each session's ``ended_reason`` as it is at the moment something deletes it."""
    seen = []

    def reading(original, ids_of):
        def wrapped(*args, **kwargs):
            for session_id in ids_of(*args, **kwargs):
                item = dynamodb.get_item(
                    TableName=aws["SESSIONS_TABLE"], Key=serialize(session_key(session_id))
                )
                seen.append(item.get("Item", {}).get("ended_reason", {}).get("S"))
            return original(*args, **kwargs)

        return wrapped

    sessions = relay_store.sessions
    monkeypatch.setattr(
        sessions, "delete", reading(sessions.delete, lambda records: [r.session.id for r in records])
    )
    monkeypatch.setattr(
        sessions,
        "delete_connection",
        reading(sessions.delete_connection, lambda _, session_id: [session_id] if session_id else []),
    )
    return seen


def test_an_owner_disconnect_marks_the_session_before_deleting_it(
    client, owner, connect, relay_store, dynamodb, aws, monkeypatch
):
    seen = reasons_at_delete(monkeypatch, relay_store, dynamodb, aws)
    session = connect(owner.script_id)
    assert client.post(f"/sessions/{session.session_id}/disconnect", headers=owner.headers).status_code == 200
    assert seen[0] == "owner"


def test_a_flood_close_marks_the_session_before_closing_it(
    owner, connect, relay_store, dynamodb, aws, monkeypatch, gateway
):
    session = connect(owner.script_id)
    for _ in range(31):  # 30 at once, then none left
        session.send_frame({"action": "hello"})
    assert gateway.closed == [session.connection_id]
    # The fake gateway does not report the close: the item is still there, marked for its REMOVE.
    item = dynamodb.get_item(TableName=aws["SESSIONS_TABLE"], Key=serialize(session_key(session.session_id)))
    assert item["Item"]["ended_reason"] == {"S": "flood"}


def test_events_are_queued_only_for_scripts_whose_webhook_wants_them(
    client, make_owner, connect, dynamodb, aws, queues, functions
):
    wants, other, none = make_owner("script-wants"), make_owner("script-other"), make_owner("script-none")
    hook(client, wants, "https://a.example.com/", events=["session.connected"])
    hook(client, other, "https://b.example.com/", events=["session.disconnected"])
    items = [item_of(dynamodb, aws, connect(o.script_id).session_id) for o in (wants, other, none)]
    records = [record("INSERT", item, n) for n, item in enumerate(items)]
    records += [record("REMOVE", item, 10 + n) for n, item in enumerate(items)]
    assert run_events(functions, records) == {"queued": 2}
    messages = {m["script_id"]: [e["type"] for e in m["events"]] for m in queues.messages(queues.queue)}
    assert messages == {"script-wants": ["session.connected"], "script-other": ["session.disconnected"]}


def test_a_change_made_before_the_webhook_was_set_is_not_its_event(
    client, owner, connect, dynamodb, aws, queues, functions, relay_store
):
    item = item_of(dynamodb, aws, connect(owner.script_id).session_id)
    hook(client, owner, "https://a.example.com/")
    set_s = relay_store.webhooks.get(owner.script_id).created_at // 1000
    # The stream's time is rounded down to the second: the webhook's own second is not "before" it.
    before, same = record("INSERT", item, 1, made_s=set_s - 1), record("REMOVE", item, 2, made_s=set_s)
    assert run_events(functions, [before, same]) == {"queued": 1}
    (message,) = queues.messages(queues.queue)
    assert [e["type"] for e in message["events"]] == ["session.disconnected"]


def test_a_modify_or_a_hidden_record_written_again_is_no_event(
    client, owner, connect, dynamodb, aws, queues, functions
):
    hook(client, owner, "https://a.example.com/")
    item = item_of(dynamodb, aws, connect(owner.script_id).session_id)
    hidden = {**item, "expires_at": {"N": "0"}}
    assert run_events(functions, [record("MODIFY", item, 1), record("INSERT", hidden, 2)]) == {"queued": 0}


def test_a_retried_stream_batch_is_dropped_by_the_fifo_deduplication(
    client, owner, connect, dynamodb, aws, queues, functions
):
    hook(client, owner, "https://a.example.com/")
    item = item_of(dynamodb, aws, connect(owner.script_id).session_id)
    run_events(functions, [record("INSERT", item, 1)])
    run_events(functions, [record("INSERT", item, 1)])  # the same stream record again
    assert len(queues.messages(queues.queue)) == 1


def test_a_failed_delivery_stays_on_the_queue_with_its_backoff_and_later_messages_wait(
    client, owner, connect, dynamodb, aws, queues, receiver, functions, relay_store
):
    hook(client, owner, receiver.url)
    item = item_of(dynamodb, aws, connect(owner.script_id).session_id)
    run_events(functions, [record("INSERT", item, 1)])
    run_events(functions, [record("REMOVE", item, 2)])
    receiver.answers.append((503, b"down"))
    batch = received(queues)
    assert len(batch) == 2
    answer = functions[1]({"Records": batch}, LambdaContext())
    # The first failed: it and the script's later message are reported, the later one never tried.
    assert answer == {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in batch]}
    assert len(receiver.deliveries) == 1
    assert received(queues) == []  # invisible for the backoff (60 s after a first failure)
    first_event = json.loads(batch[0]["body"])["events"][0]["id"]
    error = relay_store.webhooks.errors([first_event])[first_event]
    assert (error.error, error.status) == ("the endpoint answered 503", 503)
    last = relay_store.webhooks.get(owner.script_id)
    assert (last.last_status, last.last_error) == (503, "the endpoint answered 503")


def test_the_backoff_doubles_to_a_cap_and_retries_for_over_an_hour_before_the_dead_letter_queue():
    assert [backoff_s(n) for n in range(1, 7)] == [60, 120, 240, 480, 900, 900]
    assert backoff_s(1, retry_after_s=75.2) == 76  # Discord's retry_after, when longer
    assert sum(backoff_s(n) for n in range(1, 11)) >= 3600  # maxReceiveCount 10 (template.yaml)


def test_a_deleted_or_unsubscribed_webhook_owes_nothing(
    client, owner, connect, dynamodb, aws, queues, receiver, functions
):
    hook(client, owner, receiver.url)
    item = item_of(dynamodb, aws, connect(owner.script_id).session_id)
    run_events(functions, [record("INSERT", item, 1)])
    client.request("DELETE", f"/scripts/{owner.script_id}/webhook", headers=owner.headers)
    assert functions[1]({"Records": received(queues)}, LambdaContext()) == {"batchItemFailures": []}
    assert receiver.deliveries == []


def test_discord_gets_embeds_ten_a_message_and_its_retry_after_is_honoured(
    client, owner, connect, dynamodb, aws, queues, receiver, functions
):
    hook(client, owner, receiver.url, format="discord")
    items = [item_of(dynamodb, aws, connect(owner.script_id).session_id) for _ in range(12)]
    run_events(functions, [record("INSERT", item, n) for n, item in enumerate(items)])
    receiver.answers.append((429, json.dumps({"retry_after": 0.05}).encode()))
    assert functions[1]({"Records": received(queues)}, LambdaContext()) == {"batchItemFailures": []}
    sizes = [len(json.loads(d.body)["embeds"]) for d in receiver.deliveries]
    assert sizes == [10, 10, 2]  # the first message again after its 429, then the rest
    embed = json.loads(receiver.deliveries[-1].body)["embeds"][0]
    assert embed["title"] == "session.connected"
    assert "Session-Relay-Signature" not in receiver.deliveries[0].headers


def test_a_long_discord_retry_after_becomes_the_backoff(
    client, owner, connect, dynamodb, aws, queues, receiver, functions
):
    hook(client, owner, receiver.url, format="discord")
    run_events(functions, [record("INSERT", item_of(dynamodb, aws, connect(owner.script_id).session_id), 1)])
    receiver.answers.append((429, json.dumps({"retry_after": 120}).encode()))
    batch = received(queues)
    assert functions[1]({"Records": batch}, LambdaContext())["batchItemFailures"] == [
        {"itemIdentifier": batch[0]["messageId"]}
    ]
    assert len(receiver.deliveries) == 1


def test_a_message_past_its_last_receive_goes_to_the_dead_letter_queue_and_is_listed(
    client, owner, connect, dynamodb, aws, queues, receiver, functions, monkeypatch
):
    hook(client, owner, receiver.url)
    run_events(functions, [record("INSERT", item_of(dynamodb, aws, connect(owner.script_id).session_id), 1)])
    monkeypatch.setattr("session_relay.service.webhooks_sender.backoff_s", lambda *_: 0)
    for _ in range(3):  # support.webhook_queues.MAX_RECEIVES
        receiver.answers.append((500, b""))
        batch = received(queues)
        assert len(batch) == 1
        assert functions[1]({"Records": batch}, LambdaContext())["batchItemFailures"]
    assert received(queues) == []  # the next receive moves it to the dead-letter queue
    failures = client.get(f"/scripts/{owner.script_id}/webhook/failures", headers=owner.headers).json()
    (failure,) = failures["failures"]
    assert failure["event"]["type"] == "session.connected"
    assert failure["last_error"]["error"] == "the endpoint answered 500"
    replay = client.post(f"/scripts/{owner.script_id}/webhook/failures/replay", headers=owner.headers).json()
    assert replay["replayed"] == 1
    assert functions[1]({"Records": received(queues)}, LambdaContext()) == {"batchItemFailures": []}
    assert receiver.deliveries[-1].events[0]["id"] == failure["event"]["id"]
    assert webhooks_queue.queue_urls().queue == queues.queue


def test_ten_embeds_of_the_longest_identities_fit_discords_6000_characters():
    long = "x" * 128
    data = {
        "id": "f" * 32,
        "user_key": long,
        "script_id": long,
        "roblox_id": 2**63 - 1,
        "place_id": 2**63 - 1,
        "job_id": long,
        "created_at": 1,
        "last_seen_at": 1,
        "reason": "expired",
    }
    events = [
        {
            "id": f"evt_{n:032x}",
            "type": "session.disconnected",
            "created_at": 1,
            "script_id": long,
            "data": data,
        }
        for n in range(25)
    ]
    bodies = []

    def post(url, body, headers):
        bodies.append(json.loads(body))
        return 204, b"", None

    hook = WebhookRecord(
        long, "https://discord.com/api/webhooks/1/x", ("session.disconnected",), "discord", "", 1
    )
    assert deliver(hook, events, post).delivered
    assert [len(b["embeds"]) for b in bodies] == [10, 10, 5]

    def characters(embed):
        fields = sum(len(f["name"]) + len(f["value"]) for f in embed["fields"])
        return len(embed["title"]) + len(embed["description"]) + len(embed["footer"]["text"]) + fields

    assert max(sum(characters(e) for e in b["embeds"]) for b in bodies) <= 6000


def test_a_broadcast_done_event_is_queued_once_and_only_when_wanted(client, make_owner, queues, relay_store):
    wants, other = make_owner("script-wants"), make_owner("script-other")
    hook(client, wants, "https://a.example.com/", events=["broadcast.done"])
    hook(client, other, "https://b.example.com/", events=["session.connected"])
    broadcast = {"id": "b1", "done": True}
    assert publish_one(relay_store, "script-wants", "broadcast.done", broadcast, "b1")
    assert publish_one(relay_store, "script-wants", "broadcast.done", broadcast, "b1")  # a retry
    assert not publish_one(relay_store, "script-other", "broadcast.done", broadcast, "b1")
    (message,) = queues.messages(queues.queue)
    assert [(e["type"], e["data"]) for e in message["events"]] == [("broadcast.done", broadcast)]
