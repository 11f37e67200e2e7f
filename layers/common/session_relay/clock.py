"""Wall-clock time as the product stores it: epoch milliseconds and seconds (one place to read it)."""

import time


def epoch_s() -> float:
    """Now, in epoch seconds with a fraction."""
    return time.time()


def now_ms() -> int:
    """Now, in epoch milliseconds."""
    return int(epoch_s() * 1000)


def now_s() -> int:
    """Now, in epoch seconds (DynamoDB's TTL unit)."""
    return int(epoch_s())
