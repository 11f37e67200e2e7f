"""The targets docs/benchmarks.md judges a run against, and how it words a verdict."""

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
