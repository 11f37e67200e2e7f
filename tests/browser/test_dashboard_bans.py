"""The dashboard's Function column and a row's Ban action (PROTOCOL.md section 4) in a real headless
Chromium against the local stack."""

import secrets

import pytest
from playwright.sync_api import expect

from session_relay_tools.simulate import identity_for

from .test_dashboard import filter_place, row_of, rows, scoped_key

NEEDS_DISCONNECT = 'This API key may not ban users (it needs the "disconnect" scope; it has: {}).'


def at_place(fleet, place_id, index, user_key=None, **options):
    identity = identity_for(fleet.script_id, index, place_id=place_id)
    if user_key is not None:
        identity["user_key"] = user_key
    return fleet.connect(1, identity=identity, **options)[0]


def test_the_function_column_shows_each_sessions_declared_functions(visit, fleet, place_id):
    demo = at_place(fleet, place_id, 0)
    custom = at_place(
        fleet, place_id, 1, functions={"teleport": lambda data: data, "kick": lambda data: data}
    )
    silent = at_place(fleet, place_id, 2, declare=False)
    page = visit.open(visit.stack.api_key)
    filter_place(page, place_id)
    expect(rows(page)).to_have_count(3)

    header = page.locator("#sessions thead th")
    expect(header.nth(8)).to_have_text("Function")
    expect(row_of(page, demo.session_id).locator("td.functions")).to_have_text("echo, error, invalid, sleep")
    expect(row_of(page, custom.session_id).locator("td.functions")).to_have_text("kick, teleport")
    expect(row_of(page, silent.session_id).locator("td.functions")).to_have_text("")


def test_ban_asks_first_then_bans_the_rows_user_for_its_script(visit, fleet, place_id, api):
    user_key = f"browser-{secrets.token_hex(5)}"
    banned = [at_place(fleet, place_id, index, user_key=user_key) for index in range(2)]
    kept = at_place(fleet, place_id, 2)
    page = visit.open(visit.stack.api_key)
    filter_place(page, place_id)
    expect(rows(page)).to_have_count(3)

    ban = row_of(page, banned[0].session_id).get_by_role("button", name="Ban", exact=True)
    ban.click()
    dialog = page.get_by_role("dialog", name="Ban this user?")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(f'user key "{user_key}" from script {visit.stack.script_id}')
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    assert visit.api_calls("POST") == []

    ban.click()
    with page.expect_response(lambda r: r.url.endswith("/bans") and r.request.method == "POST"):
        dialog.get_by_role("button", name="Yes, ban").click()
    expect(page.locator("#command-status")).to_have_text(
        f'Banned user key "{user_key}" from script {visit.stack.script_id}; disconnected 2 sessions.'
    )
    expect(rows(page)).to_have_count(1)  # both of the user's sessions are gone, the other stays
    expect(row_of(page, kept.session_id)).to_have_count(1)
    assert all(api.get(f"/sessions/{client.session_id}").status_code == 404 for client in banned)
    with pytest.raises(ConnectionError, match="HTTP 403"):
        at_place(fleet, place_id, 3, user_key=user_key)
    listed = api.get("/bans", params={"script_id": visit.stack.script_id, "limit": 1000}).json()["bans"]
    (made,) = [entry for entry in listed if entry.get("user_key") == user_key]
    assert api.delete(f"/bans/{made['id']}").status_code == 200


def test_a_key_that_may_not_disconnect_sees_ban_disabled_and_why(visit, fleet, place_id):
    client = at_place(fleet, place_id, 0)
    page = visit.open(scoped_key(visit.stack, ["read", "message"]))
    filter_place(page, place_id)
    ban = row_of(page, client.session_id).get_by_role("button", name="Ban", exact=True)
    expect(ban).to_be_disabled()
    expect(ban).to_have_accessible_description(NEEDS_DISCONNECT.format("read, message"))
    expect(page.get_by_text(NEEDS_DISCONNECT.format("read, message"))).to_be_visible()

    # The development key may ban: the same row's button comes back, with no description.
    visit.enter_key(visit.stack.api_key)
    expect(page.get_by_text('Key "development"')).to_be_visible()
    expect(ban).to_be_enabled()
    expect(ban).to_have_accessible_description("")
