"""The dashboard's "Webhook" section (PROTOCOL.md sections 4 and 5) in a real Chromium on the local stack:
the key's script's webhook (URL, events, last delivery, failures count), "Send test" and "Replay
failures". The webhook is on a script of its own, which no other test's sessions belong to, so its
receiver hears only what this test does."""

import pytest
from playwright.sync_api import expect
from support.owners import operator_owner
from support.webhook_receiver import start_receiver


@pytest.fixture
def receiver():
    started = start_receiver()
    yield started
    started.stop()


@pytest.fixture
def owner(local_stack):
    """A script of this test's own and a key for it alone."""
    return operator_owner(local_stack, "webhook section")


@pytest.fixture
def webhook(local_stack, owner, receiver):
    path = f"/scripts/{owner.script_id}/webhook"
    with local_stack.client(owner.api_key) as api:
        answer = api.put(
            path, json={"url": receiver.url, "events": ["session.connected", "session.disconnected"]}
        )
        assert answer.status_code == 200, answer.text
        yield answer.json()["webhook"]
        api.delete(path)


def test_the_section_shows_the_webhook_sends_a_test_and_replays(visit, owner, webhook, receiver):
    page = visit.open(owner.api_key)
    section = page.get_by_role("region", name="Webhook")
    expect(page.get_by_label("Webhook of")).to_have_value(owner.script_id)
    expect(section.locator("#webhook-url")).to_have_text(receiver.url)
    expect(section.locator("#webhook-events")).to_have_text("session.connected, session.disconnected")
    expect(section.locator("#webhook-last")).to_have_text("none yet")
    expect(section.locator("#webhook-failures")).to_have_text("0")

    section.get_by_role("button", name="Send test").click()
    expect(section.locator("#webhook-status")).to_contain_text("Test delivered (HTTP 200")
    assert [d.events[0]["type"] for d in receiver.deliveries] == ["webhook.test"]
    expect(section.locator("#webhook-last")).to_contain_text("200 at ")

    section.get_by_role("button", name="Replay failures").click()
    expect(section.locator("#webhook-status")).to_have_text("0 events sent again.")


def test_a_script_without_a_webhook_says_so_and_offers_no_actions(visit, local_stack):
    page = visit.open(local_stack.api_key)
    section = page.get_by_role("region", name="Webhook")
    expect(section.locator("#webhook-status")).to_have_text(f"No webhook for {local_stack.script_id}.")
    expect(section.get_by_role("button", name="Send test")).to_be_disabled()
    expect(section.get_by_role("button", name="Replay failures")).to_be_disabled()
