"""How many batches an SQS mapping may have in flight ("Configuring scaling behavior for SQS event source
mappings", https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html): "Lambda starts
processing five batches at a time with five concurrent invocations... increases the number of processes
that are reading batches by up to 300 more instances per minute. The maximum number of batches that an
event source mapping can process simultaneously is 1,000", or ``ScalingConfig.MaximumConcurrency``.
When the queue runs dry it is back to five.
"""

import time
from collections.abc import Callable

START_BATCHES = 5
MORE_PER_MINUTE = 300
MAX_BATCHES = 1000


class Scaler:
    """``allowed()`` concurrent batches now; ``busy()`` when messages keep coming, ``idle()`` when none."""

    def __init__(self, maximum_concurrency: int | None, clock: Callable[[], float] = time.monotonic) -> None:
        self.cap = MAX_BATCHES if maximum_concurrency is None else maximum_concurrency
        self._clock = clock
        self._busy_since: float | None = None

    def allowed(self) -> int:
        if self._busy_since is None:
            return min(self.cap, START_BATCHES)
        minutes = (self._clock() - self._busy_since) / 60
        return min(self.cap, START_BATCHES + int(MORE_PER_MINUTE * minutes))

    def busy(self) -> None:
        if self._busy_since is None:
            self._busy_since = self._clock()

    def idle(self) -> None:
        self._busy_since = None
