"""Turn one benchmark run's results into docs/benchmarks.md."""

import math
from pathlib import Path
from typing import Any

from session_relay.service.delivery import FIRST_POLL_S
from session_relay.store.table import BATCH_GET_LIMIT, BATCH_WRITE_LIMIT

from bench.floor import MESSAGES_WRITE, POLL, SESSIONS_READ
from bench.report_broadcast import broadcast_section
from bench.report_footprint import cold_start_section, memory_section, package_sizes_section
from bench.report_pace import pace_section
from bench.report_targets import TARGETS, floor_path_lines, judged, listed, mark


def write_report(results: dict[str, Any], path: Path) -> None:
    lines = [
        *_header(results),
        *_round_trip(results),
        *_operations(results),
        *_bulk(results),
        *_concurrency(results),
        *cold_start_section(results),
        *package_sizes_section(results),
        *_peer(results),
        *memory_section(results),
        *pace_section(results),
        *broadcast_section(results),
    ]
    path.write_text("\n".join(lines))


def _header(results: dict[str, Any]) -> list[str]:
    return [
        "# Benchmarks",
        "",
        "Measured by `make bench` against the local stack (REST and WebSocket gateways running the",
        "deployable handlers and the event source mappings in the stack's process, the embedded moto",
        "DynamoDB and SQS in its child process), all on loopback, in one run.",
        f"Run: {results['started_at']}, Python {results['machine']['python']}, "
        f"{results['machine']['cpus']} CPUs, {results['machine']['platform']}.",
        "The raw numbers are in `bench/results.json`.",
        "",
        "## How to reproduce",
        "",
        "```sh",
        "make bench   # about 18 minutes on 2 cores; rewrites this file, docs/cost.md, bench/results.json",
        ".venv/bin/python -m bench --quick   # a smaller smoke run",
        "```",
        "",
    ]


def _turns(bulk: dict[str, Any]) -> str:
    """How the bulk figure and its floor were taken, when in turns."""
    walls, floors = bulk.get("turns_wall_s"), bulk.get("turns_floor_s")
    if not walls or not floors:
        return ""
    return (
        f" Both are medians of {len(walls)} turns taken in alternation (bulk echo "
        f"{listed(walls)} s; sequential writes {listed(floors)} s), so that a busy spell of the shared "
        "machine weighs on both alike; the requests counted are the first turn's."
    )


def _slow_turns(slow: dict[str, Any]) -> str:
    """The turns of the 200 x a 1 s case, when it ran several (one after another; the median counts)."""
    walls = slow.get("turns_wall_s")
    if not walls:
        return ""
    return f" (the median of {len(walls)} calls: {listed(walls)} s)"


def _round_trip(results: dict[str, Any]) -> list[str]:
    trip = results["round_trip"]
    floor = trip["floor"]
    return [
        "## 1. Single message round trip (echo, sequential)",
        "",
        "| metric | value |",
        "|---|---|",
        f"| round trips | {trip['count']} |",
        f"| p50 | {trip['p50_ms']} ms |",
        f"| p99 | {trip['p99_ms']} ms |",
        f"| floor (sum of the operations below, each timed alone) | {floor['total_ms']} ms |",
        f"| p50 / floor | {trip['ratio_p50_to_floor']} (target ≤ {TARGETS['ratio']}: "
        f"{judged(results, trip['ratio_p50_to_floor'] <= TARGETS['ratio'])}) |",
        f"| p50 / (floor + the first poll's wait, {FIRST_POLL_S * 1000:g} ms) | "
        f"{round(trip['p50_ms'] / (floor['total_ms'] + FIRST_POLL_S * 1000), 2)} (not a target) |",
        "",
        "The delivery core waits `FIRST_POLL_S` before its first poll for the reply (then 1.5 x longer",
        "each time): a wait the floor of requests does not count, paid by every call answered at once.",
        "",
        *floor_path_lines(results),
        "The floor is the sequence of requests the design makes for one answered message under the",
        "default cap (the lease pair included), against the same embedded DynamoDB and local",
        f"Management API, each call's median over {trip['count']} repetitions (the session is read while the",
        "lease is acquired, so the call waits for one of the two; the floor counts both). The round trips",
        f"and the floor's repetitions are timed in {trip.get('turns', 1)} turns, in alternation, so that a",
        "busy spell of the shared machine weighs on both alike:",
        "",
        "| operation | median |",
        "|---|---|",
        *[f"| {name} | {ms} ms |" for name, ms in floor["operations_ms"].items()],
        "",
    ]


