"""Over real sockets: a client declares its functions (the ``functions`` frame), owners filter by
them, and a message whose key a session did not declare gets no frame; a ban closes the matching
sessions of its script and refuses their next handshakes (403) until it is lifted."""

import secrets
from urllib.parse import urlencode

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect as open_socket

from session_relay_tools.simulate import RawClient, raw_identity


def opened(local_stack, **overrides):
    return RawClient.open(local_stack.ws_url, urlencode(raw_identity(local_stack.script_id, **overrides)))


def handshake_refusal(local_stack, **overrides):
    """The status of a handshake that must be refused."""
    query = urlencode(raw_identity(local_stack.script_id, **overrides))
    with pytest.raises(InvalidStatus) as refused:
        open_socket(f"{local_stack.ws_url}/?{query}", open_timeout=10)
    return refused.value.response.status_code


def unique() -> str:
    return secrets.token_hex(6)


@pytest.fixture
def clients():
    opened_clients = []
    yield opened_clients
    for client in opened_clients:
        client.close()


def test_declared_functions_filter_listings_and_refuse_undeclared_keys(api, local_stack, clients):
    job = unique()
    kicker, talker = opened(local_stack, job_id=job), opened(local_stack, job_id=job)
    clients.extend([kicker, talker])
    kicker.send({"action": "functions", "names": ["kick", "announce"]})
    assert kicker.receive_type("functions") == {"type": "functions", "count": 2}
    talker.send({"action": "functions", "names": ["announce"]})
    assert talker.receive_type("functions") == {"type": "functions", "count": 1}
    talker.send({"action": "functions", "names": ["a", "a"]})
    assert talker.receive_type("error")["error"].endswith('("a" appears more than once)')
    kicker_id, talker_id = kicker.hello()["id"], talker.hello()["id"]

    listed = api.get("/sessions", params={"job_id": job, "function": "kick"}).json()["sessions"]
    assert [(s["id"], s["functions"]) for s in listed] == [(kicker_id, ["announce", "kick"])]

    answer = api.post(f"/sessions/{talker_id}/message", json={"key": "kick", "timeout": 10})
    assert answer.json() == {"success": True, "processed": False, "reason": "function doesnt exist"}
    bulk = api.post(
        "/sessions/message", json={"filter": {"job_id": job}, "key": "kick", "data": 1, "wait": False}
    ).json()
    message = kicker.receive_type("message")
    kicker.send({"action": "reply", "id": message["id"], "processed": True, "response": "kicked"})
    outcome = api.get(f"/batches/{bulk['batch_id']}", params={"wait": "10"}).json()
    by_session = {entry["session_id"]: entry for entry in outcome["responses"]}
    assert by_session[kicker_id]["response"] == "kicked"
    assert by_session[talker_id]["reason"] == "function doesnt exist"
    assert talker.nothing_within(0.5)  # no message frame ever reached it


def test_a_ban_closes_the_matching_sessions_and_refuses_them_until_lifted(api, local_stack, clients):
    user, roblox_id = "banned-" + unique(), 1 + secrets.randbelow(2**40)
    target, other = opened(local_stack, user_key=user), opened(local_stack, user_key="kept-" + unique())
    clients.extend([target, other])
    target_id = target.hello()["id"]

    answer = api.post("/bans", json={"script_id": local_stack.script_id, "user_key": user, "reason": "e2e"})

    assert answer.status_code == 201, answer.text
    assert answer.json()["disconnected"] == [target_id]
    assert target.receive_type("disconnect") == {"type": "disconnect", "reason": "banned"}
    assert other.hello()["user_key"].startswith("kept-")  # untouched and still open
    assert handshake_refusal(local_stack, user_key=user) == 403
    by_roblox = api.post("/bans", json={"script_id": local_stack.script_id, "roblox_id": roblox_id}).json()
    assert handshake_refusal(local_stack, user_key="alt-" + unique(), roblox_id=roblox_id) == 403

    ban_ids = {ban["id"] for ban in api.get("/bans", params={"limit": 1000}).json()["bans"]}
    assert {answer.json()["ban"]["id"], by_roblox["ban"]["id"]} <= ban_ids
    for ban in (answer.json()["ban"], by_roblox["ban"]):
        assert api.delete(f"/bans/{ban['id']}").json() == {"success": True}
    again = opened(local_stack, user_key=user, roblox_id=roblox_id)
    clients.append(again)
    assert again.hello()["user_key"] == user
    assert api.delete(f"/bans/{by_roblox['ban']['id']}").status_code == 404
