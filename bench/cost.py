"""docs/cost.md: what AWS bills for typical workloads, from the operations ``make bench`` counted.

Every figure is counted operations x a list price. "Before" is the design this benchmark replaced
(pings every 120 s answered by a Lambda that wrote DynamoDB, a prompt reply in 5 DynamoDB requests,
a 512 MB REST function); its counts are the previous benchmark's (docs/benchmarks.md history).
"""

from pathlib import Path
from typing import Any

from session_relay.service.delivery import FIRST_POLL_S, MAX_POLL_S, POLL_GROWTH

from session_relay_tools.template import load_template

READ_DATE = "2026-12-01"
# (price in USD, unit, source). The AWS pricing pages render their rates in the browser, so the
# rates below are the public us-east-1 list prices as read on READ_DATE, not quotes from a page in
# this project's searchable reference corpus; check them before relying on them.
PRICES = {
    "lambda_request": (0.20 / 1e6, "request", "https://aws.amazon.com/lambda/pricing/"),
    "lambda_gb_s": (0.0000133334, "GB-second (arm64)", "https://aws.amazon.com/lambda/pricing/"),
    "snapstart_cache": (0.0000015046, "GB-second cached (Python)", "https://aws.amazon.com/lambda/pricing/"),
    "snapstart_restore": (0.0001397998, "GB restored (Python)", "https://aws.amazon.com/lambda/pricing/"),
    "dynamodb_wru": (0.625 / 1e6, "write request unit", "https://aws.amazon.com/dynamodb/pricing/on-demand/"),
    "dynamodb_rru": (0.125 / 1e6, "read request unit", "https://aws.amazon.com/dynamodb/pricing/on-demand/"),
    "rest_request": (3.50 / 1e6, "REST API request", "https://aws.amazon.com/api-gateway/pricing/"),
    "ws_message": (1.00 / 1e6, "WebSocket message (32 KB)", "https://aws.amazon.com/api-gateway/pricing/"),
    "ws_minute": (0.25 / 1e6, "connection minute", "https://aws.amazon.com/api-gateway/pricing/"),
}
# Stated assumptions where the local stack cannot measure AWS itself (durations in AWS are set by
# DynamoDB's latency, not by the embedded one's).
WS_HANDLER_S = 0.02  # a $connect, $default or $disconnect invocation (a few DynamoDB calls)
BEFORE = {
    "rest_memory_mb": 512,
    "ping_interval_s": 120,
    "prompt": {"GetItem": 2, "PutItem": 1, "UpdateItem": 2},
    "ping": {"GetItem": 1, "UpdateItem": 1},  # mapping lookup, last_seen_at and expiry
}
READS = ("GetItem", "Query", "Scan")
WRITES = ("PutItem", "UpdateItem", "DeleteItem")
RECONNECTS_PER_DAY = 86_400 / 6_900  # the Luau client renews its connection every 1 h 55 min
# A reconnect: $connect (one BatchGetItem of 3 keys, the script and the two bans it may name, each key
# billed as a strongly consistent GetItem of up to 4 KB:
# https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html
# ; one batch of 2 writes), hello (last_seen_at; no read: the session id is derived from the event),
# $disconnect (one query, one batch of 2 deletes); hello in and out.
RECONNECT = {"lambda": 3, "rru": 4, "wru": 5, "ws_messages": 2}


def polls_in(wait_s: float) -> int:
    """GetItem polls one message makes while waiting ``wait_s`` (the delivery core's schedule)."""
    elapsed, interval, polls = 0.0, FIRST_POLL_S, 0
    while elapsed < wait_s:
        elapsed += min(interval, wait_s - elapsed)
        interval = min(interval * POLL_GROWTH, MAX_POLL_S)
        polls += 1
    return polls


def _units(by_operation: dict[str, int]) -> tuple[int, int]:
    """(read units, write units) of single-item operations on items under 4 KB / 1 KB."""
    reads = sum(by_operation.get(op, 0) for op in READS)
    writes = sum(by_operation.get(op, 0) for op in WRITES)
    return reads, writes


def _bill(lines: dict[str, float]) -> dict[str, float]:
    return {name: quantity * PRICES[name][0] for name, quantity in lines.items()}


def rest_memory_mb() -> int:
    function = load_template()["Resources"]["RestApiFunction"]["Properties"]
    return int(function["MemorySize"])


