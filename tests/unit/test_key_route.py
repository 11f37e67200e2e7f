"""``GET /key`` (PROTOCOL.md section 1, "Extension: scopes"): what a key may do, for any key whatever its
scopes, never the key itself; and keys issued before scopes existed, which may do everything."""

from session_relay.clock import now_ms
from session_relay.service.access import hash_api_key, new_api_key
from session_relay.store import ScriptRecord
from session_relay.store.auth import auth_key
from support.tables import scan

ALL = ["read", "message", "disconnect", "manage"]


def test_get_key_shows_id_name_scripts_and_scopes_and_never_the_key(client, make_owner):
    owner = make_owner("script-b", "script-a", scopes=("disconnect", "read"))

    answer = client.get("/key", headers=owner.headers)

    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "success": True,
        "key": {
            "id": owner.key_id,
            "name": "unit test",
            "scripts": ["script-a", "script-b"],
            "scopes": ["read", "disconnect"],
        },
    }
    assert owner.api_key not in answer.text
    assert hash_api_key(owner.api_key) not in answer.text


def test_any_key_may_read_itself_whatever_its_scopes(client, make_owner):
    for scopes in ((), ("manage",), ("message",)):
        owner = make_owner(scopes=scopes)
        answer = client.get("/key", headers=owner.headers)
        assert answer.status_code == 200, answer.text
        assert answer.json()["key"]["scopes"] == list(scopes)


def test_get_key_needs_a_key_and_takes_no_query(client, owner, failure):
    assert failure(client.get("/key"), 401)
    assert failure(client.get("/key", headers={"Authorization": "Bearer sr_nobody"}), 401)
    assert failure(client.get("/key", params={"verbose": "1"}), 401)  # the key comes first
    assert failure(client.get("/key", headers=owner.headers, params={"verbose": "1"}), 422) == (
        "verbose: is not a query parameter of this route (it takes none)"
    )


def test_a_key_issued_before_scopes_existed_may_do_everything(client, relay_store, connect, dynamodb, aws):
    """A key item without a ``scopes`` attribute (every key issued before scopes existed)."""
    api_key, key_hash, key_id = new_api_key()
    relay_store.auth.put_script(
        ScriptRecord(script_id="script-old", name="old", enabled=True, created_at=now_ms())
    )
    relay_store.auth.table.put(
        {
            **auth_key("apikey", key_hash),
            "kind": "apikey",
            "key_id": key_id,
            "key_hash": key_hash,
            "script_ids": ["script-old"],
            "name": "from before",
            "created_at": now_ms(),
            "revoked": False,
        }
    )
    headers = {"Authorization": f"Bearer {api_key}"}
    [item] = [i for i in scan(dynamodb, aws["AUTH_TABLE"]) if i["pk"]["S"].startswith("apikey#")]
    assert "scopes" not in item

    assert relay_store.auth.get_api_key(key_hash).scopes == tuple(ALL)
    assert client.get("/key", headers=headers).json()["key"]["scopes"] == ALL
    session = connect("script-old")
    assert client.get("/sessions", headers=headers).status_code == 200
    message = client.post(f"/sessions/{session.session_id}/message", headers=headers, json={"key": "k"})
    assert message.json()["processed"] is True
    assert client.post(f"/sessions/{session.session_id}/disconnect", headers=headers).status_code == 200


def test_scopes_are_stored_on_the_key_item_as_a_list(make_owner, relay_store, dynamodb, aws):
    owner = make_owner(scopes=("message",))
    empty = make_owner(scopes=())

    items = {i["key_id"]["S"]: i for i in scan(dynamodb, aws["AUTH_TABLE"]) if "key_id" in i}

    assert items[owner.key_id]["scopes"] == {"L": [{"S": "message"}]}
    assert items[empty.key_id]["scopes"] == {"L": []}
    listed = {key.key_id: key.scopes for key in relay_store.auth.list_api_keys()}
    assert listed == {owner.key_id: ("message",), empty.key_id: ()}
