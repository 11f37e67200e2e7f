"""Owner webhooks over REST (PROTOCOL.md section 5): set, show, delete, rotate the secret, a test
delivery, and the failures list with its replay; every route scope ``manage``, a script the key does
not cover answered ``404``, bad input a ``422`` that changes nothing."""

import base64
import hashlib
import hmac
import json
import socket

import pytest
from session_relay.store.webhooks import DeliveryError
from support.webhook_queues import drop_queues, make_queues
from support.webhook_receiver import start_receiver

EVENT_TYPES = ["session.connected", "session.disconnected", "broadcast.done"]
HOOK = "/scripts/{}/webhook"


@pytest.fixture
def queues(boto3_session, monkeypatch):
    made = make_queues(boto3_session, monkeypatch, "routes-")
    yield made
    drop_queues(made)


@pytest.fixture
def receiver():
    started = start_receiver()
    yield started
    started.stop()


@pytest.fixture
def local(monkeypatch):
    monkeypatch.setenv("WEBHOOK_LOOPBACK_URLS", "allowed")


def put(client, owner, body, script=None):
    return client.request(
        "PUT", HOOK.format(script or owner.script_id), headers=owner.headers, json_body=body
    )


def test_creating_shows_the_secret_once_and_defaults_to_every_event_as_json(client, owner):
    answer = put(client, owner, {"url": "https://hooks.example.com/in"})
    assert answer.status_code == 200, answer.text
    hook = answer.json()["webhook"]
    assert hook["url"] == "https://hooks.example.com/in"
    assert hook["events"] == EVENT_TYPES
    assert hook["format"] == "json"
    secret = hook["secret"]
    assert secret.startswith("whsec_")
    assert len(base64.urlsafe_b64decode(secret[6:] + "=")) == 32

    shown = client.get(HOOK.format(owner.script_id), headers=owner.headers)
    assert shown.status_code == 200
    assert "secret" not in shown.json()["webhook"]
    assert shown.json()["webhook"]["last_delivery"] is None


def test_a_put_on_an_existing_webhook_updates_it_and_keeps_its_secret(client, owner, relay_store):
    first = put(client, owner, {"url": "https://a.example.com/"}).json()["webhook"]["secret"]
    again = put(
        client, owner, {"url": "https://b.example.com/", "events": ["session.connected"], "format": "discord"}
    )
    assert again.status_code == 200
    assert "secret" not in again.json()["webhook"]
    stored = relay_store.webhooks.get(owner.script_id)
    assert (stored.url, stored.events, stored.format, stored.secret) == (
        "https://b.example.com/",
        ("session.connected",),
        "discord",
        first,
    )


def test_rotating_shows_a_new_secret_that_signs_from_then_on(client, owner, relay_store):
    first = put(client, owner, {"url": "https://a.example.com/"}).json()["webhook"]["secret"]
    rotated = client.post(HOOK.format(owner.script_id) + "/rotate-secret", headers=owner.headers)
    assert rotated.status_code == 200
    second = rotated.json()["webhook"]["secret"]
    assert second != first
    assert second.startswith("whsec_")
    assert relay_store.webhooks.get(owner.script_id).secret == second


def test_deleting_removes_it_and_a_get_after_is_404(client, owner, failure):
    put(client, owner, {"url": "https://a.example.com/"})
    path = HOOK.format(owner.script_id)
    assert client.request("DELETE", path, headers=owner.headers).json() == {"success": True}
    assert failure(client.get(path, headers=owner.headers), 404) == "webhook not found"
    assert failure(client.request("DELETE", path, headers=owner.headers), 404)
    assert failure(client.post(path + "/rotate-secret", headers=owner.headers), 404)
    assert failure(client.post(path + "/test", headers=owner.headers), 404)


BAD_URLS = {
    "http": "http://hooks.example.com/in",
    "ip": "https://203.0.113.9/in",
    "ipv6": "https://[::1]/in",
    "decimal ip": "https://2130706433/in",
    "localhost": "https://localhost/in",
    "loopback http": "http://127.0.0.1:9000/in",
    "no host": "https:///in",
    "credentials": "https://user:pw@hooks.example.com/",
    "not a string": 5,
    "spaces": "https://hooks.example.com/a b",
}


