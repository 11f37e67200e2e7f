"""The owners' distribution (clients/python) as an owner gets it: its wheel, installed with one
``pip install`` (dependencies from the package index) into a fresh virtual environment of the oldest
Python it supports, then its ``session-relay`` and its SDK run against the local stack.

The interpreter is Python 3.10 when one is found (``$SESSION_RELAY_PYTHON310``, ``python3.10`` on
PATH, or pyenv's); otherwise the running one, which still shows the wheel stands alone.
"""

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from support.environment import REPO_ROOT

CLIENT = REPO_ROOT / "clients" / "python"
# What the repository's environment has and an owner's must not get.
NOT_INSTALLED = ("moto", "playwright", "pytest", "uvicorn", "boto3", "session-relay", "fastapi")
DEVELOPMENT_COMMANDS = ("dev", "simulate", "luau")

SDK_PROBE = """
import asyncio, json, sys
from session_relay_client import AsyncSessionRelay, SessionRelay, Unauthorized

url, key, place = sys.argv[1], sys.argv[2], int(sys.argv[3])
with SessionRelay(url, key) as relay:
    synced = [s.id for s in relay.iter_sessions(place_id=place)]
    try:
        SessionRelay(url, "sr_wrong").list_sessions()
        refused = None
    except Unauthorized as exc:
        refused = exc.status

async def listed():
    async with AsyncSessionRelay(url, key) as relay:
        return [s.id for s in (await relay.list_sessions(place_id=place)).sessions]

print(json.dumps({"sync": synced, "async": asyncio.run(listed()), "refused": refused}))
"""


def python310() -> str:
    """A Python 3.10 (the oldest the client supports), else the running interpreter."""
    found = [os.environ.get("SESSION_RELAY_PYTHON310"), shutil.which("python3.10")]
    pyenv = shutil.which("pyenv")
    if pyenv:
        root = subprocess.run([pyenv, "root"], capture_output=True, text=True, check=False).stdout.strip()
        found += sorted(
            str(path) for path in Path(root or "/nonexistent").glob("versions/3.10*/bin/python3.10")
        )
    for candidate in filter(None, found):
        probe = [candidate, "-c", "import sys, venv; sys.exit(sys.version_info[:2] != (3, 10))"]
        if subprocess.run(probe, capture_output=True, check=False).returncode == 0:
            return candidate
    return sys.executable


def run(*command: str | Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("SESSION_RELAY_", "PYTHON"))}
    return subprocess.run(
        [str(part) for part in command],
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
        env={**environment, "COLUMNS": "200"},
    )


@dataclass(frozen=True)
class Installed:
    python: Path
    command: Path
    version: str
    on_310: bool


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Installed:
    """The wheel built from a copy of clients/python (the tree gets no build files), installed
    with its dependencies into a fresh virtual environment."""
    work = tmp_path_factory.mktemp("client-wheel")
    source = work / "source"
    shutil.copytree(CLIENT, source, ignore=shutil.ignore_patterns("*.egg-info", "build", "__pycache__", ".*"))
    built = run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", work / "dist", source)
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = (work / "dist").glob("session_relay_client-*.whl")

    interpreter = python310()
    made = run(interpreter, "-m", "venv", work / "venv")
    assert made.returncode == 0, made.stderr[-3000:]
    bin_dir = work / "venv" / "bin"
    done = run(bin_dir / "python", "-m", "pip", "install", "-q", "--disable-pip-version-check", wheel)
    assert done.returncode == 0, done.stderr[-3000:]
    version = wheel.name.split("-")[1]
    return Installed(bin_dir / "python", bin_dir / "session-relay", version, interpreter != sys.executable)


def test_the_wheel_is_typed_and_runs_on_python_3_10(installed):
    done = run(
        installed.python,
        "-c",
        "import sys, importlib.resources as r; import session_relay_client as c; "
        "print('%d.%d' % sys.version_info[:2], r.files(c).joinpath('py.typed').is_file())",
    )
    assert done.returncode == 0, done.stderr[-3000:]
    version, typed = done.stdout.split()
    assert typed == "True"
    assert version == ("3.10" if installed.on_310 else f"{sys.version_info[0]}.{sys.version_info[1]}")


def test_only_the_clients_dependencies_are_installed(installed):
    listed = run(installed.python, "-m", "pip", "list", "--format=json", "--disable-pip-version-check")
    names = {package["name"].lower().replace("_", "-") for package in json.loads(listed.stdout)}
    assert {"session-relay-client", "httpx", "pydantic", "typer", "rich"} <= names
    assert not names & set(NOT_INSTALLED)
    layer = run(installed.python, "-c", "import session_relay")
    assert "No module named 'session_relay'" in layer.stderr


def test_version_and_help(installed):
    shown = run(installed.command, "--version")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == f"session-relay {installed.version}\n"

    helped = run(installed.command, "--help")
    assert helped.returncode == 0, helped.stderr
    commands = {line.strip("│ ").split()[0] for line in helped.stdout.splitlines() if line.startswith("│ ")}
    assert {"sessions", "admin"} <= commands
    assert not commands & set(DEVELOPMENT_COMMANDS)


def test_admin_without_the_extra_says_how_to_get_it(installed):
    refused = run(installed.command, "admin", "scripts", "list", "--dynamodb-endpoint", "http://127.0.0.1:9")
    assert refused.returncode == 1
    assert "pip install 'session-relay-client[admin]'" in refused.stderr


def test_the_cli_and_the_sdk_list_the_stacks_sessions(installed, local_stack, connect, place_id):
    (client,) = connect(1)
    target = ("--url", local_stack.rest_url, "--api-key", local_stack.api_key)

    listed = run(installed.command, *target, "sessions", "list", "--place-id", str(place_id), "--json")
    assert listed.returncode == 0, listed.stderr
    assert [s["id"] for s in json.loads(listed.stdout)["sessions"]] == [client.session_id]

    probe = run(installed.python, "-c", SDK_PROBE, local_stack.rest_url, local_stack.api_key, str(place_id))
    assert probe.returncode == 0, probe.stderr[-3000:]
    assert json.loads(probe.stdout) == {
        "sync": [client.session_id],
        "async": [client.session_id],
        "refused": 401,
    }
