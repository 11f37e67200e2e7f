"""docs/benchmarks.md, "Broadcasts": one message broadcast to thousands of local sessions, from the
``202`` to the last frame and to ``done``, and what each session cost."""

from typing import Any

from bench.report_targets import mark


def broadcast_section(results: dict[str, Any]) -> list[str]:
    run = results.get("broadcast")
    if run is None:
        return []
    exact = run["every_session_once"] and run["responses_once"] and run["done"]
    ratio = round(run["posted_s"] / run["posting_floor_s"], 2) if run["posting_floor_s"] else None
    by_operation = ", ".join(f"{name} {count}" for name, count in run["dynamodb_by_operation"].items())
    return [
        "## 9. Broadcast",
        "",
        f"`POST /broadcasts/message` (`echo`, 30 s timeout) to {run['sessions']:,} sessions of one place, "
        "through the broadcast worker on the embedded SQS under Lambda's mapping semantics, with the",
        f"template's defaults (BroadcastPostRate {run['post_rate']:,}/s split over the workers); "
        "`python -m bench` runs it (bench/broadcasts.py).",
        "",
        "| figure | value |",
        "|---|---|",
        f"| `202` after | {run['accepted_ms']} ms |",
        f"| last frame at a client after | {run['posted_s']} s |",
        f"| floor: sessions / BroadcastPostRate | {run['posting_floor_s']} s |",
        f"| last frame / floor | {ratio} |",
        f"| `done` after | {run['done_s']} s |",
        f"| counts | {_counts(run['counts'])} |",
        f"| every session one frame, every session once in the responses | {mark(exact)} |",
        f"| DynamoDB requests a session | {run['dynamodb_requests_per_session']} |",
        f"| write units a session | {run['write_units_per_session']} |",
        f"| read units a session | {run.get('read_units_per_session')} |",
        "",
        "Requests and write units are everything the stack's functions did from the call to `done`:",
        "the REST call, the worker's planning, chunks and looks, and every reply's `$default`",
        "invocation (the embedded database meters each write by DynamoDB's rules: 1 KB a unit, the",
        "larger of the item before and after, two a transactional write, one more for each index entry",
        "put or deleted, and each read by its size and consistency; src/session_relay_tools/local/",
        "metering.py). By operation: " + by_operation + ".",
        "On this machine the local stack, not the rate, sets the pace: every reply is a `$default`",
        "invocation sharing two cores with the worker, the simulated clients and the database.",
        "",
    ]


def _counts(counts: dict[str, Any] | None) -> str:
    """The broadcast's counts in words: each counter, and the reasons not processed that occurred."""
    if not counts:
        return "none"
    words = []
    for name, value in counts.items():
        if isinstance(value, dict):
            words += [f"{name.replace('_', ' ')}: {reason} {n}" for reason, n in value.items() if n]
            if not any(value.values()):
                words.append(f"{name.replace('_', ' ')} 0")
        else:
            words.append(f"{name.replace('_', ' ')} {value}")
    return ", ".join(words)
