"""Evidence for the REST function's MemorySize: its footprint and the CPU one message costs.

Lambda gives a function CPU in proportion to its memory, one vCPU at 1,769 MB
(https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html), and bills memory x
duration. The REST function mostly sleeps between polls, so a smaller size costs little latency
while every second of waiting costs in proportion to the size.
"""

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
ONE_VCPU_MB = 1769
SIZES_MB = (128, 256, 512, 1024)

_FOOTPRINT = """
import importlib.util, sys
spec = importlib.util.spec_from_file_location("app", sys.argv[1])
spec.loader.exec_module(importlib.util.module_from_spec(spec))
from session_relay.service.wiring import get_messaging
get_messaging()  # the DynamoDB and Management API clients a first request creates
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across exec.
status = dict(line.split(":", 1) for line in open("/proc/self/status"))
print(int(status["VmHWM"].split()[0]) // 1024)
"""


def rest_footprint_mb() -> int:
    """Peak RSS (MB) of a fresh interpreter that loaded the REST entry module and its clients."""
    env = {
        **os.environ,
        "SESSIONS_TABLE": "bench-sessions",
        "CONNECTIONS_TABLE": "bench-connections",
        "AUTH_TABLE": "bench-auth",
        "AWS_DEFAULT_REGION": "us-east-1",
        "MANAGEMENT_API_URL": "http://127.0.0.1:9/local",
    }
    completed = subprocess.run(
        [sys.executable, "-c", _FOOTPRINT, str(ROOT / "functions" / "rest_api" / "app.py")],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return int(completed.stdout.strip())


def _cpu_s(pid: int) -> float:
    """CPU seconds of ``pid`` and its live child processes (the stack's embedded database)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    children = {
        int(child)
        for listing in Path(f"/proc/{pid}/task").glob("*/children")
        for child in listing.read_text().split()
    }
    return own + sum(_cpu_s(child) for child in children)


def cpu_per_message(bench: Any, session_id: str, count: int = 100) -> dict[str, Any]:
    """CPU the local stack's processes (gateways, REST and WebSocket handlers; the embedded database's
    child) spend per answered echo message, and the wall time: an upper bound on the REST function's CPU."""
    pid = bench.stack.process.pid
    before, started = _cpu_s(pid), time.perf_counter()
    for index in range(count):
        bench.message(session_id, "echo", index)
    wall_ms = (time.perf_counter() - started) * 1000 / count
    cpu_ms = (_cpu_s(pid) - before) * 1000 / count
    return {"messages": count, "cpu_ms": round(cpu_ms, 2), "wall_ms": round(wall_ms, 2)}


def sizing(footprint_mb: int, cpu_ms: float, wait_s: float = 60.0) -> list[dict[str, Any]]:
    """Per memory size: the CPU share, the latency one message's CPU adds, and GB-s of a full wait."""
    rows = []
    for size in SIZES_MB:
        share = min(1.0, size / ONE_VCPU_MB)
        rows.append(
            {
                "memory_mb": size,
                "vcpu": round(share, 3),
                "cpu_time_ms": round(cpu_ms / share, 1),
                "footprint_share": round(footprint_mb / size, 2),
                "gb_s_per_full_wait": round(size / 1024 * wait_s, 1),
            }
        )
    return rows
