"""The SDK's webhooks (PROTOCOL.md section 5): ``verify_webhook`` accepts exactly what the server signs and
says why it refuses anything else; the webhook methods of both clients against the local stack."""

import asyncio
import hashlib
import hmac
import json
import time

import pytest
from session_relay_client import (
    AsyncSessionRelay,
    InvalidSignature,
    NotFound,
    ValidationError,
    verify_webhook,
)
from support.webhook_receiver import start_receiver

SECRET = "whsec_" + "A" * 43
BODY = json.dumps({"events": [{"id": "evt_1", "type": "session.connected"}]}).encode()


def header(body=BODY, secret=SECRET, stamp=None):
    stamp = int(time.time()) if stamp is None else stamp
    mac = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={mac}"


def test_a_good_signature_gives_the_events():
    assert verify_webhook(SECRET, BODY, header()) == [{"id": "evt_1", "type": "session.connected"}]
    assert verify_webhook(SECRET, BODY.decode(), header())[0]["id"] == "evt_1"


# Each header is made when its case runs: one made at collection would be stale by the time a long run
# reaches it.
REFUSED = {
    "no header": (lambda: None, "no Session-Relay-Signature header"),
    "malformed": (lambda: "v1=abc", "must read t=<unix seconds>,v1=<hex>"),
    "other secret": (lambda: header(secret="whsec_other"), "does not match"),
    "other body": (lambda: header(body=b'{"events":[]}'), "does not match"),
    "stale": (lambda: header(stamp=int(time.time()) - 301), "more than 300 s"),
    "from the future": (lambda: header(stamp=int(time.time()) + 400), "more than 300 s"),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_anything_else_is_refused_with_the_reason(case):
    make, reason = REFUSED[case]
    with pytest.raises(InvalidSignature, match=reason.replace("(", r"\(")):
        verify_webhook(SECRET, BODY, make())


def test_the_tolerance_and_the_clock_can_be_given():
    old = header(stamp=1_000)
    assert verify_webhook(SECRET, BODY, old, now=1_200)
    with pytest.raises(InvalidSignature):
        verify_webhook(SECRET, BODY, old, tolerance_s=60, now=1_200)


@pytest.fixture
def receiver():
    started = start_receiver()
    yield started
    started.stop()


def test_the_client_sets_tests_rotates_and_deletes_a_webhook(relay, local_stack, receiver):
    script = local_stack.script_id
    created = relay.set_webhook(script, receiver.url, events=["session.connected"])
    assert created.secret.startswith("whsec_")
    assert created.events == ["session.connected"]
    assert relay.get_webhook(script).secret is None

    result = relay.test_webhook(script)
    assert result.delivered
    assert result.status == 200
    (delivery,) = receiver.deliveries
    events = verify_webhook(created.secret, delivery.body, delivery.headers["Session-Relay-Signature"])
    assert events[0]["type"] == "webhook.test"

    rotated = relay.rotate_webhook_secret(script)
    assert rotated.secret != created.secret
    relay.test_webhook(script)
    with pytest.raises(InvalidSignature):
        verify_webhook(
            created.secret,
            receiver.deliveries[1].body,
            receiver.deliveries[1].headers["Session-Relay-Signature"],
        )
    assert relay.get_webhook(script).last_delivery.status == 200
    assert relay.webhook_failures(script).failures == []
    assert relay.replay_webhook_failures(script) == 0

    relay.delete_webhook(script)
    with pytest.raises(NotFound):
        relay.get_webhook(script)
    with pytest.raises(ValidationError, match="url: must be an https URL"):
        relay.set_webhook(script, "ftp://example.com/")


def test_the_async_client_has_the_same_methods(local_stack, receiver):
    async def run():
        async with AsyncSessionRelay(local_stack.rest_url, local_stack.api_key) as relay:
            created = await relay.set_webhook(local_stack.script_id, receiver.url, format="json")
            tested = await relay.test_webhook(local_stack.script_id)
            shown = await relay.get_webhook(local_stack.script_id)
            await relay.delete_webhook(local_stack.script_id)
            return created, tested, shown

    created, tested, shown = asyncio.run(run())
    assert created.secret
    assert tested.delivered
    assert shown.url == receiver.url
