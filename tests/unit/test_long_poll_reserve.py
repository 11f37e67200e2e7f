"""A long poll of a batch whose deadline falls within the wait keeps back the time that withdrawing
what is still pending takes, as a message call's wait does: its answer is due before API Gateway's
integration timeout however many messages it withdraws (virtual seconds: the timing rule itself)."""

from session_relay.contract import REASON_NO_RESPONSE
from session_relay.service.deadlines import GATEWAY_MARGIN_S, reserve_s
from support.environment import clear_caches

SILENT = 150
INTEGRATION_TIMEOUT_S = 10  # the deployment's maximum wait is then 8 s


def _silent_batch(client, owner, connect, timeout_s):
    sessions = [connect(owner.script_id) for _ in range(SILENT)]
    for session in sessions:
        session.behaviour = lambda frame: None
    body = {"session_ids": [s.session_id for s in sessions], "key": "k", "timeout": timeout_s, "wait": False}
    sent = client.post("/sessions/message", headers=owner.headers, json=body)
    assert sent.status_code == 202, sent.text
    return sent.json()["batch_id"]


def test_a_long_poll_whose_deadline_falls_in_the_wait_keeps_back_the_withdraws_time(
    client, owner, connect, monkeypatch, virtual_clock
):
    monkeypatch.setenv("INTEGRATION_TIMEOUT_MS", str(INTEGRATION_TIMEOUT_S * 1000))
    clear_caches()
    answer_by_s = INTEGRATION_TIMEOUT_S - GATEWAY_MARGIN_S
    # Due after the reserve for 150 pending messages starts, before the 8 s wait would end.
    deadline_s = answer_by_s - reserve_s(SILENT) + 0.5
    batch_id = _silent_batch(client, owner, connect, deadline_s)

    started = virtual_clock.now_us
    answer = client.get(f"/batches/{batch_id}", headers=owner.headers, params={"wait": "8"})
    long_poll_s = virtual_clock.since(started)

    assert answer.status_code == 200, answer.text
    assert answer.json()["done"] is False  # it ended before the deadline, leaving the withdraws time
    assert long_poll_s <= answer_by_s - reserve_s(SILENT) + 0.001


def test_the_next_read_after_the_deadline_decides_every_message(
    client, owner, connect, monkeypatch, virtual_clock
):
    monkeypatch.setenv("INTEGRATION_TIMEOUT_MS", str(INTEGRATION_TIMEOUT_S * 1000))
    clear_caches()
    batch_id = _silent_batch(client, owner, connect, 3)

    virtual_clock.sleep(3.1)
    answer = client.get(f"/batches/{batch_id}", headers=owner.headers, params={"wait": "8"}).json()

    assert answer["done"] is True
    assert {entry["reason"] for entry in answer["responses"]} == {REASON_NO_RESPONSE}
    assert len(answer["responses"]) == SILENT


def test_a_long_poll_whose_deadline_is_past_the_wait_keeps_nothing_back(
    client, owner, connect, monkeypatch, virtual_clock
):
    monkeypatch.setenv("INTEGRATION_TIMEOUT_MS", str(INTEGRATION_TIMEOUT_S * 1000))
    clear_caches()
    batch_id = _silent_batch(client, owner, connect, 30)

    started = virtual_clock.now_us
    answer = client.get(f"/batches/{batch_id}", headers=owner.headers, params={"wait": "8"}).json()
    long_poll_s = virtual_clock.since(started)

    assert answer["done"] is False
    assert long_poll_s >= 8 - 0.001  # the whole wait: nothing is withdrawn within it
