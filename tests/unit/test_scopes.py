"""A key's scopes (PROTOCOL.md section 1, "Extension: scopes"): each route needs one (``GET /key`` any),
a call its key's scopes do not allow is a 403 that names the scope, changes nothing and sends nothing,
and the check runs right after the key, before the query and the body ("Errors": route -> key ->
scope -> body -> calls in flight -> session)."""

import json

import pytest
from session_relay.service import wiring
from support.broadcasts import MemoryQueue
from support.tables import scan

from session_relay_tools.template import TABLE_ENVIRONMENT

ALL = ("read", "message", "disconnect", "manage")
# What each scope lets a key do, as the 403's sentence says it.
DOES = {
    "read": "read sessions or the outcomes of messages",
    "message": "message sessions",
    "disconnect": "disconnect sessions",
    "manage": "manage webhooks",
}
UNKNOWN_ID = "0" * 32
WEBHOOK = "/scripts/script-scoped/webhook"

# Route -> (method, path, body, the scope it needs (None: any), its answer when allowed).
# "{id}" stands for the caller's live session.
ROUTES = {
    "list": ("GET", "/sessions", None, "read", 200),
    "get": ("GET", "/sessions/{id}", None, "read", 200),
    "message": ("POST", "/sessions/{id}/message", {"key": "echo", "timeout": 5}, "message", 200),
    "message_many": (
        "POST",
        "/sessions/message",
        {"session_ids": ["{id}"], "key": "echo", "timeout": 5},
        "message",
        200,
    ),
    "disconnect": ("POST", "/sessions/{id}/disconnect", None, "disconnect", 200),
    "disconnect_many": ("POST", "/sessions/disconnect", {"session_ids": ["{id}"]}, "disconnect", 200),
    "read_message": ("GET", f"/messages/{UNKNOWN_ID}", None, "read", 404),
    "read_batch": ("GET", f"/batches/{UNKNOWN_ID}", None, "read", 404),
    "key": ("GET", "/key", None, None, 200),
    "broadcast_message": ("POST", "/broadcasts/message", {"filter": {}, "key": "echo"}, "message", 202),
    "broadcast_disconnect": ("POST", "/broadcasts/disconnect", {"filter": {}}, "disconnect", 202),
    "broadcasts": ("GET", "/broadcasts", None, "read", 200),
    "read_broadcast": ("GET", f"/broadcasts/{UNKNOWN_ID}", None, "read", 404),
    "broadcast_responses": ("GET", f"/broadcasts/{UNKNOWN_ID}/responses", None, "read", 404),
    # Webhooks (PROTOCOL.md section 5): the caller's script has none until the PUT makes one.
    "webhook_put": ("PUT", WEBHOOK, {"url": "https://hooks.example.com/in"}, "manage", 200),
    "webhook_get": ("GET", WEBHOOK, None, "manage", 404),
    "webhook_delete": ("DELETE", WEBHOOK, None, "manage", 404),
    "webhook_rotate": ("POST", WEBHOOK + "/rotate-secret", None, "manage", 404),
    "webhook_test": ("POST", WEBHOOK + "/test", None, "manage", 404),
    "webhook_failures": ("GET", WEBHOOK + "/failures", None, "manage", 404),
    "webhook_replay": ("POST", WEBHOOK + "/failures/replay", None, "manage", 404),
    "ban": ("POST", "/bans", {"script_id": "script-scoped", "user_key": "banned-user"}, "disconnect", 201),
    "list_bans": ("GET", "/bans", None, "read", 200),
    "lift_ban": ("DELETE", f"/bans/ban_{UNKNOWN_ID}", None, "disconnect", 404),
}
KEYS = {"only-" + scope: (scope,) for scope in ALL} | {"no-scope": (), "every-scope": ALL}


def refusal(scope: str, has: tuple[str, ...]) -> str:
    listed = ", ".join(has) or "none"
    return f'this API key may not {DOES[scope]} (it needs the "{scope}" scope; it has: {listed})'


@pytest.fixture
def work_queue(monkeypatch, virtual_clock):
    """Broadcasts queue their work in memory (nothing runs it: a 202 is all these tests look at)."""
    queue = MemoryQueue(virtual_clock)
    monkeypatch.setattr(wiring, "get_queue", lambda: queue)
    return queue


def call(client, owner, route: str, session_id: str):
    """The route for this session; a message goes with an ``Idempotency-Key`` (a refused call must not
    keep its record either)."""
    method, path, body, _, _ = ROUTES[route]
    if body is not None:
        body = json.loads(json.dumps(body).replace("{id}", session_id))
    retry = {"Idempotency-Key": f"matrix-{route}"} if route.startswith("message") or route == "ban" else {}
    headers = {**owner.headers, **retry}
    return client.request(method, path.replace("{id}", session_id), headers=headers, json_body=body)


def everything(dynamodb, aws) -> dict[str, list]:
    """Every item of every table, to show a call changed nothing."""
    names = [aws[variable] for variable in TABLE_ENVIRONMENT.values()]
    return {name: sorted(scan(dynamodb, name), key=json.dumps) for name in names}


