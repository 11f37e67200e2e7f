"""GET /dashboard and its files through the REST Lambda entry point: strict security headers, text
answers API Gateway passes through as they are, and a page that loads nothing but its own relative files."""

import re
from html.parser import HTMLParser

import pytest
from session_relay.api import app
from session_relay.dashboard import ASSETS, CONTENT_SECURITY_POLICY, PAGE, static_file
from support.events import load_event

EXPECTED_POLICY = {
    "default-src": ["'none'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["data:"],
    "connect-src": ["'self'"],
    "base-uri": ["'none'"],
    "form-action": ["'none'"],
    "frame-ancestors": ["'none'"],
    "require-trusted-types-for": ["'script'"],
    "trusted-types": ["'none'"],
}
PATHS = ["/dashboard", *(f"/dashboard/{path}" for path in ASSETS)]


def policy(header: str) -> dict[str, list[str]]:
    directives = [part.split() for part in header.split(";") if part.strip()]
    return {name: values for name, *values in directives}


def lowered(headers: dict[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def dashboard_event(path: str) -> dict:
    event = load_event("rest/dashboard")
    event["path"] = path
    event["pathParameters"] = {"proxy": path.lstrip("/")}
    event["requestContext"]["path"] = f"/prod{path}"
    return event


@pytest.mark.parametrize("path", PATHS)
def test_dashboard_files_carry_the_strict_security_headers(client, path):
    answer = client.get(path)
    headers = lowered(answer.headers)

    assert answer.status_code == 200
    assert policy(headers["content-security-policy"]) == EXPECTED_POLICY
    assert "unsafe" not in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["x-frame-options"] == "DENY"
    assert headers["cross-origin-opener-policy"] == "same-origin"


@pytest.mark.parametrize("path", PATHS)
def test_dashboard_files_are_text_api_gateway_passes_through(function_handlers, lambda_context, path):
    answer = function_handlers["rest_api"](dashboard_event(path), lambda_context)
    name, media_type = ASSETS.get(path.removeprefix("/dashboard/"), PAGE)

    assert answer["statusCode"] == 200
    assert answer["isBase64Encoded"] is False
    assert lowered(answer["headers"])["content-type"] == media_type
    assert media_type.startswith("text/")
    assert answer["body"] == static_file(name).decode()


def test_the_page_needs_no_key_to_load(client):
    answer = client.get("/dashboard")
    assert answer.status_code == 200
    assert "<title>Session Relay dashboard</title>" in answer.text


def test_unknown_dashboard_file_is_the_contracts_404(client, failure):
    assert failure(client.get("/dashboard/secrets.js"), 404) == "no route GET /dashboard/secrets.js"
    assert failure(client.get("/dashboard/../template.yaml"), 404)


def test_dashboard_is_read_only(client, failure):
    assert failure(client.post("/dashboard", json={}), 405) == "method POST is not allowed on /dashboard"


def test_dashboard_is_not_part_of_the_openapi_document():
    assert not [path for path in app.openapi()["paths"] if path.startswith("/dashboard")]


class PageParts(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.script_text = ""

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_data(self, data):
        if getattr(self, "_in_script", False):
            self.script_text += data.strip()

    def handle_endtag(self, tag):
        self._in_script = False


def page_parts() -> PageParts:
    parts = PageParts()
    parts.feed(static_file("index.html").decode())
    return parts


def test_page_has_no_inline_script_style_or_event_handler():
    parts = page_parts()
    tags = [tag for tag, _ in parts.tags]
    attributes = [name for _, attrs in parts.tags for name in attrs]

    assert "style" not in tags
    assert parts.script_text == ""
    assert all(attrs.get("src") for tag, attrs in parts.tags if tag == "script")
    assert "style" not in attributes
    assert not [name for name in attributes if name.startswith("on")]


def test_page_loads_only_its_own_files_by_relative_urls():
    parts = page_parts()
    urls = [attrs[name] for _, attrs in parts.tags for name in ("src", "href") if attrs.get(name)]

    assert sorted(urls) == ["dashboard/app.js", "dashboard/broadcasts.js", "dashboard/style.css", "data:,"]
    # app.js and broadcasts.js (the page loads both) import the other modules relative to themselves:
    # every one of them is served.
    imported = set()
    for name, (file_name, _) in ASSETS.items():
        if name.endswith(".js"):
            imported |= set(re.findall(r'from "\./([a-z]+\.js)"', static_file(file_name).decode()))
    assert imported == {name for name in ASSETS if name.endswith(".js")} - {"app.js", "broadcasts.js"}


def code_lines(name: str) -> list[str]:
    text = static_file(name).decode()
    return [line for line in text.splitlines() if not line.lstrip().startswith(("//", "/*", "*"))]


@pytest.mark.parametrize("name", [name for name in ASSETS if name.endswith(".js")])
def test_scripts_write_data_as_text_and_keep_the_key_out_of_storage(name):
    code = "\n".join(code_lines(name))
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "Function("):
        assert sink not in code
    for storage in ("localStorage", "document.cookie", "indexedDB"):
        assert storage not in code
    assert "://" not in code  # no absolute URL: every call is relative to the page
    assert not re.search(r"""(fetch|URL)\(\s*["'`]/""", code)


def test_styles_load_nothing():
    css = static_file("style.css").decode()
    assert "url(" not in css
    assert "@import" not in css


def test_policy_constant_matches_the_expected_policy():
    assert policy(CONTENT_SECURITY_POLICY) == EXPECTED_POLICY
