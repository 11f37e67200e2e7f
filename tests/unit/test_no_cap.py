"""``MaxCallsInFlightPerKey=0`` (``MAX_CALLS_IN_FLIGHT=0``): no cap on a key's calls in flight, so no
``429`` and no lease, two DynamoDB writes fewer per call (PROTOCOL.md, "Calls in flight")."""

import threading

import pytest
from session_relay.service.access import Principal
from session_relay.service.calls import Call, in_flight
from session_relay.settings import settings_from_environment
from support.environment import clear_caches

TABLES = {"SESSIONS_TABLE": "sessions", "CONNECTIONS_TABLE": "connections", "AUTH_TABLE": "auth"}
LEASES_PREFIX = "inflight#"


@pytest.fixture
def no_cap(monkeypatch):
    monkeypatch.setenv("MAX_CALLS_IN_FLIGHT", "0")
    clear_caches()


def kind_of(body, aws):
    """What a DynamoDB request is about: ``auth``, ``session``, ``lease`` or ``message``."""
    table = {name: variable for variable, name in aws.items()}.get(body.get("TableName"))
    if table != "CONNECTIONS_TABLE":
        return {"AUTH_TABLE": "auth", "SESSIONS_TABLE": "session"}.get(table, table)
    key = body.get("Key") or body.get("Item") or {}
    return "lease" if key.get("connection_id", {}).get("S", "").startswith(LEASES_PREFIX) else "message"


@pytest.fixture
def count_requests(aws, sent_requests):
    """Start counting the DynamoDB requests the (current) store's client sends, as (operation, kind)
    in order: seen at botocore's ``before-send`` hook, ahead of moto's answer."""
    return lambda: sent_requests(lambda operation, body: (operation, kind_of(body, aws)))


def message(client, owner, session_id, **body):
    return client.post(
        f"/sessions/{session_id}/message",
        headers=owner.headers,
        json={"key": "k", "data": 1, "timeout": 5, **body},
    )


def lease_items(dynamodb, aws):
    items = dynamodb.scan(TableName=aws["CONNECTIONS_TABLE"], ConsistentRead=True)["Items"]
    return [item for item in items if item["connection_id"]["S"].startswith(LEASES_PREFIX)]


# ------------------------------------------------------------------------------------------------
# Settings and the context manager
# ------------------------------------------------------------------------------------------------


def test_settings_accept_zero_and_nothing_below_it():
    assert settings_from_environment(TABLES | {"MAX_CALLS_IN_FLIGHT": "0"}).max_calls_in_flight == 0
    assert settings_from_environment(TABLES).max_calls_in_flight == 50
    with pytest.raises(RuntimeError, match="MAX_CALLS_IN_FLIGHT"):
        settings_from_environment(TABLES | {"MAX_CALLS_IN_FLIGHT": "-1"})


def test_no_cap_takes_no_lease_and_never_touches_the_store():
    class Untouchable:
        def __getattr__(self, name):
            raise AssertionError(f"the store was used ({name}) with no cap")

    settings = settings_from_environment(TABLES | {"MAX_CALLS_IN_FLIGHT": "0"})
    caller = Principal(key_id="key_x", script_ids=frozenset({"s"}))
    ran = []
    with in_flight(Untouchable(), settings, caller, Call()):
        ran.append(True)
    assert ran == [True]
    with pytest.raises(ValueError, match="inside"), in_flight(Untouchable(), settings, caller, Call()):
        raise ValueError("inside")


# ------------------------------------------------------------------------------------------------
# Through the REST API
# ------------------------------------------------------------------------------------------------


def test_every_leased_route_answers_as_usual_and_writes_no_lease(
    client, owner, connect, gateway, dynamodb, aws, no_cap, count_requests
):
    requests_sent = count_requests()
    first, second, third = (connect(owner.script_id) for _ in range(3))

    assert message(client, owner, first.session_id).json() == {
        "success": True,
        "processed": True,
        "response": 1,
    }
    bulk = client.post(
        "/sessions/message",
        headers=owner.headers,
        json={"session_ids": [first.session_id, second.session_id], "key": "k", "data": 2, "timeout": 5},
    )
    assert bulk.status_code == 200, bulk.text
    assert bulk.json()["responses"] == [
        {"session_id": first.session_id, "processed": True, "response": 2},
        {"session_id": second.session_id, "processed": True, "response": 2},
    ]
    later = message(client, owner, first.session_id, wait=False)
    assert later.status_code == 202, later.text
    read = client.get(f"/messages/{later.json()['message_id']}", headers=owner.headers, params={"wait": "5"})
    assert read.status_code == 200, read.text
    assert read.json() == {"success": True, "done": True, "processed": True, "response": 1}
    disconnect = client.post(f"/sessions/{third.session_id}/disconnect", headers=owner.headers)
    assert disconnect.status_code == 200
    assert disconnect.json() == {"success": True}
    bulk_disconnect = client.post(
        "/sessions/disconnect", headers=owner.headers, json={"session_ids": [second.session_id]}
    )
    assert bulk_disconnect.json() == {"success": True, "disconnected": [second.session_id]}

    assert lease_items(dynamodb, aws) == []
    assert requests_sent
    assert [sent for sent in requests_sent if sent[1] == "lease"] == []


@pytest.mark.parametrize(
    ("cap", "leased"),
    [("0", False), (None, True)],
    ids=["no cap: 4 requests", "default cap: 6 requests"],
)
def test_a_prompt_message_costs_four_requests_without_a_cap_and_six_with_one(
    client, owner, connect, monkeypatch, virtual_clock, count_requests, cap, leased
):
    if cap is not None:
        monkeypatch.setenv("MAX_CALLS_IN_FLIGHT", cap)
    clear_caches()
    session = connect(owner.script_id)
    assert message(client, owner, session.session_id).status_code == 200  # the API key is now cached
    operations = count_requests()

    answer = message(client, owner, session.session_id)

    assert answer.json() == {"success": True, "processed": True, "response": 1}
    # With virtual time the client's reply lands before the first poll: one poll finds it.
    prompt = [
        ("GetItem", "session"),
        ("PutItem", "message"),
        ("UpdateItem", "message"),
        ("GetItem", "message"),
    ]
    if leased:  # taken while the session is read, given back after the answer
        assert set(operations[:2]) == {("UpdateItem", "lease"), ("GetItem", "session")}
        assert operations[2:] == [*prompt[1:], ("UpdateItem", "lease")]
    else:
        assert operations == prompt
    assert len(operations) == (6 if leased else 4)


@pytest.mark.parametrize(("cap", "refused"), [("0", False), ("1", True)], ids=["no cap", "cap of one"])
def test_many_concurrent_calls_of_one_key_are_never_refused_without_a_cap(
    client, owner, connect, dynamodb, aws, monkeypatch, cap, refused
):
    monkeypatch.setenv("MAX_CALLS_IN_FLIGHT", cap)
    clear_caches()
    session = connect(owner.script_id)
    session.delay_s = 0.5  # real seconds: every call is still waiting when the last one starts
    callers = 20
    start = threading.Barrier(callers)
    statuses = []

    def call():
        start.wait()
        statuses.append(message(client, owner, session.session_id).status_code)

    threads = [threading.Thread(target=call) for _ in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert len(statuses) == callers
    if refused:  # the control: the same flood does overlap, so a cap refuses some of it
        assert set(statuses) == {200, 429}
    else:
        assert statuses == [200] * callers
        assert len(session.received_of_type("message")) == callers
        assert lease_items(dynamodb, aws) == []
