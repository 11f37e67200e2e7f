"""A real headless Chromium (driven by Playwright) on the dashboard of a running local stack.

The page is opened under a stage path (``/prod/dashboard``), as API Gateway serves it: requests under
``/prod/`` are passed to the stack with the prefix removed, and any other request (the host's root, or
any other host) is refused and recorded, so a test fails if the page asks for anything but its own
relative URLs. Every test also fails on a page error, a console error (a CSP violation is one) or a
native dialog (``alert``/``confirm``) it did not expect.
"""

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from playwright.sync_api import Browser, Page, Playwright, Route, expect, sync_playwright

from session_relay_tools.browser import CHROMIUM_ARGS, find_chromium
from session_relay_tools.local.process import RunningStack

STAGE = "prod"
HTTP_ERROR_LOG = "Failed to load resource: the server responded with a status of"
# The machine is small and shared: give the page time to hear from the local stack.
expect.set_options(timeout=15_000)
# `make screenshot` sets this to refresh the README's picture; otherwise the test writes a temporary file.
SCREENSHOT_ENV = "SESSION_RELAY_SCREENSHOT"


def chromium_executable(playwright: Playwright) -> str:
    """The Chromium ``make browser`` found or installed (same search order as tools/ensure-chromium.sh)."""
    path = find_chromium(playwright.chromium.executable_path)
    if path is None:
        pytest.fail("no Chromium for the browser tests: run `make browser` (it finds or installs one)")
    return path


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=chromium_executable(playwright), args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        chromium.close()


@dataclass
class Visit:
    """What one page did: every request it made, what was refused, dialogs, errors."""

    page: Page
    stack: RunningStack
    origin: str
    requests: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"{self.origin}/{STAGE}/dashboard"

    def open(self, key: str | None = None) -> Page:
        """Load the dashboard; with ``key``, enter it and wait for the first listing."""
        self.page.goto(self.url)
        if key is not None:
            self.enter_key(key)
        return self.page

    def enter_key(self, key: str) -> None:
        """Type ``key`` and press Enter in its field, as an owner does (no other button to press)."""
        field = self.page.get_by_label("API key")
        field.fill(key)
        with self.page.expect_response(lambda r: "/sessions?" in r.url, timeout=60_000):
            field.press("Enter")

    def console(self, kind: str, text: str) -> None:
        # Chromium logs every 4xx/5xx answer; those are the API's (tested) answers, not page faults.
        if kind == "error" and not text.startswith(HTTP_ERROR_LOG):
            self.errors.append(f"console: {text}")

    def api_calls(self, method: str | None = None) -> list[str]:
        return [
            r for r in self.requests if "/dashboard" not in r and (method is None or r.startswith(method))
        ]


@contextlib.contextmanager
def visiting(browser: Browser, stack: RunningStack) -> Iterator[Visit]:
    """A fresh browser context on ``stack``'s dashboard, checked for refusals, dialogs and errors."""
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    origin = stack.rest_url
    seen = Visit(page, stack, origin)
    prefix = f"{origin}/{STAGE}/"

    def through_stage(route: Route) -> None:
        url = route.request.url
        if not url.startswith(prefix):
            seen.refused.append(url)
            route.abort("blockedbyclient")
            return
        response = route.fetch(url=f"{origin}/{url.removeprefix(prefix)}", timeout=90_000)
        route.fulfill(response=response)

    context.route("**/*", through_stage)
    page.on("request", lambda request: seen.requests.append(f"{request.method} {request.url}"))
    page.on("dialog", lambda dialog: (seen.dialogs.append(dialog.message), dialog.dismiss()))
    page.on("pageerror", lambda error: seen.errors.append(f"page error: {error}"))
    page.on("console", lambda message: seen.console(message.type, message.text))
    yield seen
    context.unroute_all(behavior="ignoreErrors")  # an auto-refresh may still be on its way
    context.close()
    assert seen.refused == [], "the page asked for something outside its own stage path"
    assert seen.dialogs == [], "a native dialog opened"
    assert seen.errors == []


@pytest.fixture
def visit(browser: Browser, local_stack: RunningStack) -> Iterator[Visit]:
    with visiting(browser, local_stack) as seen:
        yield seen
