"""The owner dashboard in a real headless Chromium against the local stack (PROTOCOL.md section 4):
listing, filters, paging, counts, auto-refresh, messages with every outcome, disconnect, errors, and
hostile identity fields. The accessible names used here are the contract's."""

import contextlib
import hashlib
import json
import os
import re
import secrets
import threading
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from session_relay_tools.local.dynamodb import EmbeddedDynamoDB
from session_relay_tools.local.process import free_port, start_stack, stop_stack
from session_relay_tools.simulate import Fleet, identity_for

from .conftest import SCREENSHOT_ENV, STAGE, visiting


def rows(page):
    return page.locator("#sessions tbody tr")


def row_of(page, session_id):
    return rows(page).filter(has=page.get_by_role("checkbox", name=session_id, exact=True))


def filter_place(page, place_id):
    page.get_by_label("Place id").fill(str(place_id))
    with page.expect_response(lambda r: f"place_id={place_id}" in r.url):
        page.get_by_role("button", name="Refresh").click()


def test_key_lists_live_sessions_newest_first_with_every_field(visit, connect, place_id):
    clients = connect(3)
    page = visit.open(visit.stack.api_key)
    filter_place(page, place_id)

    expect(rows(page)).to_have_count(3)
    newest_first = [client.session for client in reversed(clients)]
    for index, session in enumerate(newest_first):
        cells = rows(page).nth(index).locator("td")
        expect(cells.nth(1)).to_have_text(session["id"])
        expect(cells.nth(2)).to_have_text(session["user_key"])
        expect(cells.nth(3)).to_have_text(session["script_id"])
        expect(cells.nth(4)).to_have_text(str(session["roblox_id"]))
        expect(cells.nth(5)).to_have_text(str(session["place_id"]))
        expect(cells.nth(6)).to_have_text(session["job_id"])
        expect(cells.nth(7)).to_have_text(re.compile(r"^\d+ s$|^\d+ min \d+ s$"))
    expect(page.get_by_text("3 live sessions shown")).to_be_visible()


def test_the_key_stays_in_the_tab_only(visit, connect, place_id):
    connect(1)
    page = visit.open(visit.stack.api_key)
    filter_place(page, place_id)
    expect(rows(page)).to_have_count(1)

    key = visit.stack.api_key
    assert page.evaluate("() => localStorage.length") == 0
    assert page.context.cookies() == []
    assert key not in page.url
    assert not [request for request in visit.requests if key in request]
    assert page.evaluate("() => Object.values(sessionStorage)") == [key]
    # A reload of the same tab keeps it; a new tab (context) has no key.
    page.reload()
    expect(rows(page)).to_have_count(1)
    page.get_by_role("button", name="Forget key").click()
    assert page.evaluate("() => sessionStorage.length") == 0
    expect(rows(page)).to_have_count(0)


def test_a_bad_key_shows_the_apis_sentence(visit):
    page = visit.open("sr_not_a_key")
    expect(page.get_by_role("alert")).to_have_text("invalid API key")
    expect(rows(page)).to_have_count(0)


def test_enter_in_the_key_field_lists_the_sessions_with_no_other_button(visit, connect):
    (client,) = connect(1)
    page = visit.open()
    expect(page.get_by_role("button", name="Use key")).to_have_count(0)

    page.get_by_label("API key").fill(visit.stack.api_key)
    with page.expect_response(lambda r: "/sessions?" in r.url):
        page.get_by_label("API key").press("Enter")
    expect(row_of(page, client.session_id)).to_have_count(1)
    expect(page.get_by_role("alert")).to_be_hidden()
    assert page.evaluate("() => Object.values(sessionStorage)") == [visit.stack.api_key]


def test_refresh_uses_the_typed_key_with_no_other_button(visit, connect, place_id):
    (client,) = connect(1)
    page = visit.open()
    page.get_by_label("API key").fill(visit.stack.api_key)
    with page.expect_response(lambda r: "/sessions?" in r.url):
        page.get_by_role("button", name="Refresh").click()
    expect(row_of(page, client.session_id)).to_have_count(1)

    # A filter typed after the key, then Refresh: one listing, with the filter and the key.
    page.get_by_label("Place id").fill(str(place_id))
    page.get_by_role("button", name="Refresh").click()
    expect(rows(page)).to_have_count(1)
    expect(row_of(page, client.session_id)).to_have_count(1)


