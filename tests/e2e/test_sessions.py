"""Session lookup, listing and disconnect over real sockets."""

import time

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from session_relay_tools.simulate import DEMO_FUNCTIONS


def test_health_needs_no_key(local_stack):
    with local_stack.client(api_key="") as anonymous:
        answer = anonymous.get("/health")
    assert (answer.status_code, answer.json()) == (200, {"success": True})


def test_get_session_returns_the_contract_object(api, local_stack, fleet):
    (client,) = fleet.connect(1)
    answer = api.get(f"/sessions/{client.session_id}")
    assert answer.status_code == 200
    session = answer.json()["session"]
    assert set(session) == {
        "id",
        "user_key",
        "script_id",
        "roblox_id",
        "place_id",
        "job_id",
        "created_at",
        "last_seen_at",
        "functions",  # the simulated client declares its functions after its hello
    }
    assert session["functions"] == sorted(DEMO_FUNCTIONS)
    assert session["id"] == client.session_id
    assert session["script_id"] == local_stack.script_id
    assert session["roblox_id"] == client.identity["roblox_id"]
    assert isinstance(session["created_at"], int)
    assert abs(session["created_at"] - time.time() * 1000) < 60_000


def test_each_connection_is_a_new_session(fleet):
    first, second = fleet.connect(
        2,
        identity={
            "script_id": fleet.script_id,
            "user_key": "same",
            "roblox_id": 1,
            "place_id": 2,
            "job_id": "same",
        },
    )
    assert first.session_id != second.session_id


def test_list_sessions_filters_and_pages_newest_first(api, fleet):
    place = 770_000_000 + int(time.time()) % 1000
    clients = []
    for index in range(5):
        clients += fleet.connect(
            1,
            identity={
                "script_id": fleet.script_id,
                "user_key": f"list-{index}",
                "roblox_id": 500 + index,
                "place_id": place,
                "job_id": "list",
            },
        )
    seen, cursor = [], None
    while True:
        params = {"place_id": place, "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = api.get("/sessions", params=params).json()
        assert len(page["sessions"]) <= 2
        seen += page["sessions"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [s["id"] for s in seen] == [c.session_id for c in reversed(clients)]
    ordered = [(-s["created_at"], s["id"]) for s in seen]
    assert ordered == sorted(ordered)
    only = api.get("/sessions", params={"place_id": place, "user_key": "list-3"}).json()["sessions"]
    assert [s["id"] for s in only] == [clients[3].session_id]


@pytest.mark.parametrize(
    "params",
    [{"limit": 0}, {"limit": 1001}, {"limit": "ten"}, {"roblox_id": "x"}, {"cursor": "not-a-cursor"}],
)
def test_list_sessions_rejects_bad_query_with_422(api, params):
    answer = api.get("/sessions", params=params)
    assert answer.status_code == 422
    assert answer.json()["success"] is False


def test_disconnect_sends_frame_then_closes_and_forgets(api, raw_client):
    client = raw_client()
    session = client.hello()
    answer = api.post(f"/sessions/{session['id']}/disconnect")
    assert answer.json() == {"success": True}
    assert client.receive_type("disconnect")["type"] == "disconnect"
    with pytest.raises(ConnectionClosed):
        client.receive(timeout=5)
    assert api.get(f"/sessions/{session['id']}").status_code == 404
    again = api.post(f"/sessions/{session['id']}/disconnect")
    assert again.status_code == 404


def test_client_close_removes_the_session(api, fleet):
    (client,) = fleet.connect(1)
    fleet.close(client)
    deadline = time.monotonic() + 5
    while api.get(f"/sessions/{client.session_id}").status_code != 404:
        assert time.monotonic() < deadline, "session still served after its client closed"
        time.sleep(0.05)


def test_bulk_disconnect_of_200_sessions(api, fleet):
    clients = fleet.connect(200)
    ids = [client.session_id for client in clients]
    answer = api.post("/sessions/disconnect", json={"session_ids": [*ids, "missing"]})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["success"] is True
    assert sorted(body["disconnected"]) == sorted(ids)
    deadline = time.monotonic() + 10
    while not all(client.closed.is_set() for client in clients):
        assert time.monotonic() < deadline, "some clients were never closed"
        time.sleep(0.05)
    assert all(
        client.received[-1] == {"type": "disconnect", "reason": "disconnected by the script owner"}
        for client in clients
    )
    listed = api.get("/sessions", params={"limit": 1000}).json()["sessions"]
    assert not set(ids) & {s["id"] for s in listed}


@pytest.mark.parametrize(
    ("overrides", "status"),
    [
        ({"script_id": None}, 400),
        ({"user_key": ""}, 400),
        ({"job_id": "j" * 129}, 400),
        ({"roblox_id": "12a"}, 400),
        ({"roblox_id": "-5"}, 400),
        ({"place_id": str(2**63)}, 400),
        ({"place_id": "0"}, 400),
        ({"script_id": "no-such-script"}, 403),
    ],
)
def test_bad_handshakes_are_refused_and_create_nothing(api, local_stack, overrides, status):
    from urllib.parse import urlencode

    query = {
        "script_id": local_stack.script_id,
        "user_key": "refused",
        "roblox_id": 1,
        "place_id": 987654,
        "job_id": "refused",
    }
    query.update(overrides)
    query = {k: v for k, v in query.items() if v is not None}
    with pytest.raises(InvalidStatus) as refused:
        connect(f"{local_stack.ws_url}/?{urlencode(query)}", open_timeout=10)
    assert refused.value.response.status_code == status
    assert api.get("/sessions", params={"place_id": 987654}).json()["sessions"] == []


def test_unknown_route_and_wrong_method(api):
    missing = api.get("/nope")
    assert (missing.status_code, missing.json()["success"]) == (404, False)
    wrong = api.delete("/sessions/abc")
    assert (wrong.status_code, wrong.json()["success"]) == (405, False)


def test_missing_and_wrong_keys_are_401(local_stack):
    for key in ("", "sr_wrong"):
        with local_stack.client(api_key=key) as client:
            answer = client.get("/sessions")
        assert answer.status_code == 401
        assert answer.json()["success"] is False
