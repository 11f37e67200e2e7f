"""Broadcasts (PROTOCOL.md, "Extension: broadcasts"): the routes through the REST function, the work
through the real broadcast worker fed by an in-memory queue (tests/support/broadcasts.py), simulated
clients behind the fake Management API, on a virtual clock."""

import dataclasses
import threading

import pytest
from session_relay.clock import now_ms
from session_relay.service import wiring
from session_relay.service.broadcasts_chunks import Pacer
from support.broadcasts import Driver, MemoryQueue, worker_for
from support.clients import silent
from support.environment import clear_caches

UNKNOWN = "0" * 32


@pytest.fixture
def queue(virtual_clock, monkeypatch):
    memory = MemoryQueue(virtual_clock)
    monkeypatch.setattr(wiring, "get_queue", lambda: memory)
    return memory


@pytest.fixture
def driver(gateway, virtual_clock, queue):
    return Driver(worker_for(gateway, virtual_clock, queue), queue, virtual_clock, gateway)


def start(client, owner, action="message", **body):
    fields = {"filter": {}, "key": "echo", "data": {"n": 1}, "timeout": 5} if action == "message" else {}
    fields.update(body)
    answer = client.post(f"/broadcasts/{action}", headers=owner.headers, json=fields)
    assert answer.status_code == 202, answer.text
    assert set(answer.json()) == {"success", "broadcast_id"}
    return answer.json()["broadcast_id"]


def shown(client, owner, broadcast_id):
    answer = client.get(f"/broadcasts/{broadcast_id}", headers=owner.headers)
    assert answer.status_code == 200, answer.text
    return answer.json()["broadcast"]


def all_responses(client, owner, broadcast_id, limit=7):
    entries, cursor = [], None
    for _ in range(100):
        params = {"limit": str(limit), **({"cursor": cursor} if cursor else {})}
        page = client.get(f"/broadcasts/{broadcast_id}/responses", headers=owner.headers, params=params)
        assert page.status_code == 200, page.text
        entries.extend(page.json()["responses"])
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return entries
    raise AssertionError("the pages never ended")


def chunks_of(driver, size):
    """The worker's chunk size from now on."""
    settings = dataclasses.replace(driver.worker.settings, broadcast_chunk_size=size)
    driver.worker.settings = driver.worker.sender.settings = settings


def messages_received(client_):
    return client_.received_of_type("message")


def test_a_message_broadcast_reaches_every_session_once_and_the_counts_add_up(client, owner, connect, driver):
    chunks_of(driver, 4)
    sessions = [connect(owner.script_id) for _ in range(10)]
    broadcast_id = start(client, owner)
    assert shown(client, owner, broadcast_id)["matched"] is None  # nothing planned yet

    driver.run()

    for session in sessions:
        frames = messages_received(session)
        assert len(frames) == 1
        assert frames[0]["key"] == "echo"
        assert frames[0]["data"] == {"n": 1}
    broadcast = shown(client, owner, broadcast_id)
    assert broadcast["done"] is True
    assert broadcast["matched"] == 10
    assert broadcast["cancelled"] is False
    counts = broadcast["counts"]
    assert counts["sent"] == 10
    assert counts["processed"] == 10
    assert counts["pending"] == 0
    assert set(counts["not_processed"].values()) == {0}
    assert counts["not_sent"] == 0
    entries = all_responses(client, owner, broadcast_id, limit=3)
    assert sorted(e["session_id"] for e in entries) == sorted(s.session_id for s in sessions)
    assert all(e["processed"] is True and e["response"] == {"n": 1} for e in entries)


def test_a_retried_chunk_sends_no_second_frame(client, owner, connect, driver, queue):
    sessions = [connect(owner.script_id) for _ in range(3)]
    broadcast_id = start(client, owner)
    driver.deliver(queue.messages[0])  # planning: one chunk (and its finalizer)
    chunk = next(m for m in queue.messages if m.body["k"] == "chunk")
    queue.send(chunk.body)  # SQS delivers at least once: the same chunk twice

    driver.run()

    assert [len(messages_received(s)) for s in sessions] == [1, 1, 1]
    broadcast = shown(client, owner, broadcast_id)
    assert broadcast["counts"]["processed"] == 3
    assert broadcast["counts"]["pending"] == 0
    assert len(all_responses(client, owner, broadcast_id)) == 3


