"""``bench.storm``: its command answers --help, the rotation figure is measured (a small fleet in virtual
time, no server), and its section of docs/benchmarks.md is put in place between its markers."""

import subprocess
import sys
from pathlib import Path

from bench import storm
from bench.storm_report import SECTION_END, SECTION_START, write_section

ROOT = Path(__file__).resolve().parents[2]
RESULTS = {
    "rotation_window": {
        "clients": 40,
        "peak_per_second": 2,
        "seconds_with_rotations": 38,
        "first_s": 6010,
        "last_s": 6890,
    },
    "rotation_fixed_age": {
        "clients": 40,
        "peak_per_second": 40,
        "seconds_with_rotations": 1,
        "first_s": 6900,
        "last_s": 6900,
    },
    "drop": {
        "clients": 40,
        "rate_per_s": 20,
        "first_connect_s": 2.0,
        "reconnect_s": 3.5,
        "floor_s": 2.0,
        "refused_429": 12,
        "gave_up": 0,
        "connections_open": 40,
        "sessions_listed": 41,
        "stale_sessions_listed": 1,
        "disconnects_lost": 1,
    },
}


def test_storm_answers_help():
    answer = subprocess.run(
        [sys.executable, "-m", "bench.storm", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert answer.returncode == 0, answer.stderr
    assert "--rate" in answer.stdout


def test_a_fleet_in_a_window_rotates_spread_and_the_fixed_age_all_at_once(tmp_path):
    window = storm.rotation_peak(40, storm.CLIENT_PATH, vms=2)
    fixed = storm.rotation_peak(40, storm.fixed_age_client(tmp_path), vms=2)
    assert window["clients"] == fixed["clients"] == 40
    assert fixed["peak_per_second"] == 40  # every client in the same second
    assert fixed["seconds_with_rotations"] == 1
    assert window["peak_per_second"] <= 5
    assert 6000 <= window["first_s"] <= window["last_s"] <= 6901


def test_the_section_is_appended_once_then_replaced(tmp_path):
    page = tmp_path / "benchmarks.md"
    page.write_text("# Benchmarks\n\nother sections\n")
    write_section(RESULTS, page)
    write_section({**RESULTS, "drop": {**RESULTS["drop"], "reconnect_s": 9.9}}, page)
    text = page.read_text()
    assert text.startswith("# Benchmarks\n\nother sections\n")
    assert text.count(SECTION_START) == text.count(SECTION_END) == 1
    assert "| 9.9 s | 2.0 s | 12 | 0 | 40 | 41 | 1 | 1 |" in text
    assert "| 3.5 s |" not in text
