"""docs/benchmarks.md's section on the local stack's own pace (``bench.pace``), before (moto in a child
process behind HTTP) and now."""

import json
from pathlib import Path
from typing import Any

from bench.report_targets import listed, mark

BEFORE = Path(__file__).parent / "pace_before.json"
TARGETS = {"gone_s": 20.0, "admitted": 250, "list_ms": 100.0}


def pace_section(results: dict[str, Any]) -> list[str]:
    pace = results.get("pace")
    if not pace:
        return []
    before = json.loads(BEFORE.read_text()) if BEFORE.exists() else {}
    lines = [
        "## 8. The local stack's pace",
        "",
        "Measured by `.venv/bin/python -m bench.pace_main` (also part of `make bench`), each scenario on",
        'a fresh local stack; "before" is the same scenarios on the stack whose moto ran in a child',
        "process behind HTTP (`bench/pace_before.json`, measured once on that code). Each wave runs",
        "three times (a fresh stack each): the figures are the run with the median time's.",
        "",
        "| scenario | figure | before | now | target |",
        "|---|---|---|---|---|",
    ]
    for name, title in (("wave", "1000 sessions"), ("wave_pending", "1000 sessions, a message pending each")):
        now, then = pace.get(name, {}), before.get(name, {})
        if not now:
            continue
        total, runs = now["total_s"], now.get("runs_total_s")
        shown = f"{total} s" if not runs else f"{total} s (median of {listed(runs)} s)"
        lines += [
            f"| {title} | connect, close, gone from the listing | {_s(then, 'total_s')} | {shown} | "
            f"≤ {TARGETS['gone_s']:.0f} s: {mark(total <= TARGETS['gone_s'])} |",
            f"| | handshakes a second | {_get(then, 'handshakes_per_s')} | {now['handshakes_per_s']} | |",
            f"| | WebSocket invocations a second | {_get(then, 'invocations_per_s')} | "
            f"{now['invocations_per_s']} | |",
            f"| | then {now['after']['attempted']} handshakes at once: admitted | "
            f"{_get(then.get('after', {}), 'admitted')} | {now['after']['admitted']} | "
            f"all{' (every run)' if runs else ''}: "
            f"{mark(now.get('admitted_every_run', now['after']['admitted'] == now['after']['attempted']))} |",
        ]
    many, then = pace.get("many"), before.get("many", {})
    if many:
        ms, bulk = many["list_limit_1_p50_ms"], many["bulk"]
        lines += [
            f"| {many['live']} live sessions | `GET /sessions?limit=1`, median | "
            f"{_get(then, 'list_limit_1_p50_ms', ' ms')} | {ms} ms | "
            f"< {TARGETS['list_ms']:.0f} ms: {mark(ms < TARGETS['list_ms'])} |",
            f"| | handshakes a second (connecting them) | {_get(then, 'handshakes_per_s')} | "
            f"{many['handshakes_per_s']} | |",
            f"| | one bulk echo to {bulk['sessions']} of them (one simulator process) | "
            f"{_bulk(then.get('bulk'))} | {_bulk(bulk)} | all processed: {mark(bulk['all_processed'])} |",
            "",
        ]
    return lines + _choices()


def _get(results: dict[str, Any], key: str, unit: str = "") -> str:
    return f"{results[key]}{unit}" if key in results else "n/a"


def _s(results: dict[str, Any], key: str) -> str:
    return _get(results, key, " s")


def _bulk(bulk: dict[str, Any] | None) -> str:
    if not bulk:
        return "n/a"
    return f"{bulk['wall_s']} s, all processed: {bulk['all_processed']}"


def _choices() -> list[str]:
    path = Path(__file__).parent / "pace_choices.md"
    return ["", *path.read_text().splitlines(), ""] if path.exists() else []
