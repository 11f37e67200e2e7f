"""A real headless Chromium (driven by Playwright) on the dashboard of a running local stack.

The page is opened under a stage path (``/prod/dashboard``), as API Gateway serves it: requests under
``/prod/`` are passed to the stack with the prefix removed, and any other request (the host's root, or
any other host) is refused and recorded, so a test fails if the page asks for anything but its own
relative URLs. Every test also fails on a page error, a console error (a CSP violation is one) or a
native dialog (``alert``/``confirm``) it did not expect.
"""

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, Route, expect, sync_playwright

from session_relay_tools.local.process import RunningStack

STAGE = "prod"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome-stable", "google-chrome")
# The network here is closed: no component updates, sync or background requests from the browser.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
HTTP_ERROR_LOG = "Failed to load resource: the server responded with a status of"
# The machine is small and shared: give the page time to hear from the local stack.
expect.set_options(timeout=15_000)
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "dashboard.png"


def chromium_executable(playwright: Playwright) -> str:
    """The Chromium ``make browser`` found or installed (same search order as tools/ensure-chromium.sh)."""
    configured = os.environ.get("SESSION_RELAY_CHROMIUM")
    if configured:
        return configured
    for name in CHROMIUM_NAMES:
        if path := shutil.which(name):
            return path
    if os.path.isfile(playwright.chromium.executable_path):
        return playwright.chromium.executable_path
    pytest.fail("no Chromium for the browser tests: run `make browser` (it finds or installs one)")


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
        self.page.get_by_label("API key").fill(key)
        with self.page.expect_response(lambda r: "/sessions?" in r.url, timeout=60_000):
            self.page.get_by_role("button", name="Use key").click()

    def console(self, kind: str, text: str) -> None:
        # Chromium logs every 4xx/5xx answer; those are the API's (tested) answers, not page faults.
        if kind == "error" and not text.startswith(HTTP_ERROR_LOG):
            self.errors.append(f"console: {text}")

    def api_calls(self, method: str | None = None) -> list[str]:
        return [
            r for r in self.requests if "/dashboard" not in r and (method is None or r.startswith(method))
        ]


@pytest.fixture
def visit(browser: Browser, local_stack: RunningStack) -> Iterator[Visit]:
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    origin = local_stack.rest_url
    seen = Visit(page, local_stack, origin)
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
