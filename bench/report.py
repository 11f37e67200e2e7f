"""Turn one benchmark run's results into docs/benchmarks.md."""

from pathlib import Path
from typing import Any

TARGETS = {
    "ratio": 1.5,
    "prompt_requests": 6,
    "bulk_1000_s": 2.0,
    "round_calls": 12,
    "import_ms": 400,
    "layer_mb": 30,
}


def _mark(ok: bool) -> str:
    return "met" if ok else "**not met**"


def write_report(results: dict[str, Any], path: Path) -> None:
    trip = results["round_trip"]
    floor = trip["floor"]
    lines = [
        "# Benchmarks",
        "",
        "Measured by `make bench` against the local stack (REST and WebSocket gateways running the",
        "deployable handlers, the embedded moto DynamoDB in its own process), all on loopback, in one run.",
        f"Run: {results['started_at']}, Python {results['machine']['python']}, "
        f"{results['machine']['cpus']} CPUs, {results['machine']['platform']}.",
        "The raw numbers are in `bench/results.json`.",
        "",
        "## How to reproduce",
        "",
        "```sh",
        "make bench            # about 3 minutes; rewrites this file and bench/results.json",
        ".venv/bin/python -m bench --quick   # a smaller smoke run",
        "```",
        "",
        "## 1. Single message round trip (echo, sequential)",
        "",
        "| metric | value |",
        "|---|---|",
        f"| round trips | {trip['count']} |",
        f"| p50 | {trip['p50_ms']} ms |",
        f"| p99 | {trip['p99_ms']} ms |",
        f"| floor (sum of the operations below, each timed alone) | {floor['total_ms']} ms |",
        f"| p50 / floor | {trip['ratio_p50_to_floor']} (target ≤ {TARGETS['ratio']}: "
        f"{_mark(trip['ratio_p50_to_floor'] <= TARGETS['ratio'])}) |",
        "",
        "The floor is the minimal sequence one answered message needs, against the same embedded",
        "DynamoDB and local Management API, each call's median over 200 repetitions:",
        "",
        "| operation | median |",
        "|---|---|",
        *[f"| {name} | {ms} ms |" for name, ms in floor["operations_ms"].items()],
        "",
        "## 2. Operations per answered message (warm container, API key cached)",
        "",
        "| case | DynamoDB requests | by operation | Management API calls |",
        "|---|---|---|---|",
    ]
    for name, case in results["operations"].items():
        by_operation = ", ".join(f"{op} {n}" for op, n in case["dynamodb_by_operation"].items())
        lines.append(
            f"| {name} | {case['dynamodb_requests']} | {by_operation} | {case['management_api_calls']} |"
        )
    prompt = results["operations"]["prompt reply"]["dynamodb_requests"]
    lines += [
        "",
        f"Target ≤ {TARGETS['prompt_requests']} DynamoDB requests for a prompt reply: "
        f"{_mark(prompt <= TARGETS['prompt_requests'])}. Counted with botocore's `before-call` event in the",
        "local stack (both the REST and the WebSocket handlers' calls), so retries are not counted twice.",
        "",
        "## 3. Bulk message",
        "",
        f"Connecting the simulated sessions took {results['bulk']['connect_s']} s (not part of the figures).",
        "",
        "| sessions | wall time | all processed | DynamoDB calls in total | polling rounds | "
        "DynamoDB calls per polling round |",
        "|---|---|---|---|---|---|",
    ]
    for size, run in results["bulk"].items():
        if size == "connect_s":
            continue
        lines.append(
            f"| {size} | {run['wall_s']} s | {run['all_processed']} | {run['dynamodb_total']} | "
            f"{run['polling_rounds']} | {run['dynamodb_calls_per_polling_round']} |"
        )
    lines += [
        "",
        "The totals include the WebSocket side: every reply is its own `$default` invocation with two",
        "writes (the conditional reply and `last_seen_at`), as API Gateway would invoke it.",
        "",
        "## 4. Concurrency",
        "",
    ]
    conc = results["concurrency"]
    lines += [
        f"{conc['callers']} concurrent callers, each messaging its own session (echo) "
        f"for {conc['duration_s']} s:",
        "",
        "| messages | throughput | p50 | p99 | errors |",
        "|---|---|---|---|---|",
        f"| {conc['messages']} | {conc['throughput_per_s']} /s | {conc['p50_ms']} ms | {conc['p99_ms']} ms | "
        f"{conc['errors']} |",
        "",
        "## 5. Cold start and package size",
        "",
        "| function | import of the entry module (fresh interpreter, median) |",
        "|---|---|",
        *[f"| {name} | {ms} ms |" for name, ms in results["import_ms"].items()],
        "",
    ]
    sizes = results["package_mb"]
    if "error" in sizes:
        lines += [f"`sam build` failed, so no sizes: {sizes['error'][:300]}", ""]
    else:
        lines += [
            "| built by `sam build` (unzipped) | size |",
            "|---|---|",
            *[f"| {name} | {mb} MB |" for name, mb in sizes.items()],
            "",
        ]
    socketio = results["peer_socketio"]
    lines += [
        "## 6. The peer: python-socketio `call()`",
        "",
        "The same owner round trip (HTTP request in, `call()` to the connected client's `echo`, answer out)",
        "through a long-lived python-socketio server on uvicorn, measured in the same run:",
        "",
        "| | p50 | p99 |",
        "|---|---|---|",
        f"| Session Relay (local stack) | {trip['p50_ms']} ms | {trip['p99_ms']} ms |",
        f"| python-socketio `call()` | {socketio['p50_ms']} ms | {socketio['p99_ms']} ms |",
        "",
        "A long-lived server keeps the reply in memory; Session Relay pays for statelessness with",
        "DynamoDB writes and polls, which is what lets it run on Lambda with nothing to keep running.",
        "",
    ]
    path.write_text("\n".join(lines))