def scenarios(results: dict[str, Any]) -> dict[str, dict[str, dict[str, float]]]:
    """Quantities per scenario, before and after: {scenario: {"before"|"after": {price: qty}}}."""
    memory_gb = {"before": BEFORE["rest_memory_mb"] / 1024, "after": rest_memory_mb() / 1024}
    return {
        "1M prompt messages": _prompt_messages(results, memory_gb),
        "1M messages timing out at 60 s": _timed_out_messages(memory_gb),
        "one 1000-session bulk message": _bulk_message(results, memory_gb),
        "100k sessions idle for a day": _idle_sessions(results),
    }


def _prompt_messages(results: dict[str, Any], memory_gb: dict[str, float]) -> dict[str, dict[str, float]]:
    prompt_s = results["round_trip"]["p50_ms"] / 1000
    ops = {
        "before": BEFORE["prompt"],
        "after": results["operations"]["prompt reply"]["dynamodb_by_operation"],
    }
    million = 1e6
    out: dict[str, dict[str, float]] = {}
    for when in ("before", "after"):
        reads, writes = _units(ops[when])
        out[when] = {
            "rest_request": million,
            "lambda_request": 2 * million,  # the REST call and the reply's $default
            "lambda_gb_s": million * (prompt_s * memory_gb[when] + WS_HANDLER_S * 0.5),
            "dynamodb_rru": million * reads,
            "dynamodb_wru": million * writes,
            "ws_message": 2 * million,  # the message out, the reply in
        }
    return out


def _timed_out_messages(memory_gb: dict[str, float]) -> dict[str, dict[str, float]]:
    million = 1e6
    polls = polls_in(60.0)
    return {
        when: {
            "rest_request": million,
            "lambda_request": million,
            "lambda_gb_s": million * 60.0 * memory_gb[when],
            "dynamodb_rru": million * polls,
            "dynamodb_wru": million * 2,  # the pending message, its withdrawal
            "ws_message": million,
        }
        for when in ("before", "after")
    }


