"""Owner events over real sockets (PROTOCOL.md section 5): a local stack whose sessions stream, FIFO queue
and dead-letter queue run on its embedded server under Lambda's mapping semantics, and a receiver on a
free local port. The stack is this module's own, with the backoff shortened to 1 s (10 receives then
take seconds, not the hour they take on AWS)."""

import hashlib
import hmac
import secrets
import time
from urllib.parse import urlencode

import pytest
from session_relay.service.webhooks_delivery import TIMEOUT_S
from session_relay_client import admin
from support.owners import operator_owner
from support.webhook_receiver import start_receiver
from websockets.exceptions import ConnectionClosed

from session_relay_tools.local.process import start_stack, stop_stack
from session_relay_tools.simulate import Fleet, RawClient, raw_identity
from session_relay_tools.simulate.client import identity_for

QUICK = {"WEBHOOK_BACKOFF_FIRST_S": "1", "WEBHOOK_BACKOFF_MAX_S": "1"}


@pytest.fixture(scope="module")
def stack():
    running = start_stack(extra_env=QUICK)
    yield running
    stop_stack(running)


@pytest.fixture
def api(stack):
    with stack.client() as client:
        yield client


@pytest.fixture
def fleet(stack):
    clients = Fleet(stack.ws_url, stack.script_id)
    yield clients
    clients.stop()


@pytest.fixture
def receiver():
    started = start_receiver()
    yield started
    started.stop()


@pytest.fixture
def hook(api, stack):
    """Point the development script's webhook at a URL; its secret. Removed afterwards."""
    path = f"/scripts/{stack.script_id}/webhook"

    def put(url, **fields):
        api.delete(path)
        answer = api.put(path, json={"url": url, **fields})
        assert answer.status_code == 200, answer.text
        return answer.json()["webhook"]["secret"]

    yield put
    api.delete(path)


def verify(secret, delivery):
    stamp, mac = delivery.headers["Session-Relay-Signature"].split(",")
    signed = stamp.removeprefix("t=").encode() + b"." + delivery.body
    assert mac.removeprefix("v1=") == hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    assert abs(int(stamp.removeprefix("t=")) - time.time()) < 300


def flood(client):
    """Frames at about 60 a second, over the 20 a second a connection may send (PROTOCOL.md section 2),
    until the server closes it. Paced rather than all at once: frames sent together are spread over
    as many execution environments, each counting its own share, as on AWS."""
    for _ in range(600):
        try:
            client.send({"action": "hello"})
        except ConnectionClosed:
            break
        time.sleep(1 / 60)
    client.receive_type("disconnect")


def including(session_id):
    """Whether the events received include one of ``session_id``'s."""
    return lambda events: session_id in {e["data"]["id"] for e in events}


def ended(events, session_ids):
    done = {e["data"]["id"] for e in events if e["type"] == "session.disconnected"}
    return set(session_ids) <= done


def test_every_event_type_and_reason_arrives_signed_and_in_order_per_session(
    api, stack, fleet, hook, receiver
):
    secret = hook(receiver.url)
    by_client, by_owner = fleet.connect(2)
    flooder = RawClient.open(stack.ws_url, urlencode(raw_identity(stack.script_id)))
    flooded = flooder.hello()["id"]
    fleet.close(by_client)
    assert api.post(f"/sessions/{by_owner.session_id}/disconnect").status_code == 200
    flood(flooder)
    ids = [by_client.session_id, by_owner.session_id, flooded]

    events = receiver.wait_until(lambda found: ended(found, ids))
    for delivery in receiver.deliveries:
        verify(secret, delivery)
    reasons = {e["data"]["id"]: e["data"]["reason"] for e in events if e["type"] == "session.disconnected"}
    assert [reasons[i] for i in ids] == ["client", "owner", "flood"]
    for session_id in ids:
        kinds = [e["type"] for e in events if e["data"]["id"] == session_id]
        assert kinds == ["session.connected", "session.disconnected"]
    connected = next(e for e in events if e["data"]["id"] == by_client.session_id)
    assert connected["script_id"] == stack.script_id
    assert connected["data"]["user_key"] == by_client.identity["user_key"]


def test_a_receiver_down_for_a_while_then_up_gets_every_event(api, fleet, hook, receiver):
    port = receiver.server.server_address[1]
    hook(receiver.url, events=["session.connected"])
    receiver.stop()  # nothing listens on the port now
    clients = fleet.connect(3)
    time.sleep(3)  # a few failed attempts, each followed by its (shortened) backoff
    back = start_receiver(port)
    try:
        ids = {c.session_id for c in clients}
        events = back.wait_until(lambda found: ids <= {e["data"]["id"] for e in found}, timeout_s=30)
        assert ids <= {e["data"]["id"] for e in events}
        assert all(e["type"] == "session.connected" for e in events)
    finally:
        back.stop()