def test_silent_sessions_are_decided_by_the_delayed_message_at_their_deadline(
    client, owner, connect, driver, queue, virtual_clock
):
    quiet = [connect(owner.script_id) for _ in range(2)]
    for session in quiet:
        session.behaviour = silent
    talker = connect(owner.script_id)
    broadcast_id = start(client, owner, timeout=2)
    started = virtual_clock.epoch_s()

    driver.run()

    assert "due" in driver.handled
    assert virtual_clock.epoch_s() - started >= 2  # decided at the deadline, by the queue's delay
    counts = shown(client, owner, broadcast_id)["counts"]
    assert counts["processed"] == 1
    assert counts["not_processed"]["client never responded"] == 2
    reasons = {e["session_id"]: e.get("reason") for e in all_responses(client, owner, broadcast_id)}
    assert reasons == {
        quiet[0].session_id: "client never responded",
        quiet[1].session_id: "client never responded",
        talker.session_id: None,
    }


def test_a_filter_reaches_only_its_sessions_and_later_sessions_are_not_targeted(
    client, make_owner, connect, driver, virtual_clock
):
    owner = make_owner("script-a", "script-b")
    a = [connect("script-a") for _ in range(2)]
    b = connect("script-b")
    broadcast_id = start(client, owner, filter={"script_id": "script-a"})
    virtual_clock.sleep(0.01)
    late = connect("script-a")

    driver.run()

    assert [len(messages_received(s)) for s in a] == [1, 1]
    assert messages_received(b) == []
    assert messages_received(late) == []
    assert shown(client, owner, broadcast_id)["matched"] == 2


def test_a_disconnect_broadcast_closes_exactly_its_sessions(
    client, owner, make_owner, connect, driver, gateway
):
    mine = [connect(owner.script_id) for _ in range(3)]
    other_owner = make_owner("script-other")
    theirs = connect("script-other")
    broadcast_id = start(client, owner, action="disconnect", filter={})

    driver.run()

    assert sorted(gateway.closed) == sorted(s.connection_id for s in mine)
    assert theirs.connection_id not in gateway.closed
    broadcast = shown(client, owner, broadcast_id)
    assert broadcast["action"] == "disconnect"
    assert "key" not in broadcast
    assert broadcast["counts"] == {"disconnected": 3, "session not found": 0, "not_sent": 0, "pending": 0}
    assert client.get(f"/broadcasts/{broadcast_id}", headers=other_owner.headers).status_code == 404


def test_cancel_stops_every_later_frame(client, owner, connect, driver, queue):
    chunks_of(driver, 2)
    sessions = [connect(owner.script_id) for _ in range(6)]
    broadcast_id = start(client, owner)
    driver.deliver(queue.messages[0])  # planned: three chunks
    first = next(m for m in queue.messages if m.body["k"] == "chunk")
    driver.deliver(first)
    answer = client.post(f"/broadcasts/{broadcast_id}/cancel", headers=owner.headers)
    assert answer.status_code == 200
    assert answer.json() == {"success": True}

    driver.run()

    assert sum(len(messages_received(s)) for s in sessions) == 2
    broadcast = shown(client, owner, broadcast_id)
    assert broadcast["cancelled"] is True
    assert broadcast["done"] is True
    assert broadcast["counts"]["not_sent"] == 4
    assert broadcast["counts"]["processed"] == 2


def test_a_chunk_that_fails_every_time_goes_dead_and_the_broadcast_still_ends(
    client, owner, connect, driver, queue, monkeypatch
):
    sessions = [connect(owner.script_id) for _ in range(3)]
    broadcast_id = start(client, owner)

    def broken(*_):
        raise RuntimeError("this chunk always fails")

    monkeypatch.setattr(driver.worker.sender, "send", broken)
    driver.run()
    assert [m.body["k"] for m in queue.dead] == ["chunk"]
    assert shown(client, owner, broadcast_id)["done"] is False

    driver.run(finalizers=True)  # 900 s later, the chunk's finalizer

    broadcast = shown(client, owner, broadcast_id)
    assert broadcast["done"] is True
    assert broadcast["matched"] == 3
    assert broadcast["counts"]["not_processed"]["client never responded"] == 3
    assert all(messages_received(s) == [] for s in sessions)


