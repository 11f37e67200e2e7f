"""``/docs`` and ``/openapi.json`` work under the API Gateway stage path (PROTOCOL.md, Extensions):
the viewer served at ``https://…/prod/docs`` must load ``https://…/prod/openapi.json``."""

import re
from urllib.parse import urljoin


def _document_url(html: str) -> str:
    (url,) = re.findall(r"url: '([^']+)'", html)
    return url


def test_docs_load_the_openapi_document_inside_the_stage(client):
    answer = client.get("/docs")  # the event's stage is "prod", as in the sample events

    assert answer.status_code == 200
    page = "https://abc123.execute-api.us-east-1.amazonaws.com/prod/docs"
    assert (
        urljoin(page, _document_url(answer.text))
        == "https://abc123.execute-api.us-east-1.amazonaws.com/prod/openapi.json"
    )


def test_the_document_the_docs_load_is_served(client):
    answer = client.get("/" + _document_url(client.get("/docs").text))

    assert answer.status_code == 200
    assert answer.json()["info"]["title"] == "Session Relay"