@pytest.mark.parametrize("scopes", list(KEYS.values()), ids=list(KEYS))
@pytest.mark.parametrize("route", list(ROUTES))
def test_each_route_allows_the_keys_with_its_scope_and_refuses_the_others(
    client, make_owner, connect, relay_store, dynamodb, aws, failure, route, scopes, work_queue
):
    owner = make_owner("script-scoped", scopes=scopes)
    session = connect(owner.script_id)
    needed, allowed_status = ROUTES[route][3], ROUTES[route][4]
    before = everything(dynamodb, aws)

    answer = call(client, owner, route, session.session_id)

    if needed is None or needed in scopes:
        assert answer.status_code == allowed_status, answer.text
        if allowed_status == 404:
            assert answer.json()["error"] in (
                "message not found",
                "batch not found",
                "broadcast not found",
                "webhook not found",
                "ban not found",
            )
        if route.startswith("message"):
            assert [frame["type"] for frame in session.received] == ["message"]
        return
    assert failure(answer, 403) == refusal(needed, scopes)
    assert session.received == []  # no message frame, no disconnect frame
    assert relay_store.sessions.get(session.session_id) is not None
    assert everything(dynamodb, aws) == before


def test_the_sentence_names_what_the_key_may_not_do_the_scope_and_what_it_has(
    client, make_owner, connect, failure
):
    reader = make_owner("script-scoped", scopes=("read",))
    # Stored in any order, shown in the order read, message, disconnect, manage.
    two = make_owner("script-scoped", scopes=("manage", "read"))
    session = connect("script-scoped")

    assert failure(call(client, reader, "message", session.session_id), 403) == (
        'this API key may not message sessions (it needs the "message" scope; it has: read)'
    )
    assert failure(call(client, two, "disconnect", session.session_id), 403) == (
        'this API key may not disconnect sessions (it needs the "disconnect" scope; it has: read, manage)'
    )
    assert client.get("/key", headers=two.headers).json()["key"]["scopes"] == ["read", "manage"]


# ------------------------------------------------------------------------------------------------
# The order of checks: route -> key (401) -> scope (403) -> body (400/413/422) -> ... -> session (404)
# ------------------------------------------------------------------------------------------------


def test_a_missing_or_unknown_key_is_401_before_any_scope(client, failure):
    for headers in ({}, {"Authorization": "Bearer sr_unknown"}):
        answer = client.post("/sessions/s/message", headers=headers, json={"key": 5})
        assert failure(answer, 401)


def test_an_unknown_route_or_method_comes_before_the_scope(client, make_owner, failure):
    reader = make_owner(scopes=())
    assert failure(client.get("/nope", headers=reader.headers), 404) == "no route GET /nope"
    assert failure(client.request("PUT", "/sessions", headers=reader.headers), 405)


# A request that is wrong in every later way: what a key without the scope gets (403) and what a key
# with it gets (the later check's answer).
MESSAGE = "/sessions/{id}/message"
WRONG = {
    "field": ({"json_body": {"key": 5}}, MESSAGE, 422),
    "json": ({"content": "{not json"}, MESSAGE, 400),
    "size": ({"content": json.dumps({"key": "k", "data": "x" * 1_100_000})}, MESSAGE, 413),
    "query": ({"params": {"bogus": "1"}}, MESSAGE, 422),
    "header": ({"json_body": {"key": "k"}, "headers": {"Idempotency-Key": ""}}, MESSAGE, 422),
    "session": ({"json_body": {"key": "k"}}, "/sessions/no-such-session/message", 404),
}


@pytest.mark.parametrize("case", list(WRONG))
def test_the_scope_is_checked_before_the_query_the_body_and_the_session(
    client, make_owner, connect, failure, case
):
    reader, sender = make_owner("script-scoped", scopes=("read",)), make_owner("script-scoped")
    session = connect("script-scoped")
    request, path, later_status = WRONG[case]
    path = path.replace("{id}", session.session_id)

    def send(owner):
        headers = {**owner.headers, **request.get("headers", {})}
        return client.request("POST", path, **{**request, "headers": headers})

    assert failure(send(reader), 403) == refusal("message", ("read",))
    assert failure(send(sender), later_status)
    assert session.received == []


def test_reads_check_the_scope_before_their_query(client, make_owner, failure):
    sender, reader = make_owner(scopes=("message",)), make_owner(scopes=("read",))
    for path, query in (
        ("/sessions", {"limit": "0"}),
        ("/sessions", {"bogus": "1"}),
        (f"/messages/{UNKNOWN_ID}", {"wait": "soon"}),
        (f"/batches/{UNKNOWN_ID}", {"other": "1"}),
    ):
        assert failure(client.get(path, headers=sender.headers, params=query), 403) == refusal(
            "read", ("message",)
        )
        assert failure(client.get(path, headers=reader.headers, params=query), 422)
