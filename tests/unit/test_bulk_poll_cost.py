"""What a bulk message costs DynamoDB while it waits (docs/design.md, "Delivery"): each
round reads only what was answered since the last one (a Query of the call's answered messages), not
every pending message again; a BatchGetItem sweep of what is still pending runs once a second at most,
to learn of clients that went away. Requests are counted as tests/unit/test_no_cap.py counts them."""

import json
import threading
from collections import Counter

from session_relay import store
from session_relay.contract import parse_identity
from support.clients import silent

SIZE = 100


def bulk_message(client, owner, session_ids, **body):
    return client.post(
        "/sessions/message", headers=owner.headers, json={"session_ids": session_ids, "key": "k", **body}
    )


def make_sessions(relay_store, gateway, script_id, count):
    """Sessions written straight to the store (faster than handshakes), each with a simulated client."""
    identity = parse_identity(
        {"script_id": script_id, "user_key": "u", "job_id": "j", "roblox_id": "1", "place_id": "2"}
    )
    clients = []
    for index in range(count):
        connection_id = f"poll-connection-{index:04d}="
        session = relay_store.sessions.create(f"poll-session-{index:04d}", identity, connection_id)
        clients.append(gateway.connect(connection_id, session.id))
    return clients


def count_requests():
    """Every DynamoDB request the store's client sends from now on, by operation."""
    sent, lock = Counter(), threading.Lock()

    def count(request, event_name, **_):
        operation = event_name.rsplit(".", 1)[-1]
        index = json.loads(request.body or b"{}").get("IndexName")
        with lock:
            sent[f"{operation}({index})" if index else operation] += 1

    store.get_store().client.meta.events.register_first("before-send.dynamodb", count)
    return sent


def test_a_silent_bulk_reads_only_what_changed_while_it_waits(
    client, owner, relay_store, gateway, virtual_clock
):
    clients = make_sessions(relay_store, gateway, owner.script_id, SIZE)
    for simulated in clients:
        simulated.behaviour = silent
    sent = count_requests()

    answer = bulk_message(client, owner, [c.session_id for c in clients], timeout=10)

    assert answer.status_code == 200
    assert {e["reason"] for e in answer.json()["responses"]} == {"client never responded"}
    # Every round (3 ms growing to 250 ms: about 49 in 10 s) used to read all 100 pending messages,
    # 1 BatchGetItem call a round (49 in all). Now: the sessions' lookup (1) and a sweep a second.
    assert sent["BatchGetItem"] <= 1 + 11


def test_an_answered_bulk_is_decided_from_the_answered_index(
    client, owner, relay_store, gateway, virtual_clock
):
    clients = make_sessions(relay_store, gateway, owner.script_id, SIZE)
    sent = count_requests()

    answer = bulk_message(client, owner, [c.session_id for c in clients], timeout=10)

    assert all(entry["processed"] for entry in answer.json()["responses"])
    assert sent["Query(answered)"] >= 1
    assert sent["BatchGetItem"] == 1  # only the sessions' lookup: no message was read by key


def test_while_answers_arrive_the_last_one_is_found_soon_after_it_lands(
    client, owner, relay_store, gateway, virtual_clock
):
    # Replies land from 1.0 s to 1.27 s (virtual): just after a round of the backed-off schedule
    # (3 ms growing x1.5 to 250 ms: rounds near 1.013 s, 1.263 s and 1.513 s), so without the rounds
    # that follow progress the last reply would wait until about 1.513 s.
    clients = make_sessions(relay_store, gateway, owner.script_id, 10)
    for index, simulated in enumerate(clients):
        simulated.delay_s = 1.0 + 0.03 * index
    clients[-1].delay_s = 1.27
    started = virtual_clock.now_us

    answer = bulk_message(client, owner, [c.session_id for c in clients], data=1, timeout=10)

    assert answer.status_code == 200
    assert all(entry["processed"] for entry in answer.json()["responses"])
    assert virtual_clock.since(started) <= 1.27 + 0.09  # PROGRESS_POLL_S, then x1.5 at most once


def test_no_sweep_reads_the_pending_messages_while_answers_keep_arriving(
    client, owner, relay_store, gateway, virtual_clock
):
    # One reply every 25 ms from 0.5 s to 1.975 s (virtual): every round after the first reply finds
    # answers, so the sweep due a second in never runs (under a burst it waits behind the replies).
    clients = make_sessions(relay_store, gateway, owner.script_id, 60)
    for index, simulated in enumerate(clients):
        simulated.delay_s = 0.5 + 0.025 * index
    sent = count_requests()

    answer = bulk_message(client, owner, [c.session_id for c in clients], data=1, timeout=10)

    assert all(entry["processed"] for entry in answer.json()["responses"])
    assert sent["BatchGetItem"] == 1  # only the sessions' lookup
    assert sent["Query(answered)"] >= 30  # a round every 50 ms while the answers arrive
