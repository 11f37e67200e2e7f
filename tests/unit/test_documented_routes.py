"""The OpenAPI document is built on demand (session_relay.api.documented): the live routes carry no
documentation fields, and the document still holds every operation's answers, bodies (with examples)
and the scope each needs."""

import pytest
from fastapi.routing import APIRoute
from session_relay.api import ban_bodies, bodies
from session_relay.api.main import DOCUMENTED, _routes, app
from session_relay.api.responses import _ERRORS
from session_relay.api.routers import webhooks

WEBHOOK = "/scripts/{script_id}/webhook"
# Operation -> (the 200 answer's schema, every status it documents, the request body's schema).
OPERATIONS = {
    ("get", "/health"): ("Success", {200}, None),  # it ignores the query string: no 422
    ("get", "/key"): ("KeyAnswer", {200, 401, 422}, None),
    ("get", "/sessions"): ("SessionPage", {200, 401, 403, 422, 503}, None),
    ("get", "/sessions/{session_id}"): ("SessionAnswer", {200, 401, 403, 404, 422, 503}, None),
    ("post", "/sessions/disconnect"): (
        "BulkDisconnectAnswer",
        {200, 400, 401, 403, 413, 422, 429, 503},
        "BulkRequest",
    ),
    ("post", "/sessions/message"): (
        "BulkMessageAnswer",
        {200, 202, 400, 401, 403, 409, 413, 422, 429, 503},
        "BulkMessageRequest",
    ),
    ("post", "/sessions/{session_id}/disconnect"): ("Success", {200, 401, 403, 404, 422, 429, 503}, None),
    ("post", "/sessions/{session_id}/message"): (
        "MessageAnswer",
        {200, 202, 400, 401, 403, 404, 409, 413, 422, 429, 503},
        "MessageRequest",
    ),
    ("get", "/messages/{message_id}"): ("MessageOutcome", {200, 401, 403, 404, 422, 429, 503}, None),
    ("get", "/batches/{batch_id}"): ("BatchOutcome", {200, 401, 403, 404, 422, 429, 503}, None),
    ("post", "/broadcasts/message"): (
        "BroadcastAccepted",
        {202, 400, 401, 403, 409, 413, 422, 429, 503},
        "BroadcastMessageRequest",
    ),
    ("post", "/broadcasts/disconnect"): (
        "BroadcastAccepted",
        {202, 400, 401, 403, 409, 413, 422, 429, 503},
        "BroadcastDisconnectRequest",
    ),
    ("get", "/broadcasts"): ("BroadcastList", {200, 401, 403, 422, 503}, None),
    ("get", "/broadcasts/{broadcast_id}"): ("BroadcastAnswer", {200, 401, 403, 404, 422, 503}, None),
    ("get", "/broadcasts/{broadcast_id}/responses"): (
        "BroadcastResponses",
        {200, 401, 403, 404, 422, 503},
        None,
    ),
    ("post", "/broadcasts/{broadcast_id}/cancel"): ("Success", {200, 400, 401, 403, 404, 422, 503}, None),
    ("put", WEBHOOK): ("WebhookAnswer", {200, 400, 401, 403, 404, 413, 422, 503}, "WebhookRequest"),
    ("get", WEBHOOK): ("WebhookAnswer", {200, 401, 403, 404, 422, 503}, None),
    ("delete", WEBHOOK): ("Success", {200, 401, 403, 404, 422, 503}, None),
    ("post", WEBHOOK + "/rotate-secret"): ("WebhookAnswer", {200, 401, 403, 404, 422, 503}, None),
    ("post", WEBHOOK + "/test"): ("TestAnswer", {200, 401, 403, 404, 422, 503}, None),
    ("get", WEBHOOK + "/failures"): ("FailuresAnswer", {200, 401, 403, 404, 422, 503}, None),
    ("post", WEBHOOK + "/failures/replay"): ("ReplayAnswer", {200, 401, 403, 404, 422, 503}, None),
    ("post", "/bans"): ("BanCreated", {201, 400, 401, 403, 404, 409, 413, 422, 503}, "BanRequest"),
    ("get", "/bans"): ("BanPage", {200, 401, 403, 422, 503}, None),
    ("delete", "/bans/{ban_id}"): ("Success", {200, 401, 403, 404, 422, 503}, None),
}
# Operation -> the scope its key needs (PROTOCOL.md section 1, "Extension: scopes"); "any": any key.
SCOPES = {
    ("get", "/health"): None,
    ("get", "/key"): "any",
    ("get", "/sessions"): "read",
    ("get", "/sessions/{session_id}"): "read",
    ("post", "/sessions/disconnect"): "disconnect",
    ("post", "/sessions/message"): "message",
    ("post", "/sessions/{session_id}/disconnect"): "disconnect",
    ("post", "/sessions/{session_id}/message"): "message",
    ("get", "/messages/{message_id}"): "read",
    ("get", "/batches/{batch_id}"): "read",
    ("post", "/broadcasts/message"): "message",
    ("post", "/broadcasts/disconnect"): "disconnect",
    ("get", "/broadcasts"): "read",
    ("get", "/broadcasts/{broadcast_id}"): "read",
    ("get", "/broadcasts/{broadcast_id}/responses"): "read",
    ("post", "/broadcasts/{broadcast_id}/cancel"): "message or disconnect",
    **{(method, path): "manage" for method, path in OPERATIONS if path.startswith("/scripts/")},
    ("post", "/bans"): "disconnect",
    ("get", "/bans"): "read",
    ("delete", "/bans/{ban_id}"): "disconnect",
}


