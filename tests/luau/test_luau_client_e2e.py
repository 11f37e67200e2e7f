"""The Luau client in a real Luau VM against the local stack: every reason, the data, the connection's life.

Times in Luau follow the harness's virtual clock: ``advance()`` jumps it, so pings, the 2-hour
rotation and reconnect backoff are tested without waiting for them.
"""

import itertools
import re
import socket
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from luau.conftest import LOADSTRING_URL, Relay
from luau.harness import FRAME_LIMIT_BYTES

ERRORED = "function errored, message: "


def answered(response: Any) -> dict:
    return {"success": True, "processed": True, "response": response}


def refused(reason: str) -> dict:
    return {"success": True, "processed": False, "reason": reason}


def connection_id(local_stack, session_id: str) -> str:
    item = local_stack.dynamodb().get_item(
        TableName=local_stack.table("SessionsTable"), Key={"id": {"S": session_id}}, ConsistentRead=True
    )["Item"]
    return item["connection_id"]["S"]


def drop_connection(local_stack, relay: Relay, session_id: str) -> None:
    """Close the client's connection from the server side, without a disconnect frame (a network drop)."""
    management = local_stack.ws_url.replace("ws://", "http://")
    target = f"{management}/@connections/{quote(connection_id(local_stack, session_id), safe='')}"
    response = relay.harness.run(lambda: httpx.delete(target, timeout=10))
    assert response.status_code in (200, 204), response.text


def eventually(relay: Relay, check, what: str, timeout: float = 15) -> Any:
    return relay.harness.wait_until(check, timeout, what=what)


# ---------------------------------------------------------------- the four reasons and the data


def test_echo_round_trips_nested_unicode_data(connect_relay):
    relay = connect_relay()
    data = {
        "text": 'héllo 世界 🎉 "quoted" \\ back\nslash\t\u0001',
        "numbers": [0, -1, 2.5, 1e-7, 123456789012, 2**53 - 1, -(2**53 - 1)],
        "flags": [True, False],
        "nested": {"deep": {"deeper": [[], [1, [2, [3]]], {"k": "v"}]}},
        "empty_array": [],
    }
    assert relay.message("echo", data) == answered(data)
    assert relay.message("echo", "just text") == answered("just text")
    assert relay.message("echo", 42) == answered(42)


def test_luau_cannot_tell_an_empty_object_from_an_empty_array(connect_relay):
    relay = connect_relay()
    assert relay.message("echo", {"object": {}, "array": []}) == answered({"object": [], "array": []})


def test_null_data_reaches_the_function_as_nil_and_nothing_returned_is_null(connect_relay):
    relay = connect_relay()
    relay.exec(
        """
        session:register("kind", function(data) return typeof(data) end)
        session:register("nothing", function() end)
        session:register("explicit_nil", function() return nil end)
        """
    )
    response = relay.rest("POST", f"/sessions/{relay.session_id}/message", json={"key": "kind", "data": None})
    assert response.json() == answered("nil")
    assert relay.message("kind") == answered("table")  # absent data is []
    assert relay.message("nothing") == answered(None)
    assert relay.message("explicit_nil") == answered(None)
    replies = [frame for frame in relay.harness.sent if '"response":null' in frame.text]
    assert len(replies) == 2  # the key is there, with null, not left out


def test_function_that_raises_is_reported_with_its_position(connect_relay):
    relay = connect_relay()
    source = """
session:register("fail", function(data)
    error("boom: " .. tostring(data))
end)
session:register("fail_later", function()
    task.wait(0.05)
    error({ code = 7 })
end)
"""
    relay.exec(source, name="handlers")
    line = next(n for n, text in enumerate(source.splitlines(), start=1) if '"boom: "' in text)
    assert relay.message("fail", "x") == refused(f"{ERRORED}handlers:{line}: boom: x")
    reason = relay.message("fail_later")["reason"]
    assert re.fullmatch(re.escape(ERRORED) + r"table: 0x[0-9a-f]+", reason), reason


def test_a_huge_error_is_cut_to_fit_one_frame_and_the_connection_survives(connect_relay):
    relay = connect_relay()
    relay.exec('session:register("fail_big", function() error(string.rep("é", 40000), 0) end)')
    reason = relay.message("fail_big")["reason"]
    assert reason.startswith(ERRORED + "éé")
    assert len(reason) > 10_000
    assert relay.message("echo", "still here") == answered("still here")


