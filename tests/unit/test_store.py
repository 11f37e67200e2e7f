"""The store: expired items read as absent, failures that survive retries become 503, API keys are
kept only as hashes, replies are conditional."""

import hashlib
import json
import time

import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError
from botocore.retries.standard import ExponentialBackoff
from botocore.stub import Stubber
from session_relay import clock
from session_relay.aws import dynamodb_client
from session_relay.contract import REASON_NOT_FOUND, Outcome
from session_relay.errors import ReplyRejected, ServiceUnavailable, ValidationFailed
from session_relay.settings import get_settings
from session_relay.store import Store, decode_cursor, encode_cursor, listing_key
from session_relay.store.table import Table


def expire_session(dynamodb, aws, session_id):
    """What TTL deletion leaves behind until it runs: an item whose expiry has passed."""
    dynamodb.update_item(
        TableName=aws["SESSIONS_TABLE"],
        Key={"id": {"S": session_id}},
        UpdateExpression="SET expires_at = :past",
        ExpressionAttributeValues={":past": {"N": str(int(time.time()) - 1)}},
    )


# ------------------------------------------------------------------------------------------------
# Expired items (TTL deletion lags)
# ------------------------------------------------------------------------------------------------


def test_expired_session_is_absent_from_get_list_and_message(client, owner, connect, dynamodb, aws, failure):
    expired, live = connect(owner.script_id), connect(owner.script_id)
    expire_session(dynamodb, aws, expired.session_id)

    failure(client.get(f"/sessions/{expired.session_id}", headers=owner.headers), 404)
    listed = client.get("/sessions", headers=owner.headers).json()["sessions"]
    assert [s["id"] for s in listed] == [live.session_id]
    failure(
        client.post(f"/sessions/{expired.session_id}/message", headers=owner.headers, json={"key": "k"}), 404
    )
    failure(client.post(f"/sessions/{expired.session_id}/disconnect", headers=owner.headers), 404)
    bulk = client.post(
        "/sessions/message", headers=owner.headers, json={"session_ids": [expired.session_id], "key": "k"}
    ).json()["responses"]
    assert bulk == [{"session_id": expired.session_id, "processed": False, "reason": REASON_NOT_FOUND}]
    assert expired.received == []


def test_expired_session_is_absent_from_store_reads(owner, connect, relay_store, dynamodb, aws):
    session = connect(owner.script_id)
    expire_session(dynamodb, aws, session.session_id)

    assert relay_store.sessions.get(session.session_id) is None
    assert relay_store.sessions.get_many([session.session_id]) == {}
    assert relay_store.sessions.touch(session.session_id) is None
    assert relay_store.sessions.page([owner.script_id], {}, 10, None) == ([], None)


def test_hello_on_an_expired_session_is_an_error_frame(owner, connect, dynamodb, aws):
    session = connect(owner.script_id)
    expire_session(dynamodb, aws, session.session_id)

    session.send_frame({"action": "hello"})

    assert [frame["type"] for frame in session.received] == ["error"]


# ------------------------------------------------------------------------------------------------
# Failures that survive retries: ServiceUnavailable, 503, nothing changed
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code",
    [
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
    ],
)
def test_transient_dynamodb_errors_become_service_unavailable(code):
    client = dynamodb_client()
    with Stubber(client) as stubber:
        stubber.add_client_error("get_item", service_error_code=code, http_status_code=400)

        with pytest.raises(ServiceUnavailable) as raised:
            Store(client, get_settings()).sessions.get("s")

    assert raised.value.status == 503


def test_other_dynamodb_errors_are_not_disguised_as_unavailable():
    client = dynamodb_client()
    with Stubber(client) as stubber:
        stubber.add_client_error("get_item", service_error_code="ValidationException", http_status_code=400)

        with pytest.raises(ClientError) as raised:
            Store(client, get_settings()).sessions.get("s")

    assert raised.value.response["Error"]["Code"] == "ValidationException"


