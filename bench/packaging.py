"""Cold start and package sizes: importing each function's entry module, and what ``sam build`` makes."""

import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FUNCTIONS = ("rest_api", "ws_connect", "ws_disconnect", "ws_default")


def import_times(repeats: int = 5) -> dict[str, float]:
    """Median wall time to import each function's entry module in a fresh interpreter (ms)."""
    env = {
        **os.environ,
        "SESSIONS_TABLE": "bench-sessions",
        "CONNECTIONS_TABLE": "bench-connections",
        "AUTH_TABLE": "bench-auth",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    probe = (
        "import importlib.util, sys, time\n"
        "path = sys.argv[1]\n"
        "started = time.perf_counter()\n"
        "spec = importlib.util.spec_from_file_location('app', path)\n"
        "spec.loader.exec_module(importlib.util.module_from_spec(spec))\n"
        "print((time.perf_counter() - started) * 1000)\n"
    )
    result = {}
    for name in FUNCTIONS:
        samples = []
        for _ in range(repeats):
            output = subprocess.run(
                [sys.executable, "-c", probe, str(ROOT / "functions" / name / "app.py")],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            samples.append(float(output.strip()))
        result[name] = round(statistics.median(samples), 1)
    return result


def _size_mb(path: Path) -> float:
    return round(sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1_000_000, 3)


def package_sizes() -> dict[str, Any]:
    """Sizes of what ``sam build`` produces: the layer and each function package (MB, unzipped)."""
    sam = ROOT / ".venv-tools" / "bin" / "sam"
    if not sam.exists():
        return {"error": "AWS SAM CLI not installed (make install)"}
    python312 = Path(sys.executable).resolve().parent
    with tempfile.TemporaryDirectory() as build_dir:
        completed = subprocess.run(
            [str(sam), "build", "--build-dir", build_dir, "--template-file", str(ROOT / "template.yaml")],
            cwd=ROOT,
            env={**os.environ, "PATH": f"{python312}:{os.environ['PATH']}", "SAM_CLI_TELEMETRY": "0"},
            capture_output=True,
            text=True,
            check=False,
        )
        if completed.returncode != 0:
            return {"error": completed.stdout[-2000:] + completed.stderr[-2000:]}
        built = Path(build_dir)
        sizes = {"CommonLayer": _size_mb(built / "CommonLayer")}
        for folder in sorted(built.iterdir()):
            if folder.is_dir() and folder.name.endswith("Function"):
                sizes[folder.name] = _size_mb(folder)
        return sizes
