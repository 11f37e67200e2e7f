"""The dashboard at 1000 sessions, in headless Chromium: how long the main thread is blocked.

    .venv/bin/python -m bench.dashboard [--sessions 1000] [--chromium PATH]

Prints JSON: the longest main-thread task (ms, from the browser's Long Tasks API; 0 means none over
50 ms) while the page renders a listing, re-renders it on Refresh and selects every row, plus the
wall time of each step (which includes the local stack's listing call). Not part of ``make test``.
"""

import argparse
import json
import secrets
import time

from playwright.sync_api import sync_playwright

from session_relay_tools.browser import CHROMIUM_ARGS, find_chromium
from session_relay_tools.local.process import start_stack, stop_stack
from session_relay_tools.simulate import Fleet, identity_for

# Long tasks (over 50 ms) of the main thread, recorded from the first script on.
WATCH_LONG_TASKS = """
window.longTasks = [];
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) window.longTasks.push(entry.duration);
}).observe({ type: "longtask", buffered: true });
"""


def measure(page, step, action, done) -> dict:
    page.evaluate("() => { window.longTasks = []; }")
    started = time.perf_counter()
    action()
    try:
        done()
    except Exception:
        print(f"{step}: the page says {page.locator('#status').text_content()!r}")
        raise
    wall_ms = (time.perf_counter() - started) * 1000
    page.wait_for_timeout(200)  # let the observer deliver the last entries
    tasks = page.evaluate("() => window.longTasks")
    return {"step": step, "wall_ms": round(wall_ms), "longest_task_ms": round(max(tasks, default=0))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--chromium", default=find_chromium())
    options = parser.parse_args()
    stack = start_stack()
    fleet = Fleet(stack.ws_url, stack.script_id)
    place_id = 1 + secrets.randbelow(2**40)
    try:
        for start in range(0, options.sessions, 100):  # in waves: handshakes at once would time out
            count = min(100, options.sessions - start)
            fleet.connect(count, identity=identity_for(stack.script_id, start, place_id=place_id))
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=options.chromium, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 860})
            page.add_init_script(WATCH_LONG_TASKS)
            page.goto(f"{stack.rest_url}/dashboard")
            page.get_by_label("Page size").select_option("1000")
            page.get_by_label("Place id").fill(str(place_id))
            page.get_by_label("Auto-refresh").uncheck()
            page.get_by_label("API key").fill(stack.api_key)
            shown = page.get_by_text(f"{options.sessions} live sessions shown")
            rows = page.locator("#sessions tbody tr")
            results = [
                measure(
                    page,
                    "first listing",
                    lambda: page.get_by_role("button", name="Use key").click(),
                    lambda: shown.wait_for(timeout=120_000),
                ),
                measure(
                    page,
                    "select all",
                    lambda: page.get_by_role("checkbox", name="Select all").check(),
                    lambda: page.get_by_text(f"{options.sessions} selected").wait_for(),
                ),
            ]

            def refresh() -> None:
                with page.expect_response(lambda r: "/sessions?" in r.url, timeout=120_000):
                    page.get_by_role("button", name="Refresh").click()

            # The response's arrival, then a second for the page to read and render it.
            results.append(
                measure(page, "refresh (selection kept)", refresh, lambda: page.wait_for_timeout(1000))
            )
            page.get_by_text(f"{options.sessions} selected").wait_for()
            results.append({"rows": rows.count(), "sessions": options.sessions})
            browser.close()
        print(json.dumps(results, indent=2))
    finally:
        fleet.stop()
        stop_stack(stack)


if __name__ == "__main__":
    main()