@pytest.fixture
def document(client):
    answer = client.get("/openapi.json")
    assert answer.status_code == 200
    return answer.json()


def _refs(node):
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _schema(schema, document):
    ref = schema.get("$ref", "")
    return document["components"]["schemas"][ref.removeprefix("#/components/schemas/")] if ref else schema


def test_the_document_lists_every_operation_once(document):
    listed = {(method, path) for path, operations in document["paths"].items() for method in operations}
    assert listed == set(OPERATIONS)


@pytest.mark.parametrize(("method", "path"), list(OPERATIONS))
def test_each_operation_documents_its_answers_and_body(document, method, path):
    answer_model, statuses, body_model = OPERATIONS[(method, path)]
    operation = document["paths"][path][method]

    assert {int(status) for status in operation["responses"]} == statuses
    success = next(code for code in ("200", "201", "202") if int(code) in statuses)
    ok = operation["responses"][success]["content"]["application/json"]["schema"]
    assert ok == {"$ref": f"#/components/schemas/{answer_model}"}
    for status in statuses - {200, 201, 202}:
        failure = operation["responses"][str(status)]
        assert failure["description"] == _ERRORS[status]
        assert failure["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Failure"}
    if body_model is None:
        assert "requestBody" not in operation
    else:
        body = operation["requestBody"]
        assert body["required"] is True
        schema = body["content"]["application/json"]["schema"]
        assert schema["title"] == body_model
        assert {"key", "session_ids", "filter", "url", "script_id"} & set(schema["properties"])


def test_every_reference_in_the_document_resolves(document):
    refs = set(_refs(document))
    assert "#/components/schemas/SessionFilter" in refs  # nested in the bulk bodies
    for ref in refs:
        assert ref.startswith("#/components/schemas/")
        assert ref.removeprefix("#/components/schemas/") in document["components"]["schemas"], ref


def test_a_documented_route_is_live_without_its_documentation_fields():
    live = [route for route in _routes(app.routes) if isinstance(route, APIRoute) and route.include_in_schema]

    assert {(next(iter(route.methods)).lower(), route.path) for route in live} == set(OPERATIONS)
    for route in live:
        assert route.response_model is None, route.path
        assert route.response_field is None, route.path
        assert route.response_fields == {}, route.path
        assert route.openapi_extra is None, route.path
    assert sum(len(router.documented) for router in DOCUMENTED) == len(OPERATIONS)


@pytest.mark.parametrize(("method", "path"), list(SCOPES))
def test_each_operation_names_the_scope_it_needs(document, method, path):
    operation = document["paths"][path][method]
    scope = SCOPES[(method, path)]

    if scope is None:  # no key at all
        assert "security" not in operation
        assert "x-required-scope" not in operation
    elif scope == "any":
        assert operation["security"] == [{"ApiKey": []}]
        assert "x-required-scope" not in operation
        assert "any scopes" in operation["description"]
    else:
        assert operation["security"] == [{"ApiKey": []}]
        assert operation["x-required-scope"] == scope
        assert f'"{scope}" scope' in operation["description"]
        assert "403" in operation["description"]


@pytest.mark.parametrize(
    "model", ["MessageRequest", "BulkRequest", "BulkMessageRequest", "WebhookRequest", "BanRequest"]
)
def test_each_request_body_has_examples_the_api_accepts(document, model):
    [schema] = [
        operation["requestBody"]["content"]["application/json"]["schema"]
        for path in document["paths"].values()
        for operation in path.values()
        if "requestBody" in operation
        and operation["requestBody"]["content"]["application/json"]["schema"]["title"] == model
    ]

    assert schema["examples"]
    for example in schema["examples"]:
        module = {"WebhookRequest": webhooks, "BanRequest": ban_bodies}.get(model, bodies)
        getattr(module, model).model_validate(example)