def _bulk_message(results: dict[str, Any], memory_gb: dict[str, float]) -> dict[str, dict[str, float]]:
    size = max((key for key in results["bulk"] if key != "connect_s"), key=int)  # 1000 but in --quick
    bulk, scale = results["bulk"][size], 1000 / int(size)
    counted = bulk["dynamodb_by_operation"]
    chunks = -(-int(size) // 100)
    # Lookups, then polls (at most 100 keys a BatchGetItem call); pending messages, replies, refreshes.
    batch_reads = (int(size) + (counted.get("BatchGetItem", 0) - chunks) * 100) * scale
    writes_after = (int(size) + counted.get("UpdateItem", 0)) * scale
    return {
        when: {
            "rest_request": 1,
            "lambda_request": 1 + 1000,
            "lambda_gb_s": bulk["wall_s"] * scale * memory_gb[when] + 1000 * WS_HANDLER_S * 0.5,
            "dynamodb_rru": batch_reads,
            # Before: every reply was two writes (the reply and last_seen_at).
            "dynamodb_wru": writes_after if when == "after" else 1000 + 2000,
            "ws_message": 2000,
        }
        for when in ("before", "after")
    }


def _idle_sessions(results: dict[str, Any]) -> dict[str, dict[str, float]]:
    sessions, minutes = 100_000, 1440
    pings = {"before": 86_400 / BEFORE["ping_interval_s"], "after": 86_400 / results["ping_interval_s"]}
    out: dict[str, dict[str, float]] = {}
    for when in ("before", "after"):
        lambda_pings = pings[when] if when == "before" else 0
        ping_reads, ping_writes = _units(BEFORE["ping"]) if when == "before" else (0, 0)
        reconnects = RECONNECTS_PER_DAY
        out[when] = {
            "ws_minute": sessions * minutes,
            "ws_message": sessions * (2 * pings[when] + RECONNECT["ws_messages"] * reconnects),
            "lambda_request": sessions * (lambda_pings + RECONNECT["lambda"] * reconnects),
            "lambda_gb_s": sessions * (lambda_pings + RECONNECT["lambda"] * reconnects) * WS_HANDLER_S * 0.5,
            "dynamodb_rru": sessions * (lambda_pings * ping_reads + RECONNECT["rru"] * reconnects),
            "dynamodb_wru": sessions * (lambda_pings * ping_writes + RECONNECT["wru"] * reconnects),
        }
    return out


def _money(value: float) -> str:
    return f"${value:,.2f}" if value >= 1 else f"${value:,.4f}"


def write_cost(results: dict[str, Any], path: Path) -> None:
    from bench.broadcast_cost import broadcast_section  # it reads this module's prices

    bills = {
        scenario: {when: _bill(quantities) for when, quantities in by_time.items()}
        for scenario, by_time in scenarios(results).items()
    }
    lines = [
        "# What Session Relay costs to run",
        "",
        "Written by `make bench` (bench/cost.py) from the operations it counted in the same run as",
        "docs/benchmarks.md, times the list prices below (us-east-1, USD). Free tiers are left out.",
        "",
        *_prices(),
        *_assumptions(results),
        *_bills(bills),
        *_what_dominates(bills["100k sessions idle for a day"]),
        "",
        *broadcast_section(results.get("broadcast")),
    ]
    path.write_text("\n".join(lines))


def _prices() -> list[str]:
    lines = [
        "## Prices",
        "",
        "| item | price | unit | source |",
        "|---|---|---|---|",
    ]
    for name, (price, unit, source) in PRICES.items():
        lines.append(f"| {name} | ${price:.10f} | {unit} | {source} (list price read {READ_DATE}) |")
    lines += [
        "",
        "These AWS pricing pages render their rates in the browser, so the rates were not found in a",
        "text copy of the page; they are the public list prices on the date shown. Check them in the",
        "AWS Pricing Calculator before relying on a total.",
        "",
    ]
    return lines


def _assumptions(results: dict[str, Any]) -> list[str]:
    ping = results["ping"]
    return [
        "## Assumptions",
        "",
        f"- REST function: {BEFORE['rest_memory_mb']} MB before, {rest_memory_mb()} MB now "
        f"(template.yaml); a prompt message holds it for the measured p50 round trip "
        f"({results['round_trip']['p50_ms']} ms on the local stack).",
        f"- A WebSocket function invocation (512 MB) lasts {WS_HANDLER_S * 1000:.0f} ms.",
        f"- A message that times out polls DynamoDB {polls_in(60.0)} times in 60 s"
        f" (the delivery core's schedule: {FIRST_POLL_S * 1000:.0f} ms growing x{POLL_GROWTH}"
        f" to {MAX_POLL_S * 1000:.0f} ms).",
        "- Items are under 1 KB (writes) and 4 KB (strongly consistent reads): one unit per item;",
        "  a bulk poll round counts at most 100 read units per BatchGetItem call.",
        f"- Idle sessions: pings every {BEFORE['ping_interval_s']} s before, every "
        f"{results['ping_interval_s']:g} s now (answered by API Gateway: "
        f"{ping['dynamodb_requests']} DynamoDB requests and {ping['management_api_calls']} Management "
        f"API calls for {ping['pings']} pings in this run); a reconnect every 1 h 55 min.",
        "",
    ]


def _bills(bills: dict[str, dict[str, dict[str, float]]]) -> list[str]:
    """One table per scenario: each priced line before and after, the totals, the largest line now."""
    lines = ["## Bills", ""]
    for scenario, by_time in bills.items():
        lines += [f"### {scenario}", "", "| line | before | after |", "|---|---|---|"]
        for name in by_time["after"]:
            lines.append(f"| {name} | {_money(by_time['before'][name])} | {_money(by_time['after'][name])} |")
        before, after = (_money(sum(by_time[when].values())) for when in ("before", "after"))
        lines.append(f"| **total** | **{before}** | **{after}** |")
        top = max(by_time["after"], key=by_time["after"].get)
        lines += ["", f"Largest line now: {top}.", ""]
    return lines


def _what_dominates(idle_bills: dict[str, dict[str, float]]) -> list[str]:
    idle = {when: sum(bill.values()) for when, bill in idle_bills.items()}
    return [
        "## What dominates, and what to do about it",
        "",
        f"- Idle sessions: {_money(idle['after'])} a day for 100k instead of {_money(idle['before'])} "
        f"(x{idle['after'] / idle['before']:.2f}). Connection minutes are now the largest line and are",
        "  billed whatever the design; only fewer connected executors lower them.",
        "- Messages that wait: the REST function's GB-seconds. Send shorter `timeout`s, or send with",
        '  `"wait": false`: the call returns at once and no function is held while the client works;',
        "  reading the outcome once after its deadline (`GET /messages/{id}` or `/batches/{id}`, no `wait`)",
        "  is one short call, so a 60 s timeout costs two requests and no waiting GB-seconds.",
        "- Prompt messages: the REST API's per-request price is the largest line; bulk messages",
        "  (`POST /sessions/message`) pay it once for up to 1000 sessions.",
        "- SnapStart (REST function, on by default): a small deployment pays the snapshot's cache for",
        "  every second a version is active and a restore per new execution environment; see README.",
        "",
    ]