@pytest.mark.parametrize(
    "returned",
    [
        "0/0",
        "math.huge",
        "-math.huge",
        "2^53 + 1",
        "print",
        "{ callback = print }",
        "newproxy(true)",
        "(function() local t = {} t.me = t return t end)()",
        "{ 1, 2, name = 'mixed' }",
        "{ 1, nil, 3 }",
        "string.rep('x', 33000)",
        "'\\255 not utf-8'",
    ],
    ids=[
        "nan",
        "inf",
        "-inf",
        "2^53+1",
        "function",
        "nested-function",
        "userdata",
        "cycle",
        "mixed-table",
        "sparse-array",
        "over-32kb",
        "not-utf8",
    ],
)
def test_unsendable_return_value_is_invalid_return_data(connect_relay, returned):
    relay = connect_relay()
    relay.exec(f'session:register("bad", function() return {returned} end)')
    assert relay.message("bad") == refused("invalid return data")
    reply = relay.harness.frames_sent()[-1]
    assert reply["processed"] is False  # decided by the client, before sending
    assert relay.message("echo", [1]) == answered([1])


def test_reply_of_exactly_the_frame_limit_is_processed(connect_relay):
    relay = connect_relay()
    relay.exec(
        """
        session:register("fill", function(extra, context)
            local prefix = '{"action":"reply","id":"' .. context.id .. '","processed":true,"response":"'
            return string.rep("x", LIMIT - #prefix - 2 + extra)
        end)
        """,
        LIMIT=FRAME_LIMIT_BYTES,
    )
    fits = relay.message("fill", 0)
    assert fits["processed"] is True
    assert max(len(frame.text.encode()) for frame in relay.harness.sent) == FRAME_LIMIT_BYTES
    assert relay.message("fill", 1) == refused("invalid return data")


def test_unknown_and_unregistered_functions_do_not_exist(connect_relay):
    relay = connect_relay()
    relay.exec('session:register("temp", function() return "here" end)')
    assert relay.message("temp") == answered("here")
    assert relay.message("never-registered") == refused("function doesnt exist")
    assert relay.harness.eval("return { session:unregister('temp'), session:unregister('temp') }") == [
        True,
        False,
    ]
    assert relay.message("temp") == refused("function doesnt exist")


def test_a_slow_function_never_delays_a_fast_one(connect_relay):
    relay = connect_relay()
    relay.exec(
        """
        released, slow_started = false, false
        session:register("slow", function()
            slow_started = true
            while not released do
                task.wait(0.02)
            end
            return "slow"
        end)
        session:register("fast", function() return "fast" end)
        """
    )
    body = {"key": "slow", "timeout": 30}
    slow = relay.harness.submit(lambda: relay.api.post(f"/sessions/{relay.session_id}/message", json=body))
    eventually(relay, lambda: relay.harness.eval("return slow_started"), "the slow function to start")
    assert relay.message("fast") == answered("fast")
    assert not slow.done()  # still running: the fast one did not wait for it
    relay.harness.eval("released = true")
    assert relay.harness.result(slow).json() == answered("slow")
    responses = [frame["response"] for frame in relay.harness.frames_sent() if frame.get("action") == "reply"]
    assert responses == ["fast", "slow"]


def test_a_late_reply_gets_an_error_frame_and_the_session_carries_on(connect_relay):
    relay = connect_relay()
    relay.exec(
        """
        session:register("late", function()
            task.wait(1.5)
            return "too late"
        end)
        """
    )
    assert relay.message("late", timeout=0.5) == refused("client never responded")
    relay.harness.advance(1.5)
    eventually(relay, lambda: relay.harness.eval("return session.last_server_error"), "the error frame")
    assert any(frame.get("type") == "error" for frame in relay.harness.frames_received())
    assert relay.harness.eval("return session.connected") is True
    assert relay.message("echo", "ok") == answered("ok")


# ---------------------------------------------------------------- identity and loading


def test_identity_defaults_come_from_the_game_and_are_url_encoded(connect_relay):
    relay = connect_relay(user_key="user &=?/#%é 世界", job_id="job &=?/é")
    session = relay.get_session(relay.session_id).json()["session"]
    assert session["user_key"] == "user &=?/#%é 世界"
    assert relay.listed_ids() == [relay.session_id]
    assert session["roblox_id"] == 10234711811  # Players.LocalPlayer.UserId
    assert session["place_id"] == 606849621  # game.PlaceId
    assert session["job_id"] == "job &=?/é"


