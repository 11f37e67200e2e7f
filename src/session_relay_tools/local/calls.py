"""Count the AWS calls the handlers make, through botocore's event hooks (for the benchmarks).

Enabled by ``SESSION_RELAY_COUNT_CALLS=1``; the local WebSocket gateway then answers
``GET /@local/calls`` with the counts by service and operation, and ``DELETE /@local/calls``
resets them. With ``SESSION_RELAY_METER=1`` too, on the embedded database, it adds
``"write_units"`` and ``"read_units"`` (``{"dynamodb": N}``: what the handlers' requests would be
billed) and ``"items_read"`` by read operation (local/metering.py; it reads each written item before
and after, under the database's lock, so it is off unless asked for).
"""

import threading
from collections import Counter
from typing import Any

import boto3


class CallCounter:
    def __init__(self) -> None:
        self._counts: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()
        self.meter: Any = None  # the embedded database's Meter, when there is one

    def install(self) -> None:
        # The handlers create their clients from boto3's default session (session_relay.aws).
        boto3.setup_default_session()
        boto3.DEFAULT_SESSION.events.register("before-call", self._count)

    def _count(self, model: Any, **_: Any) -> None:
        with self._lock:
            self._counts[(model.service_model.service_name, model.name)] += 1

    def snapshot(self) -> dict[str, dict[str, int]]:
        with self._lock:
            counts = dict(self._counts)
        result: dict[str, dict[str, int]] = {}
        for (service, operation), count in sorted(counts.items()):
            result.setdefault(service, {})[operation] = count
        if self.meter is not None:
            result.update(self.meter.snapshot())
        return result

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()
        if self.meter is not None:
            self.meter.reset()