def test_dynamodb_client_retries_throttling():
    retries = dynamodb_client().meta.config.retries

    assert retries["mode"] == "standard"
    assert retries["total_max_attempts"] >= 3


class _Body:
    def __init__(self, content: bytes) -> None:
        self.content = content

    def stream(self, **_):
        yield self.content


@pytest.fixture
def throttled_sessions_table(aws, monkeypatch):
    """Every DynamoDB request on the sessions table answers ThrottlingException, at the HTTP layer,
    so boto3's own retries run (their backoff is made instant). Returns the attempt counter."""
    monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda self, context: 0)
    attempts = []
    table = aws["SESSIONS_TABLE"]

    def throttle(request, **_):
        if json.loads(request.body or b"{}").get("TableName") != table:
            return None
        attempts.append(request.url)
        body = json.dumps(
            {"__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException", "message": "Rate exceeded"}
        )
        return AWSResponse(request.url, 400, {"x-amzn-RequestId": "throttled"}, _Body(body.encode()))

    client = dynamodb_client()
    client.meta.events.register_first("before-send.dynamodb.GetItem", throttle)
    yield attempts
    client.meta.events.unregister("before-send.dynamodb.GetItem", throttle)


def test_throttled_store_is_503_after_botos_retries(
    client, owner, connect, throttled_sessions_table, failure
):
    session = connect(owner.script_id)

    error = failure(client.get(f"/sessions/{session.session_id}", headers=owner.headers), 503)

    assert "unavailable" in error
    assert len(throttled_sessions_table) == dynamodb_client().meta.config.retries["total_max_attempts"] > 1


def test_throttled_store_on_message_is_503_and_sends_nothing(
    client, owner, connect, throttled_sessions_table, failure
):
    session = connect(owner.script_id)

    failure(
        client.post(f"/sessions/{session.session_id}/message", headers=owner.headers, json={"key": "k"}), 503
    )

    assert session.received == []


def test_unprocessed_batch_keys_are_retried(monkeypatch, aws):
    monkeypatch.setattr("session_relay.store.table.backoff", lambda attempt: None)
    client = dynamodb_client()
    table = aws["SESSIONS_TABLE"]
    key = {"id": {"S": "s1"}}
    with Stubber(client) as stubber:
        stubber.add_response(
            "batch_get_item",
            {"Responses": {table: []}, "UnprocessedKeys": {table: {"Keys": [key], "ConsistentRead": True}}},
        )
        stubber.add_response("batch_get_item", {"Responses": {table: [{"id": {"S": "s1"}, "n": {"N": "1"}}]}})

        items = Table(client, table).batch_get([{"id": "s1"}])

        stubber.assert_no_pending_responses()
    assert items == [{"id": "s1", "n": 1}]


def test_unprocessed_batch_keys_that_never_clear_are_service_unavailable(monkeypatch, aws):
    monkeypatch.setattr("session_relay.store.table.backoff", lambda attempt: None)
    client = dynamodb_client()
    table = aws["SESSIONS_TABLE"]
    key = {"id": {"S": "s1"}}
    unprocessed = {"Responses": {}, "UnprocessedKeys": {table: {"Keys": [key], "ConsistentRead": True}}}
    with Stubber(client) as stubber:
        for _ in range(20):
            stubber.add_response("batch_get_item", unprocessed)

        with pytest.raises(ServiceUnavailable):
            Store(client, get_settings()).sessions.get_many(["s1"])


def test_unprocessed_batch_writes_that_never_clear_are_service_unavailable(monkeypatch, aws):
    monkeypatch.setattr("session_relay.store.table.backoff", lambda attempt: None)
    client = dynamodb_client()
    table = aws["CONNECTIONS_TABLE"]
    request = {"DeleteRequest": {"Key": {"connection_id": {"S": "c"}, "item": {"S": "message#m"}}}}
    with Stubber(client) as stubber:
        for _ in range(20):
            stubber.add_response("batch_write_item", {"UnprocessedItems": {table: [request]}})

        with pytest.raises(ServiceUnavailable):
            Store(client, get_settings()).messages.delete_many([("c", "m")])


