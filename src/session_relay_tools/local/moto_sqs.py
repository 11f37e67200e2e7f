"""moto's SQS made fast enough for the local stack's queues, without changing what it answers.

A ``ReceiveMessage`` on moto 5 costs time in proportion to the messages *in the queue* for each message
it returns: every returned message checks its retention period through ``get_queue_attributes``, which
counts every message (each count reading the clock through two datetime conversions). With 1,000
messages waiting, one receive of 10 took 1.6 s on the embedded server; a broadcast's thousands of chunk
messages would stall its workers for minutes. ``install()`` (in the server's process, before it serves)
reads the clock once per check (``time.time()``, the same epoch seconds moto computes) and the queue's
retention period from the queue itself. Message visibility, delays, retention, FIFO groups and redrive
behave exactly as before; tests/local/test_moto_sqs.py holds both.
"""

import time
from typing import Any

_installed = False


def _unix_time(dt: Any = None) -> float:
    return time.time() if dt is None else _ORIGINAL["unix_time"](dt)


def _unix_time_millis(dt: Any = None) -> float:
    return time.time() * 1000.0 if dt is None else _ORIGINAL["unix_time_millis"](dt)


def _is_message_valid_based_on_retention_period(self: Any, queue_name: str, message: Any) -> bool:
    retention_s = int(self.get_queue(queue_name).message_retention_period)
    return retention_s + message.sent_timestamp / 1000 > time.time()


_ORIGINAL: dict[str, Any] = {}


def install() -> None:
    """Patch moto's SQS models in this process (idempotent)."""
    global _installed
    if _installed:
        return
    from moto.sqs import models

    _ORIGINAL.update(unix_time=models.unix_time, unix_time_millis=models.unix_time_millis)
    models.unix_time = _unix_time
    models.unix_time_millis = _unix_time_millis
    models.SQSBackend.is_message_valid_based_on_retention_period = _is_message_valid_based_on_retention_period
    _installed = True