def test_a_key_runs_at_most_max_broadcasts_at_once(client, owner, driver, monkeypatch, failure):
    monkeypatch.setenv("MAX_BROADCASTS_PER_KEY", "2")
    clear_caches()
    for _ in range(2):
        start(client, owner)
    answer = client.post("/broadcasts/message", headers=owner.headers, json={"filter": {}, "key": "k"})
    assert "broadcasts" in failure(answer, 429)
    assert answer.headers["retry-after"].isdigit()

    driver.run()  # both end (no sessions): their slots are free again
    start(client, owner)


def test_another_keys_unknown_or_malformed_ids_are_the_same_404(client, owner, make_owner, driver):
    broadcast_id = start(client, owner)
    stranger = make_owner("script-else")
    answers = [
        client.get(f"/broadcasts/{broadcast_id}", headers=stranger.headers),
        client.get(f"/broadcasts/{UNKNOWN}", headers=owner.headers),
        client.get("/broadcasts/not-an-id", headers=owner.headers),
        client.post(f"/broadcasts/{broadcast_id}/cancel", headers=stranger.headers),
        client.get(f"/broadcasts/{UNKNOWN}/responses", headers=owner.headers),
    ]
    assert {a.status_code for a in answers} == {404}
    assert len({a.text for a in answers}) == 1


def test_an_idempotency_key_starts_one_broadcast(client, owner, connect, driver, queue):
    session = connect(owner.script_id)
    headers = {**owner.headers, "Idempotency-Key": "once"}
    body = {"filter": {}, "key": "echo"}
    first = client.post("/broadcasts/message", headers=headers, json=body)
    again = client.post("/broadcasts/message", headers=headers, json=body)
    assert first.status_code == again.status_code == 202
    assert first.json() == again.json()
    other = client.post("/broadcasts/message", headers=headers, json={**body, "key": "other"})
    assert other.status_code == 422

    driver.run()
    assert len(messages_received(session)) == 1
    listed = client.get("/broadcasts", headers=owner.headers).json()
    assert [b["id"] for b in listed["broadcasts"]] == [first.json()["broadcast_id"]]


def test_bad_bodies_and_queries_are_refused_in_the_contract_words(client, owner, driver, queue, failure):
    cases = [
        ("/broadcasts/message", {"key": "k"}),  # no filter
        ("/broadcasts/message", {"filter": {"place_id": "1"}, "key": "k"}),
        ("/broadcasts/message", {"filter": {}, "key": "k", "timeout": 61}),
        ("/broadcasts/disconnect", {"filter": {}, "key": "k"}),
        ("/broadcasts/message", {"filter": None, "key": "k"}),
    ]
    for path, body in cases:
        assert failure(client.post(path, headers=owner.headers, json=body), 422)
    assert "filter.place_id" in failure(
        client.post(cases[1][0], headers=owner.headers, json=cases[1][1]), 422
    )
    assert failure(client.get("/broadcasts", headers=owner.headers, params={"limit": "0"}), 422)
    assert failure(client.get("/broadcasts", headers=owner.headers, params={"cursor": "x!"}), 422)
    assert failure(client.get("/broadcasts", headers=owner.headers, params={"bogus": "1"}), 422)
    big = {"filter": {}, "key": "k", "data": "x" * 40_000}
    assert failure(client.post("/broadcasts/message", headers=owner.headers, json=big), 413)
    assert queue.sent == []  # nothing was started


def test_a_throttled_post_is_posted_again_later_and_never_counted_a_failure(
    client, owner, connect, driver, queue, gateway
):
    sessions = [connect(owner.script_id) for _ in range(3)]
    throttled = sessions[1]
    broadcast_id = start(client, owner)
    driver.deliver(queue.messages[0])  # planning
    gateway.failing.add(throttled.connection_id)  # the gateway refuses its post, retries spent
    driver.deliver(next(m for m in queue.messages if m.body["k"] == "chunk"))
    assert messages_received(throttled) == []
    assert shown(client, owner, broadcast_id)["counts"]["pending"] == 3
    gateway.failing.clear()

    driver.run()

    assert [len(messages_received(s)) for s in sessions] == [1, 1, 1]
    counts = shown(client, owner, broadcast_id)["counts"]
    assert counts["sent"] == 3
    assert counts["processed"] == 3
    assert len(all_responses(client, owner, broadcast_id)) == 3