@pytest.mark.parametrize("url", list(BAD_URLS.values()), ids=list(BAD_URLS))
def test_a_url_that_is_not_https_with_a_host_name_is_422_and_changes_nothing(
    client, owner, failure, relay_store, url
):
    sentence = failure(put(client, owner, {"url": url}), 422)
    assert sentence.startswith("url: must be an https URL with a host name (no IP address, no localhost) (")
    assert relay_store.webhooks.get(owner.script_id) is None


def test_the_local_stack_also_accepts_loopback_http_with_a_port(client, owner, failure, local):
    for url in ("http://127.0.0.1:9000/in", "http://localhost:9000/"):
        assert put(client, owner, {"url": url}).status_code == 200
    for url in ("http://127.0.0.1/in", "http://example.com:80/", "http://10.0.0.1:80/"):
        assert "or http://127.0.0.1:<port>" in failure(put(client, owner, {"url": url}), 422)


BAD_BODIES = {
    "no url": ({"events": ["session.connected"]}, "url: must be"),
    "empty events": ({"url": "https://a.example.com", "events": []}, "events: must be a list of distinct"),
    "unknown event": ({"url": "https://a.example.com", "events": ["session.nope"]}, "events: must be"),
    "event twice": ({"url": "https://a.example.com", "events": ["broadcast.done"] * 2}, "events: must be"),
    "events not a list": ({"url": "https://a.example.com", "events": "broadcast.done"}, "events: must be"),
    "format": ({"url": "https://a.example.com", "format": "xml"}, 'format: must be "json" or "discord"'),
    "extra": ({"url": "https://a.example.com", "secret": "mine"}, "secret: is not a field of this request"),
}


@pytest.mark.parametrize("case", list(BAD_BODIES))
def test_a_bad_body_is_422_naming_the_field(client, owner, failure, relay_store, case):
    body, start = BAD_BODIES[case]
    assert failure(put(client, owner, body), 422).startswith(start)
    assert relay_store.webhooks.get(owner.script_id) is None


def test_malformed_json_is_400_and_an_unknown_query_422(client, owner, failure):
    path = HOOK.format(owner.script_id)
    assert failure(client.request("PUT", path, headers=owner.headers, content="{no"), 400)
    assert failure(client.get(path, headers=owner.headers, params={"x": "1"}), 422) == (
        "x: is not a query parameter of this route (it takes none)"
    )


ROUTES = [
    ("PUT", "", {"url": "https://a.example.com/"}),
    ("GET", "", None),
    ("DELETE", "", None),
    ("POST", "/rotate-secret", None),
    ("POST", "/test", None),
    ("GET", "/failures", None),
    ("POST", "/failures/replay", None),
]


@pytest.mark.parametrize(("method", "tail", "body"), ROUTES, ids=[m + t for m, t, _ in ROUTES])
def test_another_owners_script_is_404_and_untouched(
    client, make_owner, failure, relay_store, method, tail, body
):
    mine, other = make_owner("script-mine"), make_owner("script-theirs")
    put(client, other, {"url": "https://theirs.example.com/"})
    before = relay_store.webhooks.get("script-theirs")
    path = HOOK.format("script-theirs") + tail
    assert (
        failure(client.request(method, path, headers=mine.headers, json_body=body), 404) == "script not found"
    )
    assert relay_store.webhooks.get("script-theirs") == before


def test_a_test_delivery_is_signed_with_the_secret_and_reports_what_the_endpoint_did(
    client, owner, receiver, local
):
    secret = put(client, owner, {"url": receiver.url}).json()["webhook"]["secret"]
    answer = client.post(HOOK.format(owner.script_id) + "/test", headers=owner.headers).json()
    assert answer["success"]
    assert answer["delivered"]
    assert answer["status"] == 200
    assert answer["error"] is None
    assert isinstance(answer["ms"], int)
    assert answer["ms"] >= 0
    (delivery,) = receiver.deliveries
    (event,) = delivery.events
    assert event["type"] == "webhook.test"
    assert event["script_id"] == owner.script_id
    assert event["id"].startswith("evt_")
    stamp, mac = delivery.headers["Session-Relay-Signature"].split(",")
    signed = stamp.removeprefix("t=").encode() + b"." + delivery.body
    assert mac.removeprefix("v1=") == hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    assert delivery.headers["Content-Type"] == "application/json"

    receiver.answers.append((500, b"no"))
    refused = client.post(HOOK.format(owner.script_id) + "/test", headers=owner.headers).json()
    assert (refused["delivered"], refused["status"], refused["error"]) == (
        False,
        500,
        "the endpoint answered 500",
    )
    last = client.get(HOOK.format(owner.script_id), headers=owner.headers).json()["webhook"]["last_delivery"]
    assert (last["status"], last["error"]) == (500, "the endpoint answered 500")


