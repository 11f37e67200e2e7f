#!/usr/bin/env bash
# Make sure the browser tests (tests/browser) have a Chromium: a system one when there is one, else
# Debian's chromium package when running as root with apt, else Playwright's own download.
# Usage: tools/ensure-chromium.sh [PYTHON]   (PYTHON: the project's venv python, for Playwright)
set -uo pipefail
PY=${1:-.venv/bin/python}
NAMES=(chromium chromium-browser google-chrome-stable google-chrome)

system_chromium() {
	local name
	for name in "${NAMES[@]}"; do command -v "$name" && return 0; done
	return 1
}

playwright_chromium() {
	"$PY" -c 'import os, sys
from playwright.sync_api import sync_playwright
with sync_playwright() as p:
    path = p.chromium.executable_path
sys.exit(0 if os.path.isfile(path) and print(path) is None else 1)' 2>/dev/null
}

found() {
	echo "browser tests: Chromium at $1"
	exit 0
}

if [ -n "${SESSION_RELAY_CHROMIUM:-}" ]; then
	[ -x "$SESSION_RELAY_CHROMIUM" ] && found "$SESSION_RELAY_CHROMIUM"
	echo "SESSION_RELAY_CHROMIUM=$SESSION_RELAY_CHROMIUM is not an executable file" >&2
	exit 1
fi
path=$(system_chromium) && found "$path"
path=$(playwright_chromium) && found "$path"

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
	echo "browser tests: no Chromium found; installing Debian's chromium package"
	export DEBIAN_FRONTEND=noninteractive
	if apt-get update -qq && apt-get install -y -qq chromium >/dev/null; then
		path=$(system_chromium) && found "$path"
	fi
	echo "browser tests: apt-get could not install chromium" >&2
fi

echo "browser tests: no Chromium found; trying Playwright's own download"
if "$PY" -m playwright install chromium; then
	path=$(playwright_chromium) && found "$path"
fi

cat >&2 <<'MESSAGE'
No Chromium for the browser tests (tests/browser), and none could be installed here. Do one of:
  - install Chromium or Google Chrome with your system's packages (Debian/Ubuntu: apt-get install chromium),
  - run: .venv/bin/python -m playwright install --with-deps chromium
  - or point SESSION_RELAY_CHROMIUM at a Chromium executable,
then run make test again.
MESSAGE
exit 1
