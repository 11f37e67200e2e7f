"""The soak's command line: ``python -m session_relay_tools.soak --duration 60 ...``."""

import argparse
import json
import secrets
import sys

from session_relay_tools.soak.driver import run_soak
from session_relay_tools.soak.report import format_summary


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m session_relay_tools.soak",
        description="Soak a local stack (started on free loopback ports) with churning sessions and "
        "concurrent REST callers, then check that nothing was lost, leaked or left behind.",
    )
    parser.add_argument("--duration", type=float, default=60, help="seconds of load (default 60)")
    parser.add_argument("--sessions", type=int, default=300, help="simulated sessions kept connected")
    parser.add_argument("--callers", type=int, default=30, help="concurrent REST callers")
    parser.add_argument(
        "--churn-per-s", type=float, default=None, help="sessions replaced per second (default sessions/100)"
    )
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: random)")
    parser.add_argument("--json-out", default=None, help="also write the summary as JSON to this path")
    return parser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not 0 < args.duration <= 3600:
        parser.error("--duration must be between 0 and 3600 seconds")
    if not 3 <= args.sessions <= 2000:
        parser.error("--sessions must be between 3 and 2000")
    if not 1 <= args.callers <= 200:
        parser.error("--callers must be between 1 and 200")
    if args.churn_per_s is None:
        args.churn_per_s = max(0.5, args.sessions / 100)
    if args.churn_per_s <= 0:
        parser.error("--churn-per-s must be positive")
    if args.seed is None:
        args.seed = secrets.randbelow(2**31)
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    summary = run_soak(args)
    print(format_summary(summary), flush=True)
    if args.json_out:
        with open(args.json_out, "w") as out:
            json.dump(summary, out, indent=2)
            out.write("\n")
    sys.exit(0 if summary["ok"] else 1)