def test_loadstring_of_http_get_runs_the_client(connect_relay):
    relay = connect_relay(via_loadstring=True)
    assert relay.harness.eval("return SessionRelay.VERSION") == "1.0.0"
    assert relay.harness.eval(
        "return SessionRelay ~= require(game:GetService('ReplicatedStorage').SessionRelay)"
    )  # a fresh copy, not the ModuleScript's
    assert relay.message("echo", {"via": "loadstring"}) == answered({"via": "loadstring"})
    assert relay.harness.http_gets == [LOADSTRING_URL]


@pytest.mark.parametrize("style", ["syn", "krnl", "new", "lowercase"])
def test_older_executor_websocket_apis_work_through_the_adapter(connect_relay, style):
    relay = connect_relay(harness_options={"websocket_style": style})
    assert relay.message("echo", style) == answered(style)


# ---------------------------------------------------------------- the connection's life


def test_events_and_session_id_follow_the_hello(connect_relay, api):
    relay = connect_relay()
    session_id = relay.session_id
    assert relay.events() == [["connected", session_id]]
    info = relay.harness.eval("return { session.session_id, session.session.id, session.connected }")
    assert info == [session_id, session_id, True]
    assert api.get(f"/sessions/{session_id}").status_code == 200


def test_pings_keep_the_connection_within_nine_minutes_and_are_answered_by_the_gateway(connect_relay):
    relay = connect_relay()
    session_id = relay.session_id
    before = relay.get_session(session_id).json()["session"]

    def pings() -> list:
        return [frame for frame in relay.harness.sent if frame.text == '{"action":"ping"}']

    def pongs() -> int:
        return sum(frame.get("type") == "pong" for frame in relay.harness.frames_received())

    for _ in range(110):  # 1,100 virtual seconds in 10 s steps, each ping answered before the next step
        relay.harness.advance(10)
        eventually(relay, lambda: pongs() >= len(pings()), "a pong for every ping")
    sent = pings()
    assert len(sent) >= 2
    times = [relay.harness.sockets[1].opened_at] + [frame.at for frame in sent]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert max(gaps) <= 540, gaps
    assert min(gaps) >= 500, gaps  # the default interval is the longest safe one: pings are billed
    assert relay.harness.now() - times[-1] <= 540
    # The gateway answered: no function saw the pings, so last_seen_at did not move.
    assert relay.get_session(session_id).json()["session"] == before
    assert relay.session_id == session_id  # pinging never reconnects


def test_reconnects_with_a_new_session_after_the_server_drops_it(connect_relay, local_stack):
    relay = connect_relay()
    old_id = relay.session_id
    drop_connection(local_stack, relay, old_id)
    eventually(relay, lambda: len(relay.events()) >= 2, "the disconnected event")
    assert relay.events()[1] == ["disconnected", "connection lost", True, old_id]
    relay.harness.advance(1.0)  # past the first backoff (at most backoff_initial)
    new_id = relay.wait_connected()
    assert new_id != old_id
    assert relay.events()[2] == ["connected", new_id]
    assert relay.get_session(old_id).status_code == 404
    assert relay.listed_ids() == [new_id]
    assert any("reconnecting in" in line for line in relay.logs())
    assert relay.message("echo", "back") == answered("back")


def test_without_on_close_a_silent_connection_is_found_by_its_ping(connect_relay, local_stack):
    relay = connect_relay(harness_options={"websocket_style": "no_onclose"})
    old_id = relay.session_id
    drop_connection(local_stack, relay, old_id)
    eventually(relay, lambda: relay.harness.sockets[1].state == "closed", "the socket to close")
    assert relay.harness.eval("return session.connected") is True  # nobody told the client
    relay.harness.advance(540)  # the ping cannot be sent, so no pong comes
    relay.harness.advance(61)
    eventually(relay, lambda: len(relay.events()) >= 2, "the disconnected event")
    assert relay.events()[1] == ["disconnected", "no answer to ping", True, old_id]
    relay.harness.advance(1.0)
    assert relay.wait_connected() != old_id