def test_posts_keep_to_the_workers_share_of_the_post_rate(
    client, owner, connect, driver, queue, virtual_clock
):
    settings = dataclasses.replace(
        driver.worker.settings, broadcast_post_rate=100, broadcast_concurrency=10, broadcast_chunk_size=20
    )
    driver.worker.settings = driver.worker.sender.settings = settings
    for _ in range(20):
        connect(owner.script_id)
    posted_at = []
    post = driver.gateway.post

    def timed(connection_id, frame, deadline_ms=None):
        posted_at.append(virtual_clock.epoch_s())
        return post(connection_id, frame, deadline_ms)

    driver.worker.core.gateway = timed_gateway = type("Timed", (), {"post": staticmethod(timed)})()
    assert timed_gateway.post is timed
    start(client, owner)

    driver.run()

    assert len(posted_at) == 20
    for number, at in enumerate(posted_at):  # 100 a second over 10 workers: 10 a second each
        assert at - posted_at[0] >= number / 10 - 1e-6


def test_answered_chunks_are_decided_long_before_their_deadline(
    client, owner, connect, driver, virtual_clock
):
    for _ in range(3):
        connect(owner.script_id)
    broadcast_id = start(client, owner, timeout=60)
    started = virtual_clock.epoch_s()

    driver.run()

    assert shown(client, owner, broadcast_id)["done"] is True
    assert virtual_clock.epoch_s() - started < 5  # virtual seconds: the first look, not the deadline


def test_response_pages_read_while_the_broadcast_runs_cover_each_session_once(
    client, owner, connect, driver, queue
):
    chunks_of(driver, 2)
    sessions = [connect(owner.script_id) for _ in range(6)]
    broadcast_id = start(client, owner)
    driver.deliver(queue.messages[0])  # planned: three chunks of two
    driver.deliver(next(m for m in queue.messages if m.body["k"] == "chunk" and m.body["n"] == 1))
    driver.gateway.settle()
    driver.deliver(next(m for m in queue.messages if m.body["k"] == "due"))  # chunk 1 decided, not chunk 0

    url = f"/broadcasts/{broadcast_id}/responses"
    early = client.get(url, headers=owner.headers, params={"limit": "5"}).json()
    assert early["responses"] == []  # chunk 0 is not decided: nothing after it is shown yet
    assert early["next_cursor"] is not None

    driver.run()

    seen, cursor = [], early["next_cursor"]
    while cursor is not None:
        page = client.get(url, headers=owner.headers, params={"limit": "1", "cursor": cursor}).json()
        seen += [entry["session_id"] for entry in page["responses"]]
        cursor = page["next_cursor"]
    assert sorted(seen) == sorted(s.session_id for s in sessions)


def test_a_cancel_answers_only_once_the_groups_already_posting_have_ended(client, owner, relay_store, driver):
    broadcast_id = start(client, owner)
    # A worker's group that read the flag before the cancel and is still posting.
    relay_store.broadcasts.posting(broadcast_id, "in-flight", now_ms() + 10_000)
    answered = threading.Event()

    def cancel():
        answer = client.post(f"/broadcasts/{broadcast_id}/cancel", headers=owner.headers)
        assert answer.status_code == 200
        answered.set()

    canceller = threading.Thread(target=cancel)
    canceller.start()
    assert not answered.wait(0.5)  # held while that group may still post
    assert shown(client, owner, broadcast_id)["cancelled"] is True  # the flag is set already
    relay_store.broadcasts.posting(broadcast_id, "in-flight", None)  # the group ends
    canceller.join(timeout=10)
    assert answered.is_set()


@pytest.mark.parametrize(
    ("rate", "workers"), [(100, 10), (1000, 10), (10_000, 2), (10_000, 30), (10, 1000), (100, 100), (1, 2)]
)
def test_every_worker_together_announces_at_most_250_groups_a_second(rate, workers):
    pacer = Pacer(rate / workers, clock=lambda: 0.0, sleep=lambda _: None, workers=workers)
    groups_per_s = workers * (rate / workers) / pacer.group
    assert 1 <= pacer.group <= 50
    assert groups_per_s <= 250


def test_the_sample_events_start_and_read_a_broadcast(client, owner, events, driver):
    started = client.invoke(
        events("rest/broadcast_message", api_key=owner.api_key, script_id=owner.script_id)
    )
    assert started.status_code == 202, started.text
    broadcast_id = started.json()["broadcast_id"]
    driver.run()

    read = client.invoke(events("rest/get_broadcast", api_key=owner.api_key, broadcast_id=broadcast_id))
    assert read.status_code == 200, read.text
    assert read.json()["broadcast"]["key"] == "announce"
    assert read.json()["broadcast"]["done"] is True
