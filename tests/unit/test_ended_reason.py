"""Why a session ended, written on its item just before it goes (the sessions' change stream tells
the reasons apart by it): ``owner`` for a disconnect call, ``banned`` for a ban, ``flood`` for a
connection closed for too many frames. A client's own close writes nothing."""

from session_relay.store import sessions as sessions_store
from session_relay.websocket.floods import BURST


def test_an_owner_disconnect_and_a_ban_write_their_reason_before_the_delete(
    client, owner, connect, monkeypatch
):
    banned, disconnected = connect(owner.script_id, user_key="cheater"), connect(owner.script_id)
    written = []
    original = sessions_store.Sessions.delete

    def delete(self, records):
        records = list(records)
        for record in records:
            item = self.table.get({"id": record.session.id})
            written.append((record.session.id, item.get("ended_reason")))
        return original(self, records)

    monkeypatch.setattr(sessions_store.Sessions, "delete", delete)
    client.post("/bans", headers=owner.headers, json={"script_id": owner.script_id, "user_key": "cheater"})
    client.post(f"/sessions/{disconnected.session_id}/disconnect", headers=owner.headers)

    assert written == [(banned.session_id, "banned"), (disconnected.session_id, "owner")]


def test_a_flood_close_writes_its_reason_before_the_close(owner, connect, relay_store, gateway):
    flooding, calm = connect(owner.script_id), connect(owner.script_id)
    for _ in range(BURST + 1):
        flooding.send_frame({"action": "hello"})

    assert flooding.received_of_type("disconnect") == [{"type": "disconnect", "reason": "too many frames"}]
    assert gateway.closed == [flooding.connection_id]
    item = relay_store.sessions.table.get({"id": flooding.session_id})
    assert item["ended_reason"] == "flood"
    assert "ended_reason" not in relay_store.sessions.table.get({"id": calm.session_id})


def test_a_session_whose_close_fails_is_kept_without_a_reason(client, owner, connect, gateway, relay_store):
    session = connect(owner.script_id)
    session.send_frame({"action": "functions", "names": ["kept"]})
    gateway.failing_close.add(session.connection_id)

    answer = client.post(f"/sessions/{session.session_id}/disconnect", headers=owner.headers)

    assert answer.status_code == 503
    assert "ended_reason" not in relay_store.sessions.table.get({"id": session.session_id})
    assert relay_store.sessions.get(session.session_id) is not None
    # Restored as it was, its declaration included.
    assert relay_store.sessions.get(session.session_id).session.functions == ("kept",)
