"""docs/cost.md, "Broadcasts": how long a message broadcast to 1k, 100k and 1M sessions takes and what
it bills, from the template's defaults, AWS's quotas and the list prices of bench/cost.py (arithmetic on
paper: the local stack cannot measure AWS's own throughput).

Per session (every client answering at once): one guard, one pending message and its reply (with the
``answered`` index's copy), one outcome item: 5 write units by the design's count, or what the same
run's 5,000-session broadcast measured (bench/broadcasts.py, the embedded database's meter); its
session read by key (1 read unit), a share of the planning Query, the cancel reads (one a group of
posts) and the answered-index Queries (0.25 read units together, at most); two WebSocket messages (the
frame and the reply), one ``$default`` invocation. Per chunk of 100: about 6 worker invocations
(chunk, 1 to 3 looks, planning's share) of about a second each (the posts at the worker's share of the
rate), and 15 SQS requests (send, receive and delete of the chunk, its finalizer and its looks).
"""

from typing import Any

from bench.cost import PRICES, WS_HANDLER_S
from session_relay_tools.template import load_template

SQS_PRICE = (0.40 / 1e6, "SQS standard request (64 KB)", "https://aws.amazon.com/sqs/pricing/")
SQS_READ_DATE = "2026-12-07"
DEFAULTS = {
    name: int(load_template()["Parameters"][name]["Default"])
    for name in ("BroadcastPostRate", "BroadcastConcurrency", "BroadcastChunkSize")
}
WORKER_GB = 0.5  # the template's Globals MemorySize (512 MB)
# AWS's quotas and limits that bound a broadcast (each cited in template.yaml or docs/design.md).
ACCOUNT_REQUEST_RATE = 10_000  # API Gateway, per account and Region, shared with every API
NEW_TABLE_WRITE_UNITS = 4_000  # a new on-demand table's warm throughput, per second
PARTITION_WRITES = 1_000  # per partition key, per second
SIZES = (1_000, 100_000, 1_000_000)


DESIGN_WRITE_UNITS = 5  # a session's write units, counted from the design (above)


def _bill(sessions: int, write_units: float = DESIGN_WRITE_UNITS) -> dict[str, float]:
    chunks = sessions / DEFAULTS["BroadcastChunkSize"]
    per_worker_s = DEFAULTS["BroadcastChunkSize"] / (
        DEFAULTS["BroadcastPostRate"] / DEFAULTS["BroadcastConcurrency"]
    )
    quantities = {
        "ws_message": 2 * sessions,
        "lambda_request": sessions + 6 * chunks,
        "lambda_gb_s": sessions * WS_HANDLER_S * 0.5 + chunks * (per_worker_s + 0.5) * WORKER_GB,
        "dynamodb_wru": write_units * sessions,
        "dynamodb_rru": 1.25 * sessions,
    }
    bill = {name: quantity * PRICES[name][0] for name, quantity in quantities.items()}
    bill["sqs_request"] = 15 * chunks * SQS_PRICE[0]
    return bill


def _time_s(sessions: int) -> float:
    """Posting time at the deployment's rate, plus a second for the last chunk's answers."""
    workers = min(DEFAULTS["BroadcastConcurrency"], -(-sessions // DEFAULTS["BroadcastChunkSize"]))
    rate = DEFAULTS["BroadcastPostRate"] * workers / DEFAULTS["BroadcastConcurrency"]
    return sessions / rate + 1


def broadcast_section(measured: dict[str, Any] | None = None) -> list[str]:
    """The table; with ``measured`` (this run's broadcast), its write units a session are billed."""
    write_units = (measured or {}).get("write_units_per_session") or DESIGN_WRITE_UNITS
    source = (
        f"{write_units} write units a session, as measured by this run's broadcast to "
        f"{measured['sessions']:,} local sessions"
        if measured and measured.get("write_units_per_session")
        else f"{DESIGN_WRITE_UNITS} write units a session, by the design's count"
    )
    lines = [
        "## Broadcasts",
        "",
        "A message broadcast whose clients all answer at once, with the template's defaults "
        f"(BroadcastPostRate {DEFAULTS['BroadcastPostRate']}/s, "
        f"BroadcastConcurrency {DEFAULTS['BroadcastConcurrency']}, "
        f"BroadcastChunkSize {DEFAULTS['BroadcastChunkSize']}): arithmetic from bench/broadcast_cost.py, "
        f"with SQS at ${SQS_PRICE[0] * 1e6:.2f} per million requests ({SQS_PRICE[2]}, list price read "
        f"{SQS_READ_DATE}) and the prices above; {source}.",
        "",
        "| sessions | time | ws_message | lambda | dynamodb | sqs | **total** |",
        "|---|---|---|---|---|---|---|",
    ]
    for sessions in SIZES:
        bill = _bill(sessions, write_units)
        lambda_ = bill["lambda_request"] + bill["lambda_gb_s"]
        dynamodb = bill["dynamodb_wru"] + bill["dynamodb_rru"]
        lines.append(
            f"| {sessions:,} | {_time_s(sessions):,.0f} s | ${bill['ws_message']:,.2f} | ${lambda_:,.2f} | "
            f"${dynamodb:,.2f} | ${bill['sqs_request']:,.4f} | **${sum(bill.values()):,.2f}** |"
        )
    return [*lines, "", *_binding()]


def _binding() -> list[str]:
    return [
        "Which limit binds:",
        "- 1k sessions: ten chunks, one a worker, each posting at its share of the rate "
        "(BroadcastPostRate / BroadcastConcurrency = 100/s): about a second; a cold start can add as much.",
        "- 100k sessions: BroadcastPostRate (100 s at 1,000/s). The writes grow with it: the connections "
        "table takes 3 write units a session (the pending message, the reply, its answered-index copy), "
        f"so 2,000 posts/s is 6,000 a second, over a new on-demand table's {NEW_TABLE_WRITE_UNITS:,} a "
        "second of warm throughput: DynamoDB throttles until on-demand scales "
        "(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/warm-throughput-scenarios.html).",
        f"- 1M sessions: 1,000 s (17 minutes) at 1,000/s. The ceiling is API Gateway's account rate "
        f"({ACCOUNT_REQUEST_RATE:,} requests a second, shared by every API of the account and every post "
        "to a connection, https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html): 100 s "
        "at the most the template accepts, leaving nothing to the account's other traffic. Outcome items "
        "are spread over ceil(rate / 500) partitions to stay under DynamoDB's "
        f"{PARTITION_WRITES:,} writes a second per partition; planning pages the index one chunk a Query "
        "while the first chunks are already posting.",
        "- Silent sessions add a withdraw each (1 write unit) and keep their chunk open until the deadline "
        "(a few more looks, no waiting Lambda); the bill moves by cents per 100k.",
        "",
    ]
