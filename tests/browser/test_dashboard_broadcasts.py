"""The dashboard's broadcasts in a real headless Chromium against the local stack: Broadcast sends the
Function/Data/Timeout to every session matching the filters (not only the selected ones), the list
shows each broadcast's counts until it is done, Cancel, and a key that may not message cannot."""

from playwright.sync_api import expect

from .test_dashboard import NEEDS_MESSAGE, filter_place, rows, scoped_key


def broadcast_items(page):
    return page.locator("#broadcast-list li")


def test_broadcast_reaches_every_matching_session_and_the_list_shows_it_done(visit, connect, place_id):
    clients = connect(3)
    page = visit.open(visit.stack.api_key)
    filter_place(page, place_id)
    expect(rows(page)).to_have_count(3)

    page.get_by_label("Function").fill("echo")
    page.get_by_label("Data").fill('"hello"')
    page.get_by_role("button", name="Broadcast", exact=True).click()

    expect(page.get_by_text("started")).to_be_visible()
    newest = broadcast_items(page).first
    expect(newest).to_contain_text("done", timeout=20_000)
    expect(newest).to_contain_text("3 matched")
    expect(newest).to_contain_text("processed: 3")
    assert all(client.handled == 1 for client in clients)


def test_a_running_broadcast_can_be_cancelled_from_the_list(visit, connect, place_id):
    connect(2)
    page = visit.open(visit.stack.api_key)
    filter_place(page, place_id)
    page.get_by_label("Function").fill("sleep")
    page.get_by_label("Data").fill("30")
    page.get_by_label("Timeout").fill("20")
    page.get_by_role("button", name="Broadcast", exact=True).click()

    newest = broadcast_items(page).first
    cancel = newest.get_by_role("button", name="Cancel")
    expect(cancel).to_be_visible(timeout=10_000)
    cancel.click()
    expect(page.get_by_text("cancelled: no frame is sent from now on")).to_be_visible()


def test_a_key_that_may_not_message_cannot_broadcast(visit, connect, place_id):
    connect(1)
    page = visit.open(scoped_key(visit.stack, ["read"]))
    filter_place(page, place_id)
    broadcast = page.get_by_role("button", name="Broadcast", exact=True)
    expect(broadcast).to_be_disabled()
    expect(broadcast).to_have_accessible_description(f"{NEEDS_MESSAGE.format('read')}.")
