"""Small statistics helpers shared by the benchmarks."""

import statistics
from typing import Any


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (``fraction`` in 0..1)."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[rank]


def summarize(latencies_ms: list[float]) -> dict[str, Any]:
    return {
        "count": len(latencies_ms),
        "p50_ms": round(percentile(latencies_ms, 0.50), 2),
        "p99_ms": round(percentile(latencies_ms, 0.99), 2),
        "mean_ms": round(statistics.fmean(latencies_ms), 2),
    }


def all_processed(responses: list[dict[str, Any]], size: int) -> bool:
    """Whether a bulk call to ``size`` sessions answered each one, every one processed."""
    return len(responses) == size and all(entry["processed"] for entry in responses)