def _operations(results: dict[str, Any]) -> list[str]:
    lines = [
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
    uncapped_case = results["operations"].get("prompt reply, MaxCallsInFlightPerKey=0", {})
    uncapped = uncapped_case.get("dynamodb_requests")
    lines += [
        "",
        f"Targets for a prompt reply: ≤ {TARGETS['prompt_requests']} DynamoDB requests under the default cap "
        f"(the lease pair is its price): {mark(prompt <= TARGETS['prompt_requests'])}; "
        f"≤ {TARGETS['prompt_requests_uncapped']} with `MaxCallsInFlightPerKey=0` (no lease): "
        f"{mark(uncapped is not None and uncapped <= TARGETS['prompt_requests_uncapped'])}.",
        "Counted with botocore's `before-call` event in the",
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
    ]
    return lines


def _bulk(results: dict[str, Any]) -> list[str]:
    lines = [
        "## 3. Bulk message",
        "",
        f"Connecting the simulated sessions took {results['bulk']['connect_s']} s (not part of the figures).",
        "",
        "| sessions | wall time | all processed | DynamoDB requests |",
        "|---|---|---|---|",
    ]
    for size, run in results["bulk"].items():
        if size == "connect_s":
            continue
        lines.append(f"| {size} | {run['wall_s']} s | {run['all_processed']} | {run['dynamodb_total']} |")
    floor = results["throughput"]["sequential_writes"]
    slow = results["throughput"]["slow_bulk"]
    largest = max((size for size in results["bulk"] if size != "connect_s"), key=int)
    bulk_ratio = round(results["bulk"][largest]["wall_s"] / floor["wall_s"], 2)
    bulk_ok = bulk_ratio <= TARGETS["bulk_to_writes"]
    slow_ratio = round(slow["wall_s"] / _slow_bulk_floor_s(results, slow), 2)
    slow_ok = slow["all_processed"] and slow_ratio <= TARGETS["slow_bulk_to_floor"]
    lines += [
        "",
        "The totals include the WebSocket side: every reply is its own `$default` invocation, as API",
        "Gateway would invoke it.",
        "",
        f"Floor: {floor['count']} sequential PutItem calls to the same embedded DynamoDB took "
        f"{floor['wall_s']} s. Bulk echo to {largest} sessions / floor: {bulk_ratio} (target ≤ "
        f"{TARGETS['bulk_to_writes']}: {judged(results, bulk_ok)}).{_turns(results['bulk'][largest])}",
        "",
        f"{slow['sessions']} sessions x a {slow['function_s']:g}-second function (`sleep`), one bulk "
        f"message: answered in {slow['wall_s']} s{_slow_turns(slow)}, "
        f"all processed: {slow['all_processed']}; "
        f"/ its floor (below): {slow_ratio} (target ≤ {TARGETS['slow_bulk_to_floor']}: "
        f"{judged(results, slow_ok)}).",
        "",
        *_slow_bulk_floor(results, slow),
        *_bulk_floor(results, floor["count"]),
        *_polls(results, slow),
    ]
    return lines


def _polls(results: dict[str, Any], slow: dict[str, Any]) -> list[str]:
    """The answered-index polls against polls that read every pending message by key each round."""
    polls = results.get("polls")
    if polls is None:
        return []
    rows = []
    labels = {"answered": "answered index, a sweep by key a second", "by-key": "by key, every round"}
    for name, label in labels.items():
        bulk, slow_run = polls[name]["bulk"], polls[name]["slow_bulk"]
        read = _items_read(bulk["items_read"])
        rows.append(
            f"| {label} | {bulk['wall_s']} s | {bulk['dynamodb_total']} | {read} | {bulk['read_units']} | "
            f"{bulk['write_units']} | {slow_run['wall_s']} s |"
        )
    size, slow_sessions = polls["sessions"], polls["answered"]["slow_bulk"]["sessions"]
    return [
        "The polls, side by side: the same bulk calls on two stacks of their own in this run, one as",
        "deployed (a round reads the `answered` index; what is still pending is read by key once a",
        "second), one whose rounds read every message still pending by key, as the bulk polls did before",
        "the index (`SESSION_RELAY_BULK_POLL=by-key`). Both metered (`SESSION_RELAY_METER=1`: items read",
        "by operation, and the read and write units DynamoDB would bill: a `Query` is billed by the size",
        "of all it returns together, a read by key by each item rounded up to 4 KB;",
        "src/session_relay_tools/local/metering.py). Items and read units include the sessions read by",
        "key before posting.",
        "",
        f"| poll | bulk echo to {size}: wall time | DynamoDB requests | items read | read units | "
        f"write units | {slow_sessions} x a {slow['function_s']:g}-second function: wall time |",
        "|---|---|---|---|---|---|---|",
        *rows,
        "",
    ]


def _items_read(read: dict[str, int]) -> str:
    total = sum(read.values())
    return f"{total} (" + ", ".join(f"{operation} {count}" for operation, count in read.items()) + ")"


def _concurrency(results: dict[str, Any]) -> list[str]:
    conc = results["concurrency"]
    return [
        "## 4. Concurrency",
        "",
        f"{conc['callers']} concurrent callers, each messaging its own session (echo) "
        f"for {conc['duration_s']} s:",
        "",
        "| messages | throughput | p50 | p99 | errors |",
        "|---|---|---|---|---|",
        f"| {conc['messages']} | {conc['throughput_per_s']} /s | {conc['p50_ms']} ms | {conc['p99_ms']} ms | "
        f"{conc['errors']} |",
        "",
    ]


def _peer(results: dict[str, Any]) -> list[str]:
    trip, socketio = results["round_trip"], results["peer_socketio"]
    return [
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


def _send_requests(sessions: int) -> tuple[int, int]:
    """How many BatchGetItem (sessions read) and BatchWriteItem (messages recorded) a bulk call to
    ``sessions`` sessions makes before it posts a frame."""
    return math.ceil(sessions / BATCH_GET_LIMIT), math.ceil(sessions / BATCH_WRITE_LIMIT)


def _slow_bulk_parts(results: dict[str, Any], slow: dict[str, Any]) -> dict[str, float]:
    """The slow bulk case's floor, part by part (s): the sends' reads and writes, one after another
    before any frame is posted; the function's time; the replies written one after another; a poll."""
    operations, sessions = results["bulk_floor_ms"], slow["sessions"]
    reply_ms = results["round_trip"]["floor"]["operations_ms"]["UpdateItem reply"]
    reads, writes = _send_requests(sessions)
    return {
        "reads": reads * operations[SESSIONS_READ] / 1000,
        "writes": writes * operations[MESSAGES_WRITE] / 1000,
        "function": slow["function_s"],
        "replies": sessions * reply_ms / 1000,
        "poll": operations[POLL] / 1000,
    }


def _slow_bulk_floor_s(results: dict[str, Any], slow: dict[str, Any]) -> float:
    """The slow bulk case's floor (s): the sum of its parts."""
    return round(sum(_slow_bulk_parts(results, slow).values()), 2)


def _slow_bulk_floor(results: dict[str, Any], slow: dict[str, Any]) -> list[str]:
    """What the embedded DynamoDB alone needs for the slow bulk case: it serves one request at a
    time, so the sends' requests come one after another before the function runs, and the replies
    one after another after it."""
    operations, sessions = results["bulk_floor_ms"], slow["sessions"]
    reply_ms = results["round_trip"]["floor"]["operations_ms"]["UpdateItem reply"]
    parts = _slow_bulk_parts(results, slow)
    reads, writes = _send_requests(sessions)
    sends_s = parts["reads"] + parts["writes"]
    floor_s = round(sum(parts.values()), 2)
    without_sends_s = round(sum(parts.values()) - sends_s, 2)
    return [
        "The embedded DynamoDB serves one request at a time, so this case has a floor of its own, the",
        "requests the design makes in the order it must make them: the call reads its sessions",
        f"({reads} x {operations[SESSIONS_READ]} ms, `{SESSIONS_READ}` below) and records their messages",
        f"({writes} x {operations[MESSAGES_WRITE]} ms, `{MESSAGES_WRITE}`) before any frame is posted:",
        f"{sends_s:.3f} s; then the function's {slow['function_s']:g} s; then "
        f"{sessions} reply writes one after another",
        f"({sessions} x {reply_ms} ms, the `UpdateItem reply` of section 1: {parts['replies']:.2f} s);",
        f"then one poll of the last 100 messages ({operations[POLL]} ms): {floor_s} s in all, without",
        "the polls that run while the replies come in (a sweep by key reads every message still pending,",
        f"{operations[POLL]} ms per 100, once a second). Without the sends' reads and writes, as this report",
        f"counted the floor before, it would be {without_sends_s} s and the ratio "
        f"{round(slow['wall_s'] / without_sends_s, 2)}.",
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
