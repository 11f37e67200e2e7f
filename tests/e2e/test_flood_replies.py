"""Over real sockets: a client that answers many messages at once is not a flooder (PROTOCOL.md
section 2: a reply the server accepted does not count), however the local stack's threads interleave
its frames."""

import time

from websockets.exceptions import ConnectionClosed

COUNT = 45  # more than the 30 frames a connection may send at once
ROUNDS = 3  # each on a connection of its own: how the frames interleave differs from run to run


def answer_all_at_once(api, client) -> None:
    session_id = client.hello()["id"]
    ids = []
    for n in range(COUNT):
        body = {"key": "echo", "data": n, "wait": False, "timeout": 60}
        sent = api.post(f"/sessions/{session_id}/message", json=body)
        assert sent.status_code == 202, sent.text
        ids.append(sent.json()["message_id"])
    frames = [client.receive_type("message") for _ in ids]
    assert sorted(frame["data"] for frame in frames) == list(range(COUNT))

    for frame in frames:  # back to back, awaiting nothing
        client.send({"action": "reply", "id": frame["id"], "processed": True, "response": frame["data"]})

    received = []  # what the client gets afterwards, until it has been quiet for 1 s
    try:
        while True:
            received.append(client.receive(timeout=1))
    except (TimeoutError, ConnectionClosed):
        pass
    assert received == []  # no "too many frames" disconnect, and no error: every reply counted
    for n, message_id in enumerate(ids):
        answer = api.get(f"/messages/{message_id}", params={"wait": "5"})
        assert answer.json() == {"success": True, "done": True, "processed": True, "response": n}


def test_answering_45_messages_at_once_is_not_a_flood(api, raw_client):
    started = time.monotonic()
    for _ in range(ROUNDS):
        answer_all_at_once(api, raw_client())
    assert time.monotonic() - started < 90
