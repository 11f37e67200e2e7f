"""The targets docs/benchmarks.md judges a run against, and how it words a verdict."""

from typing import Any

TARGETS = {
    "ratio": 1.5,
    # A prompt reply: the lease pair is the price of the 429 cap; a deployment without a cap
    # (MaxCallsInFlightPerKey=0) takes no lease.
    "prompt_requests": 6,
    "prompt_requests_uncapped": 4,
    "bulk_to_writes": 3.0,
    "slow_bulk_to_floor": 1.25,
    "layer_mb": 15,
}


def mark(ok: bool) -> str:
    return "met" if ok else "**not met**"


def listed(values: list[float]) -> str:
    """Each turn's or run's time, as the report lists them (``1.636, 2.354``)."""
    return ", ".join(f"{value:g}" for value in values)


NOT_JUDGED = "not judged, the floor is measured over HTTP"


def judged(results: dict[str, Any], ok: bool) -> str:
    """A target's verdict: judged when the floors were timed on the handlers' own path."""
    return mark(ok) if results.get("floor_path") == "socket" else f"{NOT_JUDGED}, {mark(ok)} as measured"


def floor_path_lines(results: dict[str, Any]) -> list[str]:
    if results.get("floor_path") == "socket":
        return [
            "The DynamoDB floors of this section and of section 3 are timed from the benchmark's process on",
            "the handlers' own path: the embedded database's Unix socket, unsigned, as the stack's handlers",
            "send their requests (`bench.floor.handlers_path`). `PostToConnection` is timed over the",
            "Management API's HTTP port, while the handlers' own posts are answered in the stack's process:",
            "that one operation costs more here than a handler's.",
            "",
        ]
    return [
        "The floors of this section and of section 3 are timed over HTTP (the stack's database was not",
        "its own, so it had no socket); a ratio against them flatters and is not judged.",
        "",
    ]
