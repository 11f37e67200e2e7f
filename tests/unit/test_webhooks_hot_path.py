"""Owner events add nothing to the hot path (PROTOCOL.md section 5): a handshake, a hello, a message
answered by its client and a close send exactly the same DynamoDB requests whether or not the script has
a webhook (events come from the sessions table's stream, which DynamoDB writes itself)."""

import pytest

HOOK = {"url": "https://hooks.example.com/in"}
# DynamoDB requests per step measured on the code before owner events (the connect step's third is the
# test harness's own look-up of the new session's id), but for the hello: its session id is derived
# from the event since, so it no longer reads the connection's mapping first (2 requests then).
BEFORE = {"handshake": 3, "hello": 1, "message": 6, "close": 2}


@pytest.fixture
def count_requests(sent_requests):
    """Start recording the DynamoDB requests the (current) store's client sends, as (operation, table)."""
    return lambda: sent_requests(lambda operation, body: (operation, body.get("TableName", "batch")))


def life_of_a_session(client, owner, connect, count_requests):
    """The DynamoDB requests of each step of one session's life: connect, hello, one message, close."""
    sent = count_requests()
    steps = {}
    session = connect(owner.script_id)
    steps["handshake"], sent[:] = list(sent), []
    session.send_frame({"action": "hello"})
    steps["hello"], sent[:] = list(sent), []
    answer = client.post(
        f"/sessions/{session.session_id}/message", headers=owner.headers, json={"key": "echo"}
    )
    assert answer.json()["processed"] is True
    steps["message"], sent[:] = list(sent), []
    session.hang_up()
    steps["close"] = list(sent)
    return steps


def test_a_webhook_changes_no_request_of_a_handshake_a_hello_a_message_or_a_close(
    client, make_owner, connect, count_requests
):
    plain = make_owner("script-plain")
    hooked = make_owner("script-hooked")
    assert (
        client.request(
            "PUT", "/scripts/script-hooked/webhook", headers=hooked.headers, json_body=HOOK
        ).status_code
        == 200
    )
    life_of_a_session(client, plain, connect, count_requests)  # warm: keys cached as on a warm container

    without = life_of_a_session(client, plain, connect, count_requests)
    with_hook = life_of_a_session(client, hooked, connect, count_requests)

    assert with_hook == without
    # What the same steps sent before owner events existed (this test's steps run on that code).
    assert {step: len(requests) for step, requests in without.items()} == BEFORE
