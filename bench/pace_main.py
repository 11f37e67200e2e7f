"""``python -m bench.pace_main``: only the local stack's pace scenarios (``bench.pace``), on a stack of
their own; prints the results as JSON and, with ``--out``, writes them to a file."""

import argparse
import json
from pathlib import Path
from typing import Any

from bench import pace
from session_relay_tools.local.process import start_stack, stop_stack

SCENARIOS = ("wave", "wave_pending", "many")
# The waves' seconds are a target of their own on a shared machine: each wave runs this many times
# (a fresh stack each) and the run with the median time is the figure; every run's time is kept.
WAVE_RUNS = 3


def measure(quick: bool = False, only: list[str] | None = None) -> dict[str, Any]:
    """Each scenario on a fresh stack: one's backlog does not slow the next."""
    scale = 10 if quick else 1
    results: dict[str, Any] = {}
    plan = {
        "wave": lambda stack: pace.wave(stack, 1000 // scale, pending=False, after=250 // scale),
        "wave_pending": lambda stack: pace.wave(stack, 1000 // scale, pending=True, after=250 // scale),
        "many": lambda stack: pace.many(stack, 5000 // scale, bulk=1000 // scale),
    }
    for name, scenario in plan.items():
        if only and name not in only:
            continue
        runs = []
        for _ in range(1 if quick or name == "many" else WAVE_RUNS):
            print(f"pace: {name}...", flush=True)
            stack = start_stack()
            try:
                runs.append(scenario(stack))
            finally:
                stop_stack(stack)
            print(json.dumps(runs[-1]), flush=True)
        results[name] = _median_run(runs)
    return results


def _median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median time, with every run's time and whether every run admitted all."""
    if len(runs) == 1:
        return runs[0]
    ordered = sorted(runs, key=lambda run: run["total_s"])
    return {
        **ordered[len(ordered) // 2],
        "runs_total_s": [run["total_s"] for run in runs],
        "admitted_every_run": all(run["after"]["admitted"] == run["after"]["attempted"] for run in runs),
    }


def report(pace: dict[str, Any]) -> None:
    """The last full run's results with these pace results in place: the whole report again."""
    from bench.packaging import ROOT
    from bench.report import write_report

    path = ROOT / "bench" / "results.json"
    results = json.loads(path.read_text())
    results["pace"] = {**results.get("pace", {}), **pace}
    path.write_text(json.dumps(results, indent=2) + "\n")
    write_report(results, ROOT / "docs" / "benchmarks.md")


def main() -> None:
    parser = argparse.ArgumentParser(description="The local stack's pace scenarios alone.")
    parser.add_argument("--quick", action="store_true", help="a tenth of the counts, for a smoke run")
    parser.add_argument("--only", nargs="+", choices=SCENARIOS, help="these scenarios alone")
    parser.add_argument("--out", type=Path, help="also write the results (JSON) into this file (merged)")
    parser.add_argument(
        "--report",
        action="store_true",
        help="put the results into bench/results.json and rewrite docs/benchmarks.md from it",
    )
    args = parser.parse_args()
    results = measure(args.quick, args.only)
    if args.report:
        report(results)
    if args.out:
        earlier = json.loads(args.out.read_text()) if args.out.exists() else {}
        args.out.write_text(json.dumps({**earlier, **results}, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