def test_a_failing_receiver_leaves_failures_that_replay_delivers(api, stack, fleet, hook, receiver):
    receiver.status = 500
    hook(receiver.url, events=["session.connected"])
    (client,) = fleet.connect(1)
    path = f"/scripts/{stack.script_id}/webhook/failures"
    deadline, failures = time.monotonic() + 60, []
    while time.monotonic() < deadline and not failures:
        time.sleep(1)
        failures = [
            f for f in api.get(path).json()["failures"] if f["event"]["data"]["id"] == client.session_id
        ]
    assert failures, "the failed delivery never reached the failures list"
    assert failures[0]["last_error"]["status"] == 500
    tried = len(receiver.deliveries)
    assert tried >= 10  # maxReceiveCount (template.yaml) attempts before it became a failure

    receiver.status = 200
    assert api.post(path + "/replay").json()["replayed"] >= 1
    events = receiver.wait_until(
        lambda found: (
            len(receiver.deliveries) > tried
            and receiver.deliveries[-1].events[0]["id"] == failures[0]["event"]["id"]
        )
    )
    assert failures[0]["event"]["id"] in {e["id"] for e in events}
    assert all(f["event"]["data"]["id"] != client.session_id for f in api.get(path).json()["failures"])


def test_another_key_can_neither_read_nor_change_the_webhook(api, stack, hook, receiver):
    hook(receiver.url)
    store = admin.open_store(admin.Target(endpoint=stack.dynamodb_endpoint, region="us-east-1"))
    other_script = admin.create_script(store, "someone else's")
    other = admin.create_key(store, [other_script.script_id], name="other owner")
    reader = admin.create_key(store, [stack.script_id], name="reader", scopes=["read"])
    path = f"/scripts/{stack.script_id}/webhook"
    with stack.client(other.api_key) as stranger, stack.client(reader.api_key) as limited:
        for method, tail in (
            ("GET", ""),
            ("PUT", ""),
            ("DELETE", ""),
            ("POST", "/rotate-secret"),
            ("POST", "/test"),
            ("GET", "/failures"),
            ("POST", "/failures/replay"),
        ):
            body = {"url": "https://evil.example.com/"} if method == "PUT" else None
            assert stranger.request(method, path + tail, json=body).status_code == 404
            assert limited.request(method, path + tail, json=body).status_code == 403
    assert api.get(path).json()["webhook"]["url"] == receiver.url


def test_a_wave_of_sessions_arrives_whole_in_order_per_session_and_at_most_100_a_delivery(
    api, fleet, hook, receiver
):
    secret = hook(receiver.url)
    clients = fleet.connect(30)
    for client in clients:
        fleet.close(client)
    ids = [c.session_id for c in clients]

    events = receiver.wait_until(lambda found: ended(found, ids), timeout_s=60)
    assert ended(events, ids)
    for delivery in receiver.deliveries:
        verify(secret, delivery)
        assert 1 <= len(delivery.events) <= 100
    for session_id in ids:
        kinds = [e["type"] for e in events if e["data"]["id"] == session_id]
        assert kinds == ["session.connected", "session.disconnected"]
    # Only this test's sessions (earlier tests' sessions may still be ending into the same webhook).
    mine = [e for e in events if e["data"].get("id") in set(ids)]
    assert len({e["id"] for e in mine}) == len(mine) == 60


def test_a_finished_broadcast_is_announced_once_signed_with_its_counts(api, stack, fleet, hook, receiver):
    secret = hook(receiver.url, events=["broadcast.done"])
    place_id = secrets.randbelow(10**12) + 1  # this test's sessions only
    for index in range(3):
        fleet.connect(1, identity=identity_for(stack.script_id, index, place_id=place_id))
    place = {"place_id": place_id}
    answer = api.post("/broadcasts/message", json={"filter": place, "key": "echo", "data": 7})
    assert answer.status_code == 202, answer.text
    broadcast_id = answer.json()["broadcast_id"]

    events = receiver.wait_until(lambda found: any(e["type"] == "broadcast.done" for e in found))
    for delivery in receiver.deliveries:
        verify(secret, delivery)
    assert {e["type"] for e in events} == {"broadcast.done"}  # only what the webhook asked for
    done = [e for e in events if e["type"] == "broadcast.done"]
    assert len({e["id"] for e in done}) == 1
    shown = done[0]["data"]
    assert (shown["id"], shown["done"], shown["matched"]) == (broadcast_id, True, 3)
    assert shown["counts"]["processed"] == 3
    assert api.get(f"/broadcasts/{broadcast_id}").json()["broadcast"]["done"] is True


def test_another_scripts_hanging_endpoint_holds_this_scripts_events_back_at_most_one_delivery_timeout(
    stack, hook, receiver
):
    """Script B's endpoint never answers in time; script A's events keep arriving. The FIFO queue's
    group is the script, so B's failures hold back only B; A's next event can wait at most for the
    invocation its previous message shared with one of B's (one delivery timeout)."""
    hook(receiver.url, events=["session.connected"])
    other = operator_owner(stack, "hanging owner")
    hanging = start_receiver()
    hanging.hang_s = 3 * TIMEOUT_S
    ours, theirs = Fleet(stack.ws_url, stack.script_id), Fleet(stack.ws_url, other.script_id)
    path = f"/scripts/{other.script_id}/webhook"
    with stack.client(other.api_key) as owner_b:
        answer = owner_b.put(path, json={"url": hanging.url, "events": ["session.connected"]})
        assert answer.status_code == 200, answer.text
        try:
            lags = []
            for _ in range(2):
                theirs.connect(2)  # B's events, in the stream just before each of A's
                (client,) = ours.connect(1)
                connected_at = time.monotonic()
                receiver.wait_until(including(client.session_id), 30)
                lags.append(time.monotonic() - connected_at)
            assert hanging.deliveries, "B's endpoint was never tried"
            assert max(lags) < TIMEOUT_S + 5, lags
        finally:
            owner_b.delete(path)
            ours.stop()
            theirs.stop()
            hanging.stop()
