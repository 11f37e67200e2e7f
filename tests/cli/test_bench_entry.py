"""``make bench`` is not part of ``make test``; its entry point must still import and parse."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_entry_point_imports_every_bench_module_and_answers_help():
    answer = subprocess.run(
        [sys.executable, "-m", "bench", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert answer.returncode == 0, answer.stderr
    assert "--quick" in answer.stdout