# ------------------------------------------------------------------------------------------------
# API keys
# ------------------------------------------------------------------------------------------------


def test_api_keys_are_stored_only_as_sha256_hashes(owner, dynamodb, aws):
    items = dynamodb.scan(TableName=aws["AUTH_TABLE"], ConsistentRead=True)["Items"]

    key_items = [item for item in items if item["pk"]["S"].startswith("apikey#")]
    assert len(key_items) == 1
    assert key_items[0]["pk"]["S"] == "apikey#" + hashlib.sha256(owner.api_key.encode()).hexdigest()
    assert owner.api_key not in json.dumps(items)


def test_issued_keys_are_long_and_random():
    from session_relay.service.access import new_api_key

    keys = {new_api_key()[0] for _ in range(20)}

    assert len(keys) == 20
    assert all(len(key) >= 32 for key in keys)


# ------------------------------------------------------------------------------------------------
# Replies and cursors
# ------------------------------------------------------------------------------------------------


def test_reply_to_a_missing_message_creates_nothing(owner, connect, relay_store):
    session = connect(owner.script_id)

    with pytest.raises(ReplyRejected):
        relay_store.messages.record_reply(
            session.connection_id, "missing", Outcome(processed=True, response=1)
        )

    assert relay_store.messages.read(session.connection_id, "missing") == (False, None)


def test_reply_is_only_recorded_on_the_addressed_connection(owner, connect, relay_store):
    target, other = connect(owner.script_id), connect(owner.script_id)
    relay_store.messages.put(relay_store.sessions.get(target.session_id), "m1", clock.now_ms() + 10_000)

    with pytest.raises(ReplyRejected):
        relay_store.messages.record_reply(
            other.connection_id, "m1", Outcome(processed=True, response="forged")
        )

    assert relay_store.messages.read(target.connection_id, "m1") == (True, None)
    recorded = relay_store.messages.record_reply(
        target.connection_id, "m1", Outcome(processed=True, response=1)
    )
    assert recorded.session_id == target.session_id
    # The message carries its session's last_seen_at as sent, so the reply's handler can skip a write.
    assert recorded.seen_at == relay_store.sessions.get(target.session_id).session.last_seen_at
    assert recorded.replied_at >= recorded.seen_at


def test_withdrawing_an_answered_message_returns_the_answer(owner, connect, relay_store):
    session = connect(owner.script_id)
    relay_store.messages.put(relay_store.sessions.get(session.session_id), "m1", clock.now_ms() + 10_000)
    relay_store.messages.record_reply(
        session.connection_id, "m1", Outcome(processed=False, reason="function doesnt exist")
    )

    outcome = relay_store.messages.withdraw(session.connection_id, "m1")

    assert outcome.as_contract() == {"processed": False, "reason": "function doesnt exist"}


def test_withdrawing_a_pending_message_deletes_it(owner, connect, relay_store):
    session = connect(owner.script_id)
    relay_store.messages.put(relay_store.sessions.get(session.session_id), "m1", clock.now_ms() + 10_000)

    assert relay_store.messages.withdraw(session.connection_id, "m1") is None
    assert relay_store.messages.read(session.connection_id, "m1") == (False, None)


def test_cursor_round_trips_a_listing_key():
    key = listing_key(1_770_624_500_000, "abc123")

    assert decode_cursor(encode_cursor(key)) == key


@pytest.mark.parametrize(
    "cursor", ["", "!!!", "bm90IGEga2V5", encode_cursor("123#x"), encode_cursor("9" * 15)]
)
def test_cursor_not_made_by_the_api_is_a_validation_error(cursor):
    with pytest.raises(ValidationFailed):
        decode_cursor(cursor)


def test_listing_key_sorts_newest_first_then_by_id():
    keys = [listing_key(2_000, "b"), listing_key(1_000, "a"), listing_key(2_000, "a")]

    assert sorted(keys) == [listing_key(2_000, "a"), listing_key(2_000, "b"), listing_key(1_000, "a")]