def test_refresh_without_a_key_says_so(visit):
    page = visit.open()
    page.get_by_role("button", name="Refresh").click()
    expect(page.get_by_role("alert")).to_have_text("Enter an API key first.")
    page.get_by_label("API key").fill("sr_ключ")
    page.get_by_label("API key").press("Enter")
    expect(page.get_by_role("alert")).to_have_text("An API key is visible ASCII characters only.")
    assert visit.api_calls() == []


def test_a_typed_key_replaces_the_one_in_use(visit, connect, place_id):
    (client,) = connect(1)
    page = visit.open(visit.stack.api_key)
    filter_place(page, place_id)
    expect(rows(page)).to_have_count(1)

    visit.enter_key("sr_not_a_key")
    expect(page.get_by_role("alert")).to_have_text("invalid API key")
    expect(rows(page)).to_have_count(0)
    assert page.evaluate("() => Object.values(sessionStorage)") == ["sr_not_a_key"]

    page.get_by_label("API key").fill(visit.stack.api_key)
    page.get_by_role("button", name="Refresh").click()
    expect(row_of(page, client.session_id)).to_have_count(1)
    expect(page.get_by_role("alert")).to_be_hidden()


# ------------------------------------------------------------------------------------------------
# What the key may do (PROTOCOL.md section 1, "Extension: scopes"; section 4, last bullet)
# ------------------------------------------------------------------------------------------------

NEEDS_MESSAGE = 'This API key may not message sessions (it needs the "message" scope; it has: {})'
NEEDS_DISCONNECT = 'This API key may not disconnect sessions (it needs the "disconnect" scope; it has: {})'


