"""``SESSION_RELAY_BULK_POLL=by-key``, for the benchmarks only: every poll of a bulk call reads each
message still pending by key (``BatchGetItem``), as the bulk polls did before the ``answered`` index,
so that ``make bench`` measures the two polls side by side on the same code (docs/benchmarks.md,
"Bulk message"). Unset, or ``answered``, changes nothing."""

import os
from typing import Any

ENV = "SESSION_RELAY_BULK_POLL"
CHOICES = ("answered", "by-key")


def apply() -> None:
    """Make the delivery core poll by key when the environment asks for it."""
    choice = os.environ.get(ENV, "answered")
    if choice not in CHOICES:
        raise SystemExit(f"{ENV} must be one of {', '.join(CHOICES)}, not {choice!r}")
    if choice == "answered":
        return
    from session_relay.service.delivery import DeliveryCore

    answered_poll = DeliveryCore.collect

    def by_key(self: DeliveryCore, waiting: Any, until: float, *args: Any, **kwargs: Any) -> Any:
        return answered_poll(self, waiting, until, *args, **{**kwargs, "shards": None})

    DeliveryCore.collect = by_key  # type: ignore[method-assign]