def test_server_disconnect_fires_disconnected_and_never_reconnects(connect_relay):
    relay = connect_relay()
    session_id = relay.session_id
    response = relay.rest("POST", f"/sessions/{session_id}/disconnect")
    assert response.json() == {"success": True}
    eventually(relay, lambda: len(relay.events()) >= 2, "the disconnected event")
    assert relay.events()[1] == ["disconnected", "disconnected by the script owner", False, session_id]
    assert {
        "type": "disconnect",
        "reason": "disconnected by the script owner",
    } in relay.harness.frames_received()
    relay.harness.advance(600)
    relay.harness.settle(0.3)
    assert len(relay.harness.sockets) == 1  # no new connection was ever opened
    assert relay.harness.eval("return { session.closed, session.connected, session.id }") == [True, False]
    assert relay.listed_ids() == []


def test_close_ends_the_session_for_good(connect_relay):
    relay = connect_relay()
    session_id = relay.session_id
    relay.exec("session:close()")
    assert relay.events()[1] == ["disconnected", "closed by the script", False, session_id]
    eventually(relay, lambda: relay.listed_ids() == [], "the session to disappear")
    assert relay.get_session(session_id).status_code == 404
    relay.harness.advance(600)
    relay.harness.settle(0.3)
    assert len(relay.harness.sockets) == 1
    assert relay.harness.eval("return session:wait_connected(1)") is None


def test_reconnects_before_the_two_hour_cap_without_a_gap(connect_relay):
    relay = connect_relay()
    old_id = relay.session_id
    relay.harness.advance(5990)
    relay.harness.settle(0.3)
    assert relay.session_id == old_id  # not before rotate_after (6000 s)
    relay.harness.advance(910)  # the window ends at 6900 s: still under API Gateway's 7200 s
    new_id = relay.wait_connected()
    assert new_id != old_id
    assert ["connected", new_id] in relay.events()
    assert not any(event[0] == "disconnected" for event in relay.events())  # a planned switch
    relay.harness.advance(5)  # the replaced connection's grace after its last reply
    eventually(relay, lambda: relay.get_session(old_id).status_code == 404, "the old session to go")
    assert relay.listed_ids() == [new_id]
    assert len(relay.harness.open_sockets()) == 1


def test_a_replaced_connection_finishes_its_running_functions_first(connect_relay):
    relay = connect_relay()
    old_id = relay.session_id
    relay.exec(
        """
        released, started = false, false
        session:register("hold", function()
            started = true
            while not released do task.wait(0.02) end
            return "finished on the old connection"
        end)
        """
    )
    body = {"key": "hold", "timeout": 30}
    held = relay.harness.submit(lambda: relay.api.post(f"/sessions/{old_id}/message", json=body))
    eventually(relay, lambda: relay.harness.eval("return started"), "the function to start")
    relay.harness.advance(6900)
    new_id = relay.wait_connected()
    assert relay.get_session(old_id).status_code == 200  # still draining
    relay.harness.eval("released = true")
    assert relay.harness.result(held).json() == answered("finished on the old connection")
    assert relay.get_session(old_id).status_code == 200  # idle, in its grace period
    relay.harness.advance(5)
    eventually(relay, lambda: relay.get_session(old_id).status_code == 404, "the old session to close")
    assert relay.listed_ids() == [new_id]


def test_an_unknown_script_is_refused_with_403_and_never_retried(connect_relay):
    relay = connect_relay(script_id="no-such-script", wait=False, backoff_initial=1, backoff_max=4)
    eventually(relay, lambda: relay.harness.eval("return session.closed"), "the client to give up")
    assert "403" in relay.harness.eval("return session.last_error")
    assert [record.state for record in relay.harness.sockets.values()] == ["failed"]
    relay.harness.advance(600)
    relay.harness.settle(0.3)
    assert len(relay.harness.sockets) == 1  # a 403 is final: no second handshake
    assert not any("reconnecting in" in line for line in relay.logs())


def test_a_connect_that_never_finishes_is_given_up_and_retried(connect_relay):
    with socket.socket() as silent:  # accepts TCP connections, never answers the WebSocket handshake
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"ws://127.0.0.1:{silent.getsockname()[1]}"
        relay = connect_relay(wait=False, url=url, connect_timeout=20)
        assert relay.harness.sockets[1].state == "connecting"
        relay.harness.advance(20)
        eventually(
            relay,
            lambda: any("did not finish within 20 s" in line for line in relay.logs()),
            "the connect to be given up",
        )
        relay.harness.advance(1.0)
        eventually(relay, lambda: len(relay.harness.sockets) == 2, "a second attempt")
        relay.exec("session:close()")