def scoped_key(stack, scopes, name="scoped viewer"):
    """A key of the stack's development script with only ``scopes``, written straight into the stack's
    auth table as the store keeps one (``apikey#<sha256>``, ``scopes`` a list of strings)."""
    key = "sr_" + secrets.token_urlsafe(32)
    key_hash = hashlib.sha256(key.encode()).hexdigest()
    stack.dynamodb().put_item(
        TableName=stack.table("AuthTable"),
        Item={
            "pk": {"S": f"apikey#{key_hash}"},
            "kind": {"S": "apikey"},
            "key_id": {"S": "key_" + secrets.token_hex(6)},
            "key_hash": {"S": key_hash},
            "script_ids": {"L": [{"S": stack.script_id}]},
            "name": {"S": name},
            "created_at": {"N": str(time.time_ns() // 1_000_000)},
            "revoked": {"BOOL": False},
            "scopes": {"L": [{"S": scope} for scope in scopes]},
        },
    )
    return key


def commands(page):
    return (
        page.get_by_role("button", name="Message", exact=True),
        page.get_by_role("button", name="Disconnect", exact=True),
    )


def test_a_read_only_keys_commands_are_disabled_and_say_why(visit, connect, place_id):
    (client,) = connect(1)
    key = scoped_key(visit.stack, ["read"], name="read-only viewer")
    page = visit.open(key)
    filter_place(page, place_id)
    expect(rows(page)).to_have_count(1)  # "read" lists

    message, disconnect = commands(page)
    needs_message, needs_disconnect = NEEDS_MESSAGE.format("read"), NEEDS_DISCONNECT.format("read")
    expect(message).to_be_disabled()
    expect(disconnect).to_be_disabled()
    expect(message).to_have_accessible_description(f"{needs_message}.")
    expect(disconnect).to_have_accessible_description(f"{needs_disconnect}.")
    expect(page.get_by_text(needs_message)).to_be_visible()
    expect(page.get_by_text(needs_disconnect)).to_be_visible()
    expect(page.get_by_text('Key "read-only viewer"')).to_have_text(
        f'Key "read-only viewer": scripts {visit.stack.script_id}; scopes read.'
    )

    # Enter in the Function field sends nothing either (the form's default button is disabled).
    page.get_by_role("checkbox", name=client.session_id, exact=True).check()
    page.get_by_label("Function").fill("echo")
    page.get_by_label("Function").press("Enter")
    page.wait_for_timeout(300)
    assert visit.api_calls("POST") == []
    assert client.handled == 0
    # The API refuses the same call, naming the same scope.
    with visit.stack.client(key) as api:
        refused = api.post(f"/sessions/{client.session_id}/message", json={"key": "echo"})
    assert refused.status_code == 403, refused.text
    assert '"message" scope' in refused.json()["error"]

    # A key with every scope (the development key) gets both back, with no description.
    visit.enter_key(visit.stack.api_key)
    expect(page.get_by_text('Key "development"')).to_be_visible()
    expect(message).to_be_enabled()
    expect(disconnect).to_be_enabled()
    expect(message).to_have_accessible_description("")
    expect(page.get_by_text(needs_message)).to_have_count(0)
    expect(page.get_by_text(needs_disconnect)).to_have_count(0)


def test_a_key_that_may_message_but_not_disconnect(visit, connect, place_id):
    (client,) = connect(1)
    page = visit.open(scoped_key(visit.stack, ["read", "message"]))
    filter_place(page, place_id)
    message, disconnect = commands(page)
    expect(disconnect).to_be_disabled()
    expect(disconnect).to_have_accessible_description(f"{NEEDS_DISCONNECT.format('read, message')}.")
    expect(message).to_be_enabled()

    page.get_by_role("checkbox", name=client.session_id, exact=True).check()
    send(page, "echo", '"allowed"')
    expect(outcome(page, client.session_id)).to_have_text('"allowed"')


def test_a_deployment_without_get_key_offers_every_command(visit, connect, place_id):
    # The one answer played here, as a deployment older than GET /key gives it (its router's 404);
    # the listing is the real stack's.
    def older_deployment(route):
        body = {"success": False, "error": "no route GET /key"}
        route.fulfill(status=404, content_type="application/json", body=json.dumps(body))

    visit.page.route(f"{visit.origin}/{STAGE}/key", older_deployment)
    connect(1)
    page = visit.open(scoped_key(visit.stack, ["read"]))
    filter_place(page, place_id)
    expect(page.get_by_text("This deployment does not say what a key may do")).to_be_visible()
    message, disconnect = commands(page)
    expect(message).to_be_enabled()
    expect(disconnect).to_be_enabled()
    expect(message).to_have_accessible_description("")


def test_filters_narrow_the_listing(visit, fleet, place_id):
    identities = [
        identity_for(fleet.script_id, 0, place_id=place_id, job_id="job-a"),
        identity_for(fleet.script_id, 1, place_id=place_id, job_id="job-a"),
        identity_for(fleet.script_id, 2, place_id=place_id, job_id="job-b"),
    ]
    identities[2]["user_key"] = f"unique-{place_id}"
    clients = [fleet.connect(1, identity=identity)[0] for identity in identities]
    page = visit.open(visit.stack.api_key)
    filter_place(page, place_id)
    expect(rows(page)).to_have_count(3)

    page.get_by_label("Job id").fill("job-a")
    page.get_by_role("button", name="Refresh").click()
    expect(rows(page)).to_have_count(2)

    page.get_by_label("Job id").fill("")
    page.get_by_label("User key").fill(f"unique-{place_id}")
    page.get_by_role("button", name="Refresh").click()
    expect(rows(page)).to_have_count(1)
    expect(row_of(page, clients[2].session_id)).to_have_count(1)

    page.get_by_label("Roblox id").fill(str(identities[0]["roblox_id"]))
    page.get_by_role("button", name="Refresh").click()
    expect(rows(page)).to_have_count(0)

    page.get_by_label("User key").fill("")
    page.get_by_role("button", name="Refresh").click()
    expect(rows(page)).to_have_count(1)
    expect(row_of(page, clients[0].session_id)).to_have_count(1)

    page.get_by_label("Script").fill("not-my-script")
    page.get_by_role("button", name="Refresh").click()
    expect(rows(page)).to_have_count(0)


def test_an_invalid_numeric_filter_shows_the_apis_422_sentence(visit, api):
    expected = api.get("/sessions", params={"roblox_id": "abc"})
    assert expected.status_code == 422
    page = visit.open(visit.stack.api_key)
    page.get_by_label("Roblox id").fill("abc")
    page.get_by_role("button", name="Refresh").click()
    expect(page.get_by_role("alert")).to_have_text(expected.json()["error"])


def test_counts_per_place_and_per_job(visit, fleet, place_id):
    for index, job in enumerate(["job-x", "job-x", "job-x", "job-y"]):
        fleet.connect(1, identity=identity_for(fleet.script_id, index, place_id=place_id, job_id=job))
    page = visit.open(visit.stack.api_key)
    filter_place(page, place_id)

    per_job = page.get_by_role("figure", name="Sessions per job").get_by_role("listitem")
    expect(per_job).to_have_text(["job-x3", "job-y1"])
    per_place = page.get_by_role("figure", name="Sessions per place").get_by_role("listitem")
    expect(per_place).to_have_text([f"{place_id}4"])
    widths = per_job.locator(".bar").evaluate_all(
        "bars => bars.map(bar => bar.getBoundingClientRect().width)"
    )
    assert widths[0] > 2 * widths[1] > 0


def test_load_more_fetches_the_next_page(visit, connect, place_id):
    connect(30)
    page = visit.open(visit.stack.api_key)
    page.get_by_label("Page size").select_option("25")
    filter_place(page, place_id)
    expect(rows(page)).to_have_count(25)
    expect(page.get_by_role("button", name="Load more")).to_be_visible()

    page.get_by_role("button", name="Load more").click()
    expect(rows(page)).to_have_count(30)
    expect(page.get_by_role("button", name="Load more")).to_be_hidden()
    ids = rows(page).locator("td.id").all_text_contents()
    assert len(set(ids)) == 30


def send(page, function, data=None, timeout=None):
    page.get_by_label("Function").fill(function)
    if data is not None:
        page.get_by_label("Data").fill(data)
    if timeout is not None:
        page.get_by_label("Timeout").fill(timeout)
    page.get_by_role("button", name="Message", exact=True).click()


def outcome(page, session_id):
    return row_of(page, session_id).locator("td.outcome")


def listed(visit, connect, place_id, count):
    clients = connect(count)
    page = visit.open(visit.stack.api_key)
    filter_place(page, place_id)
    expect(rows(page)).to_have_count(count)
    return page, clients


@pytest.mark.parametrize(
    ("function", "data", "timeout", "shown"),
    [
        ("echo", '{"hello": ["world", 1, null, {}]}', None, '{"hello":["world",1,null,{}]}'),
        ("echo", "123456789012345678901234567890", None, "123456789012345678901234567890"),
        ("echo", "", None, "[]"),
        ("error", '"kaboom"', None, "function errored, message: kaboom"),
        ("invalid", "[]", None, "invalid return data"),
        ("sleep", "5", "0.5", "client never responded"),
        ("missing", "[]", None, "function doesnt exist"),
    ],
    ids=["response", "big-integer", "default-data", "errored", "invalid", "no-answer", "no-function"],
)
def test_message_shows_each_selected_sessions_outcome(
    visit, connect, place_id, function, data, timeout, shown
):
    page, clients = listed(visit, connect, place_id, 3)
    chosen = [clients[0].session_id, clients[2].session_id]
    for session_id in chosen:
        page.get_by_role("checkbox", name=session_id, exact=True).check()
    expect(page.get_by_text("2 selected")).to_be_visible()

    send(page, function, data, timeout)

    for session_id in chosen:
        expect(outcome(page, session_id)).to_have_text(shown)
    expect(outcome(page, clients[1].session_id)).to_have_text("")
    assert clients[1].handled == 0
    assert len(visit.api_calls("POST")) == 2  # one call per selected session


def test_invalid_data_json_is_refused_before_anything_is_sent(visit, connect, place_id):
    page, clients = listed(visit, connect, place_id, 1)
    page.get_by_role("checkbox", name="Select all").check()
    send(page, "echo", "{oops")

    expect(page.get_by_text(re.compile(r"^Data is not valid JSON: "))).to_be_visible()
    assert visit.api_calls("POST") == []
    expect(outcome(page, clients[0].session_id)).to_have_text("")
    assert clients[0].handled == 0


@pytest.mark.parametrize(
    ("data", "timeout", "status"),
    [("[]", "0", 422), (json.dumps("x" * 40_000), "5", 413)],
    ids=["timeout-out-of-range", "frame-too-large"],
)
def test_a_refused_message_shows_the_apis_sentence(visit, connect, place_id, api, data, timeout, status):
    page, clients = listed(visit, connect, place_id, 1)
    (session_id,) = [client.session_id for client in clients]
    expected = api.post(
        f"/sessions/{session_id}/message",
        content=f'{{"key":"echo","data":{data},"timeout":{timeout}}}',
        headers={"Content-Type": "application/json"},
    )
    assert expected.status_code == status
    page.get_by_role("checkbox", name="Select all").check()
    send(page, "echo", data, timeout)

    expect(outcome(page, session_id)).to_have_text(expected.json()["error"])
    expect(page.locator("#command-status")).to_have_text(expected.json()["error"])
    assert clients[0].handled == 0


def test_disconnect_asks_first_and_then_closes_the_selected_sessions(visit, connect, place_id, api):
    page, clients = listed(visit, connect, place_id, 2)
    gone, kept = clients
    page.get_by_role("checkbox", name=gone.session_id, exact=True).check()

    page.get_by_role("button", name="Disconnect", exact=True).click()
    dialog = page.get_by_role("dialog", name="Disconnect sessions?")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("the selected session")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    assert visit.api_calls("POST") == []
    assert api.get(f"/sessions/{gone.session_id}").status_code == 200

    page.get_by_role("button", name="Disconnect", exact=True).click()
    with page.expect_response(lambda r: r.url.endswith("/sessions/disconnect")):
        dialog.get_by_role("button", name="Yes, disconnect").click()
    expect(page.get_by_text("Disconnected 1 session.")).to_be_visible()
    expect(rows(page)).to_have_count(1)
    expect(row_of(page, kept.session_id)).to_have_count(1)
    assert api.get(f"/sessions/{gone.session_id}").status_code == 404
    assert api.get(f"/sessions/{kept.session_id}").status_code == 200


HOSTILE_USER_KEY = '<img src=x onerror="window.pwned=1;alert(1)">'
HOSTILE_JOB_ID = "<script>window.pwned=2</script><b>bold</b>"
BIG_ROBLOX_ID = 2**62 + 1  # beyond 2^53: a JavaScript number would round it


def test_hostile_identity_fields_are_shown_as_text_and_run_nothing(visit, fleet, place_id):
    identity = identity_for(fleet.script_id, 0, place_id=place_id, job_id=HOSTILE_JOB_ID)
    identity.update(user_key=HOSTILE_USER_KEY, roblox_id=BIG_ROBLOX_ID)
    (client,) = fleet.connect(1, identity=identity)
    page = visit.open(visit.stack.api_key)
    filter_place(page, place_id)

    cells = row_of(page, client.session_id).locator("td")
    expect(cells.nth(2)).to_have_text(HOSTILE_USER_KEY)
    expect(cells.nth(4)).to_have_text(str(BIG_ROBLOX_ID))
    expect(cells.nth(6)).to_have_text(HOSTILE_JOB_ID)
    per_job = page.get_by_role("figure", name="Sessions per job").get_by_role("listitem")
    expect(per_job).to_have_text([f"{HOSTILE_JOB_ID}1"])

    page.get_by_role("checkbox", name=client.session_id, exact=True).check()
    send(page, "echo", json.dumps(HOSTILE_USER_KEY))
    expect(outcome(page, client.session_id)).to_have_text(json.dumps(HOSTILE_USER_KEY))

    assert page.evaluate("() => window.pwned") is None
    assert page.locator("img, b, tbody script, figure script").count() == 0
    assert not [request for request in visit.requests if request.endswith("/x")]
    # (the visit fixture also fails the test on any dialog, page error or CSP violation)


def test_the_page_loads_only_its_own_files_under_the_stage_path(visit, connect, place_id):
    connect(1)
    page = visit.open(visit.stack.api_key)
    filter_place(page, place_id)
    expect(rows(page)).to_have_count(1)

    prefix = f"{visit.origin}/prod/"
    paths = {request.split(" ", 1)[1].removeprefix(prefix).split("?")[0] for request in visit.requests}
    assert paths == {
        "dashboard",
        "dashboard/style.css",
        "dashboard/app.js",
        "dashboard/api.js",
        "dashboard/table.js",
        "dashboard/chart.js",
        "dashboard/broadcasts.js",
        "dashboard/webhook.js",
        "key",
        "sessions",
        "broadcasts",
        f"scripts/{visit.stack.script_id}/webhook",  # the Webhook section (none here: a 404)
    }
    assert all(request.split(" ", 1)[1].startswith(prefix) for request in visit.requests)


def test_auto_refresh_shows_new_sessions_until_switched_off(visit, connect, place_id):
    connect(1)
    visit.page.clock.install()
    page = visit.open(visit.stack.api_key)
    filter_place(page, place_id)
    expect(rows(page)).to_have_count(1)

    connect(1)
    with page.expect_response(lambda r: "/sessions?" in r.url):
        page.clock.run_for(6000)
    expect(rows(page)).to_have_count(2)

    page.get_by_label("Auto-refresh").uncheck()
    listings = len(visit.api_calls("GET"))
    connect(1)
    page.clock.run_for(60_000)
    page.wait_for_timeout(300)
    expect(rows(page)).to_have_count(2)
    assert len(visit.api_calls("GET")) == listings

    page.get_by_role("button", name="Refresh").click()
    expect(rows(page)).to_have_count(3)


def test_selection_and_outcomes_survive_a_refresh(visit, connect, place_id):
    page, clients = listed(visit, connect, place_id, 3)
    chosen = [client.session_id for client in clients[:2]]
    for session_id in chosen:
        page.get_by_role("checkbox", name=session_id, exact=True).check()
    send(page, "echo", '"kept"')
    for session_id in chosen:
        expect(outcome(page, session_id)).to_have_text('"kept"')

    with page.expect_response(lambda r: "/sessions?" in r.url):
        page.get_by_role("button", name="Refresh").click()
    for session_id in chosen:
        expect(page.get_by_role("checkbox", name=session_id, exact=True)).to_be_checked()
        expect(outcome(page, session_id)).to_have_text('"kept"')
    expect(page.get_by_role("checkbox", name=clients[2].session_id, exact=True)).not_to_be_checked()
    expect(page.get_by_text("2 selected")).to_be_visible()


def test_a_narrow_window_shows_sessions_as_cards_without_sideways_scrolling(visit, connect, place_id):
    visit.page.set_viewport_size({"width": 380, "height": 800})
    page, clients = listed(visit, connect, place_id, 2)

    assert page.evaluate("() => document.documentElement.scrollWidth") <= 380
    first = row_of(page, clients[0].session_id)
    label = first.locator("td.id").evaluate("td => getComputedStyle(td, '::before').content")
    assert label == '"Session id"'
    page.get_by_role("checkbox", name=clients[0].session_id, exact=True).check()
    page.get_by_label("Function").scroll_into_view_if_needed()
    send(page, "echo", '"narrow"')
    expect(outcome(page, clients[0].session_id)).to_have_text('"narrow"')
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 380


def test_a_thousand_sessions_list_and_select_and_large_selections_go_in_bulk_calls(
    visit, fleet, place_id, api
):
    try:
        for wave in range(10):  # in waves, as executors arrive: a thousand handshakes at once would time out
            job = "job-few" if wave == 9 else "job-many"
            fleet.connect(100, identity=identity_for(fleet.script_id, wave, place_id=place_id, job_id=job))
        page = visit.open()
        page.get_by_label("Page size").select_option("1000")
        page.get_by_label("Place id").fill(str(place_id))
        visit.enter_key(visit.stack.api_key)
        expect(page.get_by_text("1000 live sessions shown")).to_be_visible(timeout=60_000)
        expect(rows(page)).to_have_count(1000)
        per_job = page.get_by_role("figure", name="Sessions per job").get_by_role("listitem")
        expect(per_job).to_have_text(["job-many900", "job-few100"])

        page.get_by_role("checkbox", name="Select all").check()
        expect(page.get_by_text("1000 selected")).to_be_visible()
        with page.expect_response(lambda r: "/sessions?" in r.url, timeout=60_000):
            page.get_by_role("button", name="Refresh").click()
        expect(page.get_by_text("1000 selected")).to_be_visible()
        page.get_by_role("checkbox", name="Select all").uncheck()
        expect(page.get_by_text("0 selected")).to_be_visible()

        page.get_by_label("Job id").fill("job-few")
        with page.expect_response(lambda r: "job_id=job-few" in r.url, timeout=60_000):
            page.get_by_role("button", name="Refresh").click()
        expect(rows(page)).to_have_count(100)
        page.get_by_role("checkbox", name="Select all").check()
        send(page, "echo", '"all"', timeout="40")
        expect(page.locator("#command-status")).to_have_text("Answered: 100 of 100.", timeout=60_000)

        assert page.locator("td.outcome").all_text_contents() == ['"all"'] * 100
        # Above 60 sessions: bulk calls (here one, of 100 ids), no call per session.
        assert [request.split(" ")[1].removeprefix(visit.origin) for request in visit.api_calls("POST")] == [
            "/prod/sessions/message"
        ]
        assert sorted(client.handled for client in fleet.clients) == [0] * 900 + [1] * 100
    finally:
        hang_up_and_wait_for_the_stack(fleet, api, place_id)


def hang_up_and_wait_for_the_stack(fleet, api, place_id, deadline_s=180):
    """Close every client and wait until the stack has removed their sessions, so the next test's
    handshakes do not queue behind a thousand disconnects."""
    for client in fleet.clients:
        fleet.close(client)
    deadline = time.monotonic() + deadline_s
    while True:
        # While a thousand $disconnects drain, the one-at-a-time embedded DynamoDB may answer a
        # listing 503 ("try again shortly"), or so late that the gateway's integration timeout
        # answers 504 first (the local stack gives its DynamoDB client a 60 s read timeout): both
        # are still waiting, not the end of the wait.
        answer = api.get("/sessions", params={"place_id": place_id, "limit": 1})
        if answer.status_code == 200 and not answer.json()["sessions"]:
            return
        assert answer.status_code in (200, 503, 504), answer.text
        assert time.monotonic() < deadline, f"the stack did not remove the closed sessions: {answer.text}"
        time.sleep(0.5)


def test_screenshot_of_sessions_and_outcomes_for_the_readme(visit, fleet, place_id, tmp_path):
    jobs = ["job-lobby", "job-lobby", "job-lobby", "job-arena", "job-arena"]
    clients = [
        fleet.connect(1, identity=identity_for(fleet.script_id, index, place_id=place_id, job_id=job))[0]
        for index, job in enumerate(jobs)
    ]
    page = visit.open(visit.stack.api_key)
    page.get_by_label("Auto-refresh").uncheck()
    filter_place(page, place_id)
    expect(rows(page)).to_have_count(5)
    outcomes = [
        ("echo", '{"coins": 250, "level": 7}', "5", '{"coins":250,"level":7}'),
        ("error", '"inventory is full"', "5", "function errored, message: inventory is full"),
        ("invalid", "[]", "5", "invalid return data"),
        ("teleport", "[]", "5", "function doesnt exist"),
        ("sleep", "5", "1", "client never responded"),
    ]
    for client, (function, data, timeout, shown) in zip(clients, outcomes, strict=True):
        box = page.get_by_role("checkbox", name=client.session_id, exact=True)
        box.check()
        send(page, function, data, timeout)
        expect(outcome(page, client.session_id)).to_have_text(shown)
        box.uncheck()
    for client, (*_, shown) in zip(clients, outcomes, strict=True):
        expect(outcome(page, client.session_id)).to_have_text(shown)
    for client in clients[:2]:
        page.get_by_role("checkbox", name=client.session_id, exact=True).check()
    page.get_by_label("Function").fill("echo")
    page.get_by_label("Data").fill('{"coins": 250, "level": 7}')
    page.get_by_label("Timeout").fill("10")
    page.get_by_role("heading", name="Live sessions").click()

    screenshot = Path(os.environ.get(SCREENSHOT_ENV) or tmp_path / "dashboard.png")
    page.screenshot(path=screenshot, full_page=True)
    assert screenshot.stat().st_size > 10_000


@contextlib.contextmanager
def own_stack(browser, env):
    """A stack of the test's own (``env`` added to its environment), a fleet on it and a visit of
    its dashboard; all stopped afterwards."""
    stack = start_stack(env)
    fleet = Fleet(stack.ws_url, stack.script_id)
    try:
        with visiting(browser, stack) as seen:
            yield stack, fleet, seen
    finally:
        fleet.stop()
        stop_stack(stack)


def test_a_key_at_its_cap_of_calls_in_flight_shows_the_apis_429_sentence(browser):
    with own_stack(browser, {"MAX_CALLS_IN_FLIGHT": "1"}) as (stack, fleet, seen):
        busy, idle = fleet.connect(1)[0], fleet.connect(1, identity=identity_for(stack.script_id, 1))[0]
        page = seen.open(stack.api_key)
        expect(rows(page)).to_have_count(2)
        with stack.client() as api:
            # The key's one slot, held for 8 s by a call the session answers late.
            holder = threading.Thread(
                target=api.post,
                args=(f"/sessions/{busy.session_id}/message",),
                daemon=True,
                kwargs={"json": {"key": "sleep", "data": 8, "timeout": 10}},
            )
            holder.start()
            deadline = time.monotonic() + 5
            while not any(frame.get("key") == "sleep" for frame in list(busy.received)):
                assert time.monotonic() < deadline, "the held call did not reach its session"
                time.sleep(0.05)
            refused = api.post(f"/sessions/{idle.session_id}/message", json={"key": "echo"})
            assert refused.status_code == 429, refused.text
            throttled, retry_after = refused.json()["error"], refused.headers["Retry-After"]
            page.get_by_role("checkbox", name=idle.session_id, exact=True).check()
            send(page, "echo", "[]")
            expect(page.locator("#command-status")).to_have_text(f"{throttled} Retry after {retry_after} s.")
            expect(outcome(page, idle.session_id)).to_contain_text(throttled)
            holder.join(30)
        assert busy.handled == 1  # the held call ran; the throttled one reached no session
        assert idle.handled == 0


def test_a_store_that_stays_unavailable_shows_the_apis_503_sentence(browser):
    database = EmbeddedDynamoDB("127.0.0.1", free_port())
    database.start()
    try:
        endpoint = f"http://{database.host}:{database.port}"
        with own_stack(browser, {"SESSION_RELAY_DYNAMODB_ENDPOINT": endpoint}) as (stack, fleet, seen):
            fleet.connect(1)
            fleet.connect(1, identity=identity_for(stack.script_id, 1))
            page = seen.open(stack.api_key)
            page.get_by_label("Auto-refresh").uncheck()
            expect(rows(page)).to_have_count(2)
            database.stop()  # by its pid; the stack's client retries, then gives up
            with stack.client() as api:
                answer = api.get("/sessions")
            assert answer.status_code == 503
            unavailable = answer.json()["error"]
            page.get_by_role("button", name="Refresh").click()
            # The stack's DynamoDB client retries (standard mode, 6 attempts) before it answers.
            expect(page.get_by_role("alert")).to_have_text(unavailable, timeout=60_000)
            expect(rows(page)).to_have_count(2)  # what was shown stays
    finally:
        database.stop()
