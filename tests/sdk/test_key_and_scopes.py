"""``key()`` and ``Forbidden`` against the local stack: a key issued with some scopes (through the admin
tasks, as ``session-relay admin keys create --scope`` issues it) reads itself and is refused the rest."""

import asyncio

import pytest
from session_relay_client import AsyncSessionRelay, Forbidden, KeyInfo, SessionRelay, admin


@pytest.fixture
def issue(local_stack):
    """Issue a key for the stack's development script with these scopes; returns (api key, its record)."""
    store = admin.open_store(admin.Target(endpoint=local_stack.dynamodb_endpoint))

    def issue_key(*scopes: str, name: str = "sdk scopes"):
        issued = admin.create_key(store, [local_stack.script_id], name, list(scopes) or None)
        return issued.api_key, issued.record

    return issue_key


def test_key_shows_what_the_key_may_do(local_stack, issue):
    api_key, record = issue("message", "read")

    with SessionRelay(local_stack.rest_url, api_key) as relay:
        shown = relay.key()

    assert shown == KeyInfo(
        id=record.key_id, name="sdk scopes", scripts=[local_stack.script_id], scopes=["read", "message"]
    )


def test_a_key_without_the_scope_raises_forbidden_and_nothing_is_sent(local_stack, issue, connect):
    (client,) = connect(1)
    api_key, _ = issue("read")

    with SessionRelay(local_stack.rest_url, api_key) as reader:
        assert reader.get_session(client.session_id).id == client.session_id
        with pytest.raises(Forbidden) as raised:
            reader.message(client.session_id, "echo", "hi", timeout=5)
        with pytest.raises(Forbidden):
            reader.disconnect_many([client.session_id])
        assert reader.get_session(client.session_id).id == client.session_id  # still connected

    assert raised.value.status == 403
    assert raised.value.error == (
        'this API key may not message sessions (it needs the "message" scope; it has: read)'
    )
    # no message, no disconnect: only the answers to the hello and the declaration
    assert sorted(frame["type"] for frame in client.received) == ["functions", "hello"]


def test_async_key_and_forbidden(local_stack, issue):
    api_key, record = issue("disconnect")

    async def scenario():
        async with AsyncSessionRelay(local_stack.rest_url, api_key) as relay:
            shown = await relay.key()
            with pytest.raises(Forbidden) as raised:
                await relay.list_sessions()
            return shown, raised.value

    shown, refused = asyncio.run(scenario())
    assert shown.id == record.key_id
    assert shown.scopes == ["disconnect"]
    assert refused.status == 403
    assert '"read" scope' in refused.error


def test_a_key_issued_without_scopes_may_do_everything(local_stack, issue, relay):
    api_key, _ = issue()
    with SessionRelay(local_stack.rest_url, api_key) as fresh:
        assert fresh.key().scopes == ["read", "message", "disconnect", "manage"]
    assert relay.key().scopes == ["read", "message", "disconnect", "manage"]  # the development key
