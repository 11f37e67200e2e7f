"""The SDK's bans against the local stack (PROTOCOL.md, "Extension: bans"): a ban closes the user's live
sessions and refuses its handshakes with 403 until lifted; listing, expiry, and the errors as raised."""

import asyncio
import secrets

import pytest
from session_relay_client import (
    AsyncSessionRelay,
    Ban,
    Forbidden,
    NotFound,
    SessionRelay,
    ValidationError,
    admin,
)

from session_relay_tools.simulate import identity_for


def fresh_identity(fleet, place_id, **fields):
    """An identity no other test uses (bans act on every session of a user of the script)."""
    identity = identity_for(fleet.script_id, 0, place_id=place_id)
    identity["user_key"] = f"ban-{secrets.token_hex(6)}"
    identity["roblox_id"] = 1 + secrets.randbelow(2**40)
    return {**identity, **fields}


def test_a_ban_closes_the_users_sessions_and_refuses_its_handshakes_until_lifted(
    relay, fleet, place_id, eventually
):
    identity = fresh_identity(fleet, place_id)
    banned = [fleet.connect(1, identity=identity)[0] for _ in range(2)]
    bystander = fleet.connect(1, identity=fresh_identity(fleet, place_id))[0]

    result = relay.ban(fleet.script_id, user_key=identity["user_key"], reason="chargeback")

    assert sorted(result.disconnected) == sorted(client.session_id for client in banned)
    assert result.ban.user_key == identity["user_key"]
    assert result.ban.roblox_id is None
    assert result.ban.reason == "chargeback"
    assert result.ban.expires_at is None
    for client in banned:
        assert eventually(client.closed.is_set)
        assert client.disconnect_reason == "banned"
    assert relay.get_session(bystander.session_id).id == bystander.session_id
    with pytest.raises(ConnectionError, match="HTTP 403"):
        fleet.connect(1, identity=identity)

    listed = relay.list_bans(script_id=fleet.script_id)
    assert result.ban.id in [ban.id for ban in listed.bans]
    assert result.ban in list(relay.iter_bans(script_id=fleet.script_id, page_size=1))

    relay.lift_ban(result.ban.id)
    assert result.ban.id not in [ban.id for ban in relay.iter_bans()]
    assert fleet.connect(1, identity=identity)[0].session_id  # welcome back


def test_a_ban_by_roblox_id_with_an_expiry(relay, fleet, place_id):
    identity = fresh_identity(fleet, place_id)
    (client,) = fleet.connect(1, identity=identity)

    result = relay.ban(fleet.script_id, roblox_id=identity["roblox_id"], expires_in=3600)

    assert result.disconnected == [client.session_id]
    assert isinstance(result.ban, Ban)
    assert result.ban.roblox_id == identity["roblox_id"]
    assert result.ban.user_key is None
    assert result.ban.expires_at - result.ban.created_at == pytest.approx(3_600_000, abs=2_000)
    with pytest.raises(ConnectionError, match="HTTP 403"):
        fleet.connect(1, identity={**identity, "user_key": "another-key-same-player"})
    relay.lift_ban(result.ban.id)


@pytest.mark.parametrize(
    ("who", "field"),
    [
        ({}, "user_key"),
        ({"user_key": "u", "roblox_id": 5}, "user_key"),
        ({"user_key": "u", "reason": ""}, "reason"),
        ({"user_key": "u", "expires_in": 59}, "expires_in"),
    ],
)
def test_a_malformed_ban_raises_validation_error_naming_the_field(relay, local_stack, who, field):
    with pytest.raises(ValidationError) as raised:
        relay.ban(local_stack.script_id, **who)
    assert raised.value.status == 422
    assert field in raised.value.error
    assert [ban for ban in relay.iter_bans() if ban.user_key == "u"] == []


def test_another_script_and_another_keys_ban_are_not_found(relay, local_stack):
    with pytest.raises(NotFound):
        relay.ban("a-script-this-key-does-not-cover", user_key="u")
    with pytest.raises(NotFound):
        relay.lift_ban("no-such-ban")


def test_a_key_without_the_disconnect_scope_may_list_its_bans_but_not_ban(relay, local_stack):
    store = admin.open_store(admin.Target(endpoint=local_stack.dynamodb_endpoint))
    issued = admin.create_key(store, [local_stack.script_id], "reader", ["read"])
    made = relay.ban(local_stack.script_id, user_key=f"scoped-{secrets.token_hex(4)}")
    with SessionRelay(local_stack.rest_url, issued.api_key) as reader:
        with pytest.raises(Forbidden) as raised:
            reader.ban(local_stack.script_id, user_key="someone")
        with pytest.raises(Forbidden):
            reader.lift_ban(made.ban.id)
        # "read" lists, and a key's list holds the bans it made: another key's ban is not among them
        assert made.ban.id not in [ban.id for ban in reader.iter_bans()]
    assert made.ban.id in [ban.id for ban in relay.iter_bans()]
    assert '"disconnect" scope' in raised.value.error
    relay.lift_ban(made.ban.id)


def test_the_async_client_bans_lists_and_lifts(local_stack):
    user_key = f"async-{secrets.token_hex(4)}"

    async def scenario():
        async with AsyncSessionRelay(local_stack.rest_url, local_stack.api_key) as relay:
            made = await relay.ban(local_stack.script_id, user_key=user_key)
            page = await relay.list_bans(script_id=local_stack.script_id, limit=1000)
            every = [ban.id async for ban in relay.iter_bans(page_size=1)]
            await relay.lift_ban(made.ban.id)
            after = [ban.id async for ban in relay.iter_bans()]
            return made, page, every, after

    made, page, every, after = asyncio.run(scenario())
    assert made.ban.user_key == user_key
    assert made.disconnected == []
    assert made.ban.id in [ban.id for ban in page.bans]
    assert made.ban.id in every
    assert made.ban.id not in after
