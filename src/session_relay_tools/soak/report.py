"""What a soak counts, and its summary: figures, invariants, the text printed at the end."""

import argparse
import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from session_relay_tools.local.process import RunningStack

MAX_REPORTED_FAILURES = 25


@dataclass
class Report:
    requests: Counter = field(default_factory=Counter)  # by kind
    statuses: Counter = field(default_factory=Counter)
    outcomes: Counter = field(default_factory=Counter)
    latencies_ms: dict[str, list[float]] = field(default_factory=lambda: {"single": [], "bulk": []})
    unanswered: int = 0
    wrong_replies: int = 0
    lost_replies: int = 0
    unexpected: int = 0
    bulk_entries: int = 0
    churn: Counter = field(default_factory=Counter)
    sessions_connected: int = 0
    failures: list[str] = field(default_factory=list)

    def fail(self, counter: str, message: str) -> None:
        setattr(self, counter, getattr(self, counter) + 1)
        if len(self.failures) < MAX_REPORTED_FAILURES:
            self.failures.append(message)


def percentile(values: list[float], fraction: float) -> float | None:
    """The nearest-rank percentile of ``values`` (None when empty)."""
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[max(0, math.ceil(fraction * len(ordered)) - 1)], 1)


def _stack_errors(output: list[str]) -> int:
    """Lines where a handler raised (the local gateway logs it, as Lambda would) or logged an error."""
    return sum(
        1
        for line in output
        if "Traceback" in line or "invocation failed" in line or '"level":"ERROR"' in line.replace(" ", "")
    )


def _checks(report: Report, server_errors: int, crashes: int, left: dict[str, int]) -> dict[str, bool]:
    """Every invariant, by name: True when it held."""
    return {
        "every request answered": report.unanswered == 0,
        "no 5xx": server_errors == 0,
        "no wrong or mixed reply": report.wrong_replies == 0,
        "no lost reply": report.lost_replies == 0,
        "no unexpected answer": report.unexpected == 0,
        "no crash in the stack's output": crashes == 0,
        "no session left": left["sessions"] == 0,
        "no connection mapping left": left["connection_mappings"] == 0,
        "no pending message left": left["pending_messages"] == 0,
    }


def _config(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "duration_s": args.duration,
        "sessions": args.sessions,
        "callers": args.callers,
        "churn_per_s": args.churn_per_s,
        "seed": args.seed,
    }


def _latency(report: Report) -> dict[str, dict[str, float | int | None]]:
    """p50, p99 and count of every request's latency, then of single and bulk requests apart."""
    every = report.latencies_ms["single"] + report.latencies_ms["bulk"]
    return {
        name: {"p50": percentile(values, 0.5), "p99": percentile(values, 0.99), "count": len(values)}
        for name, values in (("all", every), *report.latencies_ms.items())
    }


def summarize(
    report: Report,
    args: argparse.Namespace,
    output: list[str],
    ran_s: float,
    late_refused: int,
    left: dict[str, int],
) -> dict[str, Any]:
    """The run's figures and the verdict of every invariant."""
    crashes = _stack_errors(output)
    total = sum(count for kind, count in report.requests.items() if kind != "churn")
    server_errors = sum(count for status, count in report.statuses.items() if status >= 500)
    checks = _checks(report, server_errors, crashes, left)
    return {
        "ok": all(checks.values()),
        "checks": checks,
        "config": _config(args),
        "ran_s": round(ran_s, 1),
        "requests": total,
        "requests_per_s": round(total / ran_s, 1) if ran_s else None,
        "requests_by_kind": {k: v for k, v in sorted(report.requests.items()) if k != "churn"},
        "bulk_entries": report.bulk_entries,
        "statuses": {str(k): v for k, v in sorted(report.statuses.items())},
        "outcomes": dict(sorted(report.outcomes.items())),
        "server_errors": server_errors,
        "unanswered": report.unanswered,
        "wrong_replies": report.wrong_replies,
        "lost_replies": report.lost_replies,
        "unexpected": report.unexpected,
        "late_replies_refused": late_refused,
        "stack_errors": crashes,
        "latency_ms": _latency(report),
        "sessions_connected": report.sessions_connected,
        "churn": dict(report.churn),
        "left_in_dynamodb": left,
        "failures": report.failures,
    }


def leftovers(stack: RunningStack) -> dict[str, int]:
    """What a full scan of the stack's tables finds: sessions, connection mappings, messages by status."""
    connections = stack.scan("ConnectionsTable")
    return {
        "sessions": len(stack.scan("SessionsTable")),
        "connection_mappings": sum(1 for item in connections if item["item"]["S"] == "session"),
        "pending_messages": sum(1 for item in connections if item.get("status", {}).get("S") == "pending"),
        "answered_messages": sum(1 for item in connections if item.get("status", {}).get("S") == "answered"),
    }


def format_summary(summary: dict[str, Any]) -> str:
    latency = summary["latency_ms"]
    lines = [
        f"soak: {summary['config']['sessions']} sessions, {summary['config']['callers']} callers, "
        f"{summary['ran_s']} s",
        f"  requests        {summary['requests']} ({summary['requests_per_s']}/s), "
        f"{summary['bulk_entries']} bulk entries, by kind {summary['requests_by_kind']}",
        f"  statuses        {summary['statuses']}",
        f"  outcomes        {summary['outcomes']}",
        f"  latency ms      all p50 {latency['all']['p50']} p99 {latency['all']['p99']}; "
        f"single p50 {latency['single']['p50']} p99 {latency['single']['p99']}; "
        f"bulk p50 {latency['bulk']['p50']} p99 {latency['bulk']['p99']}",
        f"  sessions        {summary['sessions_connected']} connected, churn {summary['churn']}",
        f"  late replies    {summary['late_replies_refused']} refused",
        f"  left in DynamoDB {summary['left_in_dynamodb']}",
    ]
    lines += [f"  [{'ok' if passed else 'FAILED'}] {name}" for name, passed in summary["checks"].items()]
    lines += [f"  failure: {failure}" for failure in summary["failures"]]
    lines.append("soak passed" if summary["ok"] else "soak FAILED")
    return "\n".join(lines)
