"""The commands that hold many connections raise their soft limit on open files: a shell's 1024 (256 on
macOS) is too few for a thousand sessions. Each case runs in a process of its own that first lowers its
soft limit to 256, so the raise shows whatever limit this machine gives its shells."""

import json
import resource
import subprocess
import sys

LOW = 256
_, HARD = resource.getrlimit(resource.RLIMIT_NOFILE)
RAISED = 1 << 16 if HARD == resource.RLIM_INFINITY else min(HARD, 1 << 16)


def _with_low_limit(code: str) -> dict:
    """``code``'s last line of output (JSON), run by a fresh interpreter that first lowers its own soft
    limit to ``LOW`` (what it starts inherits that, as from a shell)."""
    lower = f"import resource\nresource.setrlimit(resource.RLIMIT_NOFILE, ({LOW}, {HARD}))\n"
    command = [sys.executable, "-c", lower + code]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_allow_many_open_files_raises_the_soft_limit_towards_the_hard_one():
    seen = _with_low_limit(
        "import json, resource\n"
        "from session_relay_tools.open_files import allow_many_open_files\n"
        "before = resource.getrlimit(resource.RLIMIT_NOFILE)[0]\n"
        "print(json.dumps({'before': before, 'after': allow_many_open_files(),"
        " 'hard': resource.getrlimit(resource.RLIMIT_NOFILE)[1]}))\n"
    )
    assert seen == {"before": LOW, "after": RAISED, "hard": HARD}


def test_the_local_stack_and_its_database_child_start_with_the_raised_limit():
    seen = _with_low_limit(
        "import json, os, resource\n"
        "from session_relay_tools.local.process import start_stack, stop_stack\n"
        "stack = start_stack()\n"
        "try:\n"
        "    pid = stack.process.pid\n"
        "    tasks = os.listdir(f'/proc/{pid}/task')\n"
        "    children = [c for t in tasks for c in open(f'/proc/{pid}/task/{t}/children').read().split()]\n"
        "    limits = {'stack': resource.prlimit(pid, resource.RLIMIT_NOFILE)[0],\n"
        "              'children': [resource.prlimit(int(c), resource.RLIMIT_NOFILE)[0] for c in children]}\n"
        "finally:\n"
        "    stop_stack(stack)\n"
        "print(json.dumps({**limits, 'own': resource.getrlimit(resource.RLIMIT_NOFILE)[0]}))\n"
    )
    assert seen["own"] == LOW  # the caller's limit is its own
    assert seen["stack"] == RAISED
    assert seen["children"]  # the embedded database's
    assert all(limit == RAISED for limit in seen["children"])


def test_a_fleet_of_simulated_clients_raises_its_process_limit():
    seen = _with_low_limit(
        "import json, resource\n"
        "from session_relay_tools.simulate import Fleet\n"
        "fleet = Fleet('ws://127.0.0.1:9', 'script_x')\n"
        "fleet.stop()\n"
        "print(json.dumps({'after': resource.getrlimit(resource.RLIMIT_NOFILE)[0]}))\n"
    )
    assert seen == {"after": RAISED}
