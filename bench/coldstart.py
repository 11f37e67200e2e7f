"""Cold start: each function's entry module imported in a fresh interpreter, against ``import boto3``.

``import boto3`` is the floor every function pays in Lambda anyway. The runs are interleaved
(boto3, then each function, repeated) so a noisy machine slows all of them alike, and the figures
that matter are the ratios. ``python -X importtime`` then names what each import still costs.
"""

import os
import re
import statistics
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FUNCTIONS = ("rest_api", "ws_connect", "ws_disconnect", "ws_default")
# The REST target leaves room under 3 x for a loaded machine.
TARGETS = {"rest_api": 2.8, "ws_connect": 1.5, "ws_disconnect": 1.5, "ws_default": 1.5}

_ENV = {
    "SESSIONS_TABLE": "bench-sessions",
    "CONNECTIONS_TABLE": "bench-connections",
    "AUTH_TABLE": "bench-auth",
    "AWS_DEFAULT_REGION": "us-east-1",
}
_LOAD = (
    "import importlib.util, sys, time\n"
    "started = time.perf_counter()\n"
    "spec = importlib.util.spec_from_file_location('app', sys.argv[1])\n"
    "spec.loader.exec_module(importlib.util.module_from_spec(spec))\n"
    "print((time.perf_counter() - started) * 1000)\n"
)
_BOTO3 = (
    "import time\nstarted = time.perf_counter()\nimport boto3\n"
    "print((time.perf_counter() - started) * 1000)\n"
)
# What pydantic alone adds to boto3: the REST function pays it (FastAPI validates with it); the
# WebSocket functions check their input without it (session_relay.contract) and do not.
_PYDANTIC = (
    "import time\nstarted = time.perf_counter()\nimport boto3\nfrom pydantic import BaseModel\n"
    "print((time.perf_counter() - started) * 1000)\n"
)
# The layer ships without pydantic.v1 (layers/common/Makefile), which the development environment
# has: rest_api is also imported with it made unimportable, as in Lambda.
_WITHOUT_PYDANTIC_V1 = (
    "import importlib.abc, sys\n"
    "class _NoPydanticV1(importlib.abc.MetaPathFinder):\n"
    "    def find_spec(self, name, path, target=None):\n"
    "        if name == 'pydantic.v1' or name.startswith('pydantic.v1.'):\n"
    "            raise ModuleNotFoundError(name)\n"
    "sys.meta_path.insert(0, _NoPydanticV1())\n"
)
_AS_LAYERED = _WITHOUT_PYDANTIC_V1 + _LOAD
# The fixed stack alone, as the layer ships it: boto3, FastAPI with one route, Mangum, Powertools'
# Logger and Metrics. What rest_api costs beyond it is Session Relay's own code.
_STACK_FLOOR = _WITHOUT_PYDANTIC_V1 + (
    "import time\nstarted = time.perf_counter()\n"
    "import boto3\n"
    "from aws_lambda_powertools import Logger, Metrics\n"
    "from fastapi import FastAPI\n"
    "from mangum import Mangum\n"
    "app = FastAPI()\n"
    "@app.get('/health')\n"
    "async def health() -> dict:\n"
    "    return {'success': True}\n"
    "handler = Mangum(app)\n"
    "print((time.perf_counter() - started) * 1000)\n"
)
_LINE = re.compile(r"import time:\s+(\d+) \|\s+\d+ \|\s*(\S+)")


def _run(code: str, *args: str, flags: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    # Bytecode as deployed: the layer ships session_relay compiled (layers/common/Makefile), so the
    # probes may write and reuse __pycache__ (a warm-up round writes it before anything is timed).
    environ = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
    return subprocess.run(
        [sys.executable, *flags, "-c", code, *args],
        env={**environ, **_ENV},
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )


def _entry(name: str) -> str:
    return str(ROOT / "functions" / name / "app.py")


def import_times(repeats: int = 9) -> dict[str, Any]:
    """Import time (ms) of ``boto3`` and of each entry module, and each one's ratio to boto3."""
    samples: dict[str, list[float]] = {
        "boto3": [],
        "boto3+pydantic": [],
        "rest_api as layered": [],
        "stack floor": [],
        **{name: [] for name in FUNCTIONS},
    }
    for name in FUNCTIONS:  # warm-up: compiles what has no bytecode yet
        _run(_LOAD, _entry(name))
    for _ in range(repeats):
        samples["boto3"].append(float(_run(_BOTO3).stdout))
        samples["boto3+pydantic"].append(float(_run(_PYDANTIC).stdout))
        samples["rest_api as layered"].append(float(_run(_AS_LAYERED, _entry("rest_api")).stdout))
        samples["stack floor"].append(float(_run(_STACK_FLOOR).stdout))
        for name in FUNCTIONS:
            samples[name].append(float(_run(_LOAD, _entry(name)).stdout))
    # The fastest of the runs: on a shared machine, noise only ever adds time (as timeit reports).
    best = {name: round(min(values), 1) for name, values in samples.items()}
    medians = {name: round(statistics.median(values), 1) for name, values in samples.items()}
    ratios = {name: round(best[name] / best["boto3"], 2) for name in FUNCTIONS}
    pydantic_ratio = round(best["boto3+pydantic"] / best["boto3"], 2)
    layered_ratio = round(best["rest_api as layered"] / best["boto3"], 2)
    stack_ratio = round(best["stack floor"] / best["boto3"], 2)
    return {
        "repeats": repeats,
        "best_ms": best,
        "median_ms": medians,
        "ratio_to_boto3": ratios,
        "pydantic_ratio_to_boto3": pydantic_ratio,
        "rest_api_as_layered_ratio_to_boto3": layered_ratio,
        "stack_floor_ratio_to_boto3": stack_ratio,
        "targets": TARGETS,
    }


def import_breakdown(top: int = 8) -> dict[str, list[tuple[str, float]]]:
    """Per function, the top-level packages with the most import time of their own (ms), from
    ``python -X importtime`` (one run each: a breakdown, not a measurement to compare)."""
    result = {}
    for name in FUNCTIONS:
        report = _run(_LOAD, _entry(name), flags=("-X", "importtime")).stderr
        costs: Counter[str] = Counter()
        for self_us, module in _LINE.findall(report):
            costs[module.split(".")[0]] += int(self_us)
        result[name] = [(package, round(us / 1000, 1)) for package, us in costs.most_common(top)]
    return result
