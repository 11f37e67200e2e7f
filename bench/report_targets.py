"""The targets docs/benchmarks.md judges a run against, and how it words a verdict."""

TARGETS = {
    "ratio": 1.5,
    "prompt_requests": 4,
    "bulk_to_writes": 3.0,
    "slow_bulk_s": 2.5,
    "layer_mb": 15,
}


def mark(ok: bool) -> str:
    return "met" if ok else "**not met**"
