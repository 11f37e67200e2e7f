"""Turn one benchmark run's results into docs/benchmarks.md."""

from pathlib import Path
from typing import Any

TARGETS = {
    "ratio": 1.5,
    "prompt_requests": 4,
    "bulk_to_writes": 3.0,
    "slow_bulk_s": 2.5,
    "layer_mb": 15,
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
        "make bench            # a few minutes; rewrites this file, docs/cost.md and bench/results.json",
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
        "| case | DynamoDB requests | by operation | read units | write units | Management API calls |",
        "|---|---|---|---|---|---|",
    ]
    for name, case in results["operations"].items():
        by_operation = case["dynamodb_by_operation"]
        listed = ", ".join(f"{op} {n}" for op, n in by_operation.items())
        reads = sum(by_operation.get(op, 0) for op in ("GetItem", "Query"))
        writes = sum(by_operation.get(op, 0) for op in ("PutItem", "UpdateItem", "DeleteItem"))
        lines.append(
            f"| {name} | {case['dynamodb_requests']} | {listed} | {reads} | {writes} | "
            f"{case['management_api_calls']} |"
        )
    prompt = results["operations"]["prompt reply"]["dynamodb_requests"]
    lines += [
        "",
        f"Target ≤ {TARGETS['prompt_requests']} DynamoDB requests for a prompt reply: "
        f"{_mark(prompt <= TARGETS['prompt_requests'])}. Counted with botocore's `before-call` event in the",
        "local stack (both the REST and the WebSocket handlers' calls), so retries are not counted twice.",
        "Every item read or written here is under 4 KB / 1 KB, so each request is one read or write unit.",
        "A reply writes only the reply: `last_seen_at` is refreshed when the value the message was sent",
        "with is a minute old or more (the warm-up message before these cases refreshed it).",
        "",
        f"Pings: {results['ping']['pings']} pings got {results['ping']['pongs']} pongs for "
        f"{results['ping']['dynamodb_requests']} DynamoDB requests and "
        f"{results['ping']['management_api_calls']} Management API calls: the gateway answers them "
        "from the template's MOCK `ping` route, as API Gateway does.",
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
    floor = results["throughput"]["sequential_writes"]
    slow = results["throughput"]["slow_bulk"]
    largest = max((size for size in results["bulk"] if size != "connect_s"), key=int)
    bulk_ratio = round(results["bulk"][largest]["wall_s"] / floor["wall_s"], 2)
    bulk_ok = bulk_ratio <= TARGETS["bulk_to_writes"]
    slow_ok = slow["all_processed"] and slow["wall_s"] <= TARGETS["slow_bulk_s"]
    lines += [
        "",
        "The totals include the WebSocket side: every reply is its own `$default` invocation, as API",
        "Gateway would invoke it.",
        "",
        f"Floor: {floor['count']} sequential PutItem calls to the same embedded DynamoDB took "
        f"{floor['wall_s']} s. Bulk echo to {largest} sessions / floor: {bulk_ratio} (target ≤ "
        f"{TARGETS['bulk_to_writes']}: {_mark(bulk_ok)}).",
        "",
        f"{slow['sessions']} sessions x a {slow['function_s']:g}-second function (`sleep`), one bulk "
        f"message: answered in {slow['wall_s']} s, all processed: {slow['all_processed']} (target ≤ "
        f"{TARGETS['slow_bulk_s']} s: {_mark(slow_ok)}).",
        "",
        *_slow_bulk_floor(results, slow),
        *_bulk_floor(results, floor["count"]),
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
        *_cold_start(results),
    ]
    sizes = results["package_mb"]
    if "error" in sizes:
        lines += [f"`sam build` failed, so no sizes: {sizes['error'][:300]}", ""]
    else:
        layer = sizes["CommonLayer"]
        lines += [
            "| built by `sam build` (unzipped) | size |",
            "|---|---|",
            *[f"| {name} | {mb} MB |" for name, mb in sizes.items()],
            "",
            f"CommonLayer target ≤ {TARGETS['layer_mb']} MB with no boto3 or botocore of its own: "
            f"{_mark(layer <= TARGETS['layer_mb'])} (layers/common/Makefile fails the build if either is "
            "there).",
            "",
        ]
    lines += _memory(results)
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


def _cold_start(results: dict[str, Any]) -> list[str]:
    imports = results["imports"]
    best, medians, ratios = imports["best_ms"], imports["median_ms"], imports["ratio_to_boto3"]
    lines = [
        "## 5. Cold start and package size",
        "",
        "Each function's entry module imported in a fresh interpreter, against `import boto3` (the floor",
        f"every function pays in Lambda), interleaved, {imports['repeats']} runs each. The ratio is of the",
        "fastest runs (on a shared machine noise only adds time); medians for reference. session_relay",
        "has bytecode, as the layer ships it:",
        "",
        "| import | fastest | median | fastest / `import boto3` | target |",
        "|---|---|---|---|---|",
        f"| `import boto3` | {best['boto3']} ms | {medians['boto3']} ms | 1.0 | |",
    ]
    for name, ratio in ratios.items():
        target = imports["targets"][name]
        verdict = f"≤ {target}: {_mark(ratio <= target)}"
        lines.append(f"| {name} | {best[name]} ms | {medians[name]} ms | {ratio} | {verdict} |")
    lines += [
        "",
        "`import boto3` then `from pydantic import BaseModel`, timed the same way: "
        f"{best['boto3+pydantic']} ms,",
        f"{imports['pydantic_ratio_to_boto3']} x `import boto3`, before any model is built. The REST",
        "function pays it (FastAPI validates with pydantic). The WebSocket functions check their",
        "settings, the handshake's identity and reply frames without it (`session_relay.contract`).",
        "",
        f"rest_api as the layer ships it (without pydantic.v1, which FastAPI then does not import): "
        f"{best['rest_api as layered']} ms,",
        f"{imports['rest_api_as_layered_ratio_to_boto3']} x `import boto3` "
        f"(target ≤ {imports['targets']['rest_api']}: "
        f"{_mark(imports['rest_api_as_layered_ratio_to_boto3'] <= imports['targets']['rest_api'])}).",
        "",
        "The fixed stack alone, as layered (`import boto3`, FastAPI with one route, Mangum, Powertools'",
        f"Logger and Metrics): {best['stack floor']} ms, {imports['stack_floor_ratio_to_boto3']} x "
        "`import boto3`. The rest of",
        "rest_api's import is Session Relay's own: its routes, models, store and engine. What only the",
        "OpenAPI document reads (answer models, body schemas) is built when the document is first asked",
        "for (`session_relay.api.documented`), not at import.",
        "",
        "What each import still costs, by top-level package (own time from `python -X importtime`, one",
        "run; tracing off, so neither Powertools' Tracer nor the X-Ray SDK is imported):",
        "",
        "| function | largest costs |",
        "|---|---|",
    ]
    for name, costs in results["import_breakdown_ms"].items():
        lines.append(f"| {name} | " + ", ".join(f"{package} {ms} ms" for package, ms in costs) + " |")
    lines.append("")
    return lines


def _memory(results: dict[str, Any]) -> list[str]:
    cpu, memory = results["rest_cpu"], results["rest_memory"]
    lines = [
        "## 7. The REST function's memory size",
        "",
        "The local stack's process (gateways and every handler; DynamoDB runs apart) spent",
        f"{cpu['cpu_ms']} ms of CPU per answered message over {cpu['messages']} messages of",
        f"{cpu['wall_ms']} ms each: an upper",
        "bound on the REST function's CPU. A fresh interpreter with the REST entry module and its clients",
        f"loaded peaks at {memory['footprint_mb']} MB. Lambda's CPU share grows with memory (one vCPU at",
        "1,769 MB), and a wait is billed memory x duration:",
        "",
        "| MemorySize | vCPU | one message's CPU takes | footprint / memory | GB-s of a 60 s wait |",
        "|---|---|---|---|---|",
    ]
    for row in memory["sizes"]:
        lines.append(
            f"| {row['memory_mb']} MB | {row['vcpu']} | {row['cpu_time_ms']} ms | {row['footprint_share']} | "
            f"{row['gb_s_per_full_wait']} |"
        )
    lines.append("")
    return lines


def _slow_bulk_floor(results: dict[str, Any], slow: dict[str, Any]) -> list[str]:
    """What the embedded DynamoDB alone needs for the slow bulk case: it serves one request at a
    time, so the replies are written one after another, after the function's time."""
    reply_ms = results["round_trip"]["floor"]["operations_ms"]["UpdateItem reply"]
    poll_ms = next(ms for name, ms in results["bulk_floor_ms"].items() if name.startswith("BatchGetItem"))
    sessions = slow["sessions"]
    replies_s = sessions * reply_ms / 1000
    floor_s = round(slow["function_s"] + replies_s + poll_ms / 1000, 2)
    return [
        "The embedded DynamoDB serves one request at a time, so this case has a floor of its own: the",
        f"function's {slow['function_s']:g} s, then {sessions} reply writes one after another "
        f"({sessions} x {reply_ms} ms, the",
        f"`UpdateItem reply` of section 1: {replies_s:.2f} s), then one poll of the last 100 messages "
        f"({poll_ms} ms): {floor_s} s,",
        "before any frame is posted and without the polls that run while the replies come in (each",
        f"round reads every message still pending, {poll_ms} ms per 100).",
        "",
    ]


def _bulk_floor(results: dict[str, Any], writes: int) -> list[str]:
    """What each of a bulk message's DynamoDB calls costs the embedded DynamoDB, against a PutItem."""
    reply_ms = results["round_trip"]["floor"]["operations_ms"]["UpdateItem reply"]
    put_ms = results["round_trip"]["floor"]["operations_ms"]["PutItem message"]
    ratio = round(reply_ms / put_ms, 2)
    return [
        "What the embedded DynamoDB spends on a bulk message (each call's median, timed alone). Every",
        f"session's reply is one conditional UpdateItem, which costs it {ratio} x a PutItem: the replies "
        "alone",
        f"take {ratio} x the floor of {writes} sequential writes, before any "
        "message is written, posted or polled.",
        "",
        "",
        "| operation | median |",
        "|---|---|",
        f"| PutItem message (the floor's write) | {put_ms} ms |",
        f"| UpdateItem reply (conditional, returns the old item) | {reply_ms} ms |",
        *[f"| {name} | {ms} ms |" for name, ms in results["bulk_floor_ms"].items()],
        "",
    ]
