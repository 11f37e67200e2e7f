"""The headless Chromium the browser suite and the dashboard benchmark drive (through Playwright).

Which Chromium: ``SESSION_RELAY_CHROMIUM``, else one on ``PATH``, else Playwright's own download
(the order ``tools/ensure-chromium.sh`` installs in).
"""

import os
import shutil

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome-stable", "google-chrome")
# The network here may be closed: no component updates, sync or background requests from the browser.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def find_chromium(playwright_download: str | None = None) -> str | None:
    """The Chromium executable to launch, or None when there is none."""
    configured = os.environ.get("SESSION_RELAY_CHROMIUM")
    if configured:
        return configured
    for name in CHROMIUM_NAMES:
        if path := shutil.which(name):
            return path
    if playwright_download and os.path.isfile(playwright_download):
        return playwright_download
    return None
