"""The Luau client against the local stack's declared functions and bans: what the owner sees of its
declarations, and a ban that ends the session for good (no reconnect, and a 403 for the next client)."""

from luau.test_luau_client_e2e import eventually


def test_the_session_shows_the_functions_the_client_registered(connect_relay):
    relay = connect_relay()
    session_id = relay.session_id
    assert relay.get_session(session_id).json()["session"]["functions"] == ["echo"]

    relay.exec('session:register("teleport", function() return "moved" end) session:unregister("echo")')
    assert relay.get_session(session_id).json()["session"]["functions"] == ["teleport"]
    listed = relay.rest("GET", "/sessions", params={"function": "teleport", "user_key": relay.user_key})
    assert [session["id"] for session in listed.json()["sessions"]] == [session_id]
    # Unregistered: the server answers for the client, without a frame.
    assert relay.message("echo", 1)["reason"] == "function doesnt exist"
    assert relay.message("teleport")["response"] == "moved"
    assert not [frame for frame in relay.harness.frames_received() if frame.get("key") == "echo"]


def test_a_ban_ends_the_session_for_good_and_the_next_handshake_is_refused(connect_relay, local_stack):
    relay = connect_relay()
    session_id = relay.session_id
    body = {"script_id": local_stack.script_id, "user_key": relay.user_key, "reason": "test"}
    made = relay.rest("POST", "/bans", json=body)
    assert made.status_code == 201, made.text
    assert made.json()["disconnected"] == [session_id]

    eventually(relay, lambda: len(relay.events()) >= 2, "the disconnected event")
    assert relay.events()[1] == ["disconnected", "banned", False, session_id]
    relay.harness.advance(600)
    relay.harness.settle(0.3)
    assert len(relay.harness.sockets) == 1  # a ban's disconnect frame is final

    again = connect_relay(wait=False, user_key=relay.user_key)
    eventually(again, lambda: again.harness.eval("return session.closed"), "the banned client to give up")
    assert "403" in again.harness.eval("return session.last_error")
    again.harness.advance(600)
    again.harness.settle(0.3)
    assert len(again.harness.sockets) == 1  # refused once, never retried
    assert relay.rest("DELETE", f"/bans/{made.json()['ban']['id']}").status_code == 200
