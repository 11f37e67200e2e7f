"""A bulk message whose posts exceed the account's request rate still answers every session with its
function's response: API Gateway throttles the posts beyond the rate (10,000 a second with a burst of
5,000 per account, posts to connections included:
https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html), the gateway retries them until
the call's deadline, and a throttled post is never taken for a gone session. Shown on a stack whose
account rate is 50 a second (a burst of 25), over real sockets."""

import time

from session_relay_tools.local.process import start_stack, stop_stack
from session_relay_tools.simulate import Fleet

SESSIONS = 100
REQUEST_RATE = 50


def test_a_bulk_message_beyond_the_request_rate_answers_every_session():
    stack = start_stack({"SESSION_RELAY_REQUEST_RATE": str(REQUEST_RATE)})
    fleet = Fleet(stack.ws_url, stack.script_id)
    try:
        clients = []
        for _ in range(SESSIONS // 10):  # each hello is answered by a post: ten at a time
            clients += fleet.connect(10)
        ids = [client.session_id for client in clients]
        time.sleep(1)  # the bucket refills to its burst: the bulk call's posts start from the same place
        with stack.client(timeout=60) as api:
            started = time.monotonic()
            answer = api.post(
                "/sessions/message", json={"session_ids": ids, "key": "echo", "data": "all", "timeout": 20}
            )
            took_s = time.monotonic() - started
    finally:
        fleet.stop()
        stop_stack(stack)

    assert answer.status_code == 200, answer.text
    responses = answer.json()["responses"]
    assert [entry["session_id"] for entry in responses] == ids
    assert [entry for entry in responses if entry.get("reason") == "session not found"] == []
    assert responses == [{"session_id": sid, "processed": True, "response": "all"} for sid in ids]
    # 100 posts and the call itself through a bucket of 25 refilled at 50 a second: some posts waited
    # for tokens (over a second and a half), so the rate was in force and the retries carried them.
    assert took_s > (SESSIONS + 1 - REQUEST_RATE // 2) / REQUEST_RATE * 0.9