def test_a_test_delivery_to_nothing_listening_says_why(client, owner, receiver, local):
    url = receiver.url
    receiver.stop()  # the port is closed now
    put(client, owner, {"url": url})
    answer = client.post(HOOK.format(owner.script_id) + "/test", headers=owner.headers).json()
    assert answer["delivered"] is False
    assert answer["status"] is None
    assert answer["error"].startswith("could not reach the endpoint")


def _event(number, script_id):
    return {
        "id": f"evt_{number:032x}",
        "type": "session.connected",
        "created_at": 1_000 + number,
        "script_id": script_id,
        "data": {"id": f"s{number}"},
    }


def _dead_letter(queues, script_id, events):
    body = json.dumps({"script_id": script_id, "events": events})
    queues.client.send_message(
        QueueUrl=queues.dead_letters,
        MessageBody=body,
        MessageGroupId=script_id,
        MessageDeduplicationId=events[0]["id"],
    )


def test_failures_are_listed_with_their_last_error_and_replay_sends_them_back(
    client, make_owner, relay_store, queues
):
    owner = make_owner("script-mine")
    make_owner("script-theirs")
    put(client, owner, {"url": "https://a.example.com/"})
    mine = [_event(n, "script-mine") for n in range(3)]
    _dead_letter(queues, "script-mine", mine[:2])
    _dead_letter(queues, "script-mine", mine[2:])
    _dead_letter(queues, "script-theirs", [_event(9, "script-theirs")])
    relay_store.webhooks.record_errors([mine[0]["id"]], DeliveryError("the endpoint answered 503", 503, 5))

    path = HOOK.format("script-mine") + "/failures"
    page = client.get(path, headers=owner.headers, params={"limit": "2"}).json()
    assert [f["event"]["id"] for f in page["failures"]] == [mine[0]["id"], mine[1]["id"]]
    assert page["failures"][0]["last_error"] == {"error": "the endpoint answered 503", "status": 503, "at": 5}
    assert page["failures"][1]["last_error"] is None
    rest = client.get(path, headers=owner.headers, params={"cursor": page["next_cursor"]}).json()
    assert [f["event"]["id"] for f in rest["failures"]] == [mine[2]["id"]]
    assert rest["next_cursor"] is None

    replayed = client.post(path + "/replay", headers=owner.headers).json()
    assert replayed == {"success": True, "replayed": 3}
    assert client.get(path, headers=owner.headers).json()["failures"] == []
    queued = queues.messages(queues.queue)
    assert [e["id"] for m in queued for e in m["events"]] == [e["id"] for e in mine]
    left = queues.messages(queues.dead_letters)
    assert [m["script_id"] for m in left] == ["script-theirs"]  # another owner's failures stay


def test_a_bad_failures_query_is_422(client, owner, failure, queues):
    put(client, owner, {"url": "https://a.example.com/"})
    path = HOOK.format(owner.script_id) + "/failures"
    for params, start in (
        ({"limit": "0"}, "limit: must be"),
        ({"limit": "x"}, "limit: must be"),
        ({"cursor": "nope!"}, "cursor: must be"),
        ({"wait": "1"}, "wait: is not"),
    ):
        assert failure(client.get(path, headers=owner.headers, params=params), 422).startswith(start)


@pytest.mark.parametrize("address", ["10.1.2.3", "127.0.0.1", "169.254.169.254", "::1", "fd00::1"])
def test_a_host_name_that_resolves_inside_is_not_posted_to(client, owner, monkeypatch, address):
    put(client, owner, {"url": "https://inside.example.com/hook"})
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    resolved = [(family, socket.SOCK_STREAM, 6, "", (address, 443))]
    monkeypatch.setattr(socket, "getaddrinfo", lambda *args, **kwargs: resolved)
    answer = client.post(HOOK.format(owner.script_id) + "/test", headers=owner.headers).json()
    assert answer["delivered"] is False
    assert answer["status"] is None
    assert answer["error"] == f"the host resolves to a non-public address ({address})"
