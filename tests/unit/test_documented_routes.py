"""The OpenAPI document is built on demand (session_relay.api.documented): the live routes carry no
documentation fields, and the document still holds every operation's answers and bodies."""

import pytest
from fastapi.routing import APIRoute
from session_relay.api.main import DOCUMENTED, _routes, app
from session_relay.api.responses import _ERRORS

# Operation -> (the 200 answer's schema, every status it documents, the request body's schema).
OPERATIONS = {
    ("get", "/health"): ("Success", {200, 422}, None),
    ("get", "/sessions"): ("SessionPage", {200, 401, 422, 503}, None),
    ("get", "/sessions/{session_id}"): ("SessionAnswer", {200, 401, 404, 422, 503}, None),
    ("post", "/sessions/disconnect"): (
        "BulkDisconnectAnswer",
        {200, 400, 401, 413, 422, 429, 503},
        "BulkRequest",
    ),
    ("post", "/sessions/message"): (
        "BulkMessageAnswer",
        {200, 202, 400, 401, 409, 413, 422, 429, 503},
        "BulkMessageRequest",
    ),
    ("post", "/sessions/{session_id}/disconnect"): ("Success", {200, 401, 404, 422, 429, 503}, None),
    ("post", "/sessions/{session_id}/message"): (
        "MessageAnswer",
        {200, 202, 400, 401, 404, 409, 413, 422, 429, 503},
        "MessageRequest",
    ),
    ("get", "/messages/{message_id}"): ("MessageOutcome", {200, 401, 404, 422, 429, 503}, None),
    ("get", "/batches/{batch_id}"): ("BatchOutcome", {200, 401, 404, 422, 429, 503}, None),
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
    ok = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": f"#/components/schemas/{answer_model}"}
    for status in statuses - {200, 202}:
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
        assert "key" in schema["properties"] or "session_ids" in schema["properties"]


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
