"""Broadcasts over real sockets against the local stack, whose broadcast worker runs on the embedded
SQS through the template's event source mapping: every session reached once, counts that add up,
response pages that cover each session once, filters, disconnects, cancel, and silent sessions
decided by the delayed message. Sized to run in seconds; 2,000 sessions are in bench/."""

import time

import pytest

from session_relay_tools.simulate import identity_for

SIZE = 200
NEVER = "client never responded"


def frames_of(client, frame_type="message"):
    return [frame for frame in client.received if frame.get("type") == frame_type]


@pytest.fixture
def crowd(fleet, place_id):
    """Connect ``count`` sessions at this test's place, all at once."""

    def connect(count, **identity):
        clients = []
        for start in range(0, count, 50):  # in waves, as a shared machine can open them
            wave = min(50, count - start)
            clients += fleet.connect(
                wave, identity=identity_for(fleet.script_id, 0, place_id=place_id, **identity)
            )
        return clients

    return connect


def wait_done(api, broadcast_id, within_s=60):
    ends = time.monotonic() + within_s
    while time.monotonic() < ends:
        answer = api.get(f"/broadcasts/{broadcast_id}", params={"wait": "5"})
        assert answer.status_code == 200, answer.text
        if answer.json()["broadcast"]["done"]:
            return answer.json()["broadcast"]
    raise AssertionError(f"broadcast {broadcast_id} not done within {within_s} s")


def pages(api, broadcast_id, limit=97):
    entries, cursor = [], None
    while True:
        params = {"limit": str(limit), **({"cursor": cursor} if cursor else {})}
        answer = api.get(f"/broadcasts/{broadcast_id}/responses", params=params)
        assert answer.status_code == 200, answer.text
        entries.extend(answer.json()["responses"])
        cursor = answer.json()["next_cursor"]
        if cursor is None:
            return entries


def start(api, action="message", **body):
    answer = api.post(f"/broadcasts/{action}", json=body)
    assert answer.status_code == 202, answer.text
    return answer.json()["broadcast_id"]


def test_a_message_broadcast_reaches_every_session_exactly_once(api, crowd, place_id):
    clients = crowd(SIZE)

    broadcast_id = start(api, filter={"place_id": place_id}, key="echo", data="hi", timeout=10)
    broadcast = wait_done(api, broadcast_id)

    assert broadcast["matched"] == SIZE
    assert broadcast["counts"]["sent"] == SIZE
    assert broadcast["counts"]["processed"] == SIZE
    assert broadcast["counts"]["pending"] == 0
    time.sleep(0.5)  # any second frame would have arrived by now
    assert [len(frames_of(c)) for c in clients] == [1] * SIZE
    entries = pages(api, broadcast_id)
    assert len(entries) == SIZE
    assert {e["session_id"] for e in entries} == {c.session_id for c in clients}
    assert all(e["response"] == "hi" for e in entries)


def test_a_filter_reaches_only_its_sessions(api, crowd, place_id):
    chosen = crowd(5, job_id="job-chosen")
    others = crowd(5, job_id="job-other")

    broadcast_id = start(api, filter={"place_id": place_id, "job_id": "job-chosen"}, key="echo")
    broadcast = wait_done(api, broadcast_id)

    assert broadcast["matched"] == 5
    assert all(len(frames_of(c)) == 1 for c in chosen)
    assert all(frames_of(c) == [] for c in others)


def test_a_disconnect_broadcast_closes_exactly_its_sessions(api, crowd, place_id):
    leaving = crowd(6, job_id="job-leaving")
    staying = crowd(3, job_id="job-staying")

    broadcast_id = start(api, "disconnect", filter={"place_id": place_id, "job_id": "job-leaving"})
    broadcast = wait_done(api, broadcast_id)

    assert broadcast["counts"] == {"disconnected": 6, "session not found": 0, "not_sent": 0, "pending": 0}
    listed = api.get("/sessions", params={"place_id": str(place_id)}).json()["sessions"]
    assert {s["id"] for s in listed} == {c.session_id for c in staying}
    assert all(len(frames_of(c, "disconnect")) == 1 for c in leaving)


def test_cancel_stops_every_later_frame(api, crowd, place_id):
    clients = crowd(SIZE)
    broadcast_id = start(api, filter={"place_id": place_id}, key="echo", timeout=5)

    answer = api.post(f"/broadcasts/{broadcast_id}/cancel")
    assert answer.status_code == 200, answer.text
    seen_at_cancel = sum(len(frames_of(c)) for c in clients)
    broadcast = wait_done(api, broadcast_id)

    time.sleep(0.5)
    assert sum(len(frames_of(c)) for c in clients) == seen_at_cancel == broadcast["counts"]["sent"]
    assert broadcast["cancelled"] is True
    counts = broadcast["counts"]
    decided = counts["processed"] + sum(counts["not_processed"].values()) + counts["not_sent"]
    assert decided == broadcast["matched"]


def test_silent_sessions_are_decided_by_the_delayed_message(api, crowd, place_id):
    clients = crowd(20)

    broadcast_id = start(api, filter={"place_id": place_id}, key="sleep", data=30, timeout=2)
    broadcast = wait_done(api, broadcast_id, within_s=30)

    assert broadcast["counts"]["not_processed"][NEVER] == 20
    assert all(len(frames_of(c)) == 1 for c in clients)
    assert {e["reason"] for e in pages(api, broadcast_id)} == {NEVER}
