"""A handler that counts its own invocations: its module state is its execution environment's."""

import functools
import time
import uuid

INVOCATIONS = 0  # invocations this environment ran
RUNNING = 0  # invocations this environment is running now


@functools.lru_cache(maxsize=1)
def environment_token() -> str:
    """Made once per environment (a module-level cache, as the product's client factories)."""
    return uuid.uuid4().hex


def handler(event, context):
    """Sleeps ``sleep_s``; answers this environment's token, its count so far (this invocation
    included) and whether another invocation ran in this environment meanwhile."""
    global INVOCATIONS, RUNNING
    RUNNING += 1
    INVOCATIONS += 1
    count = INVOCATIONS
    time.sleep(event.get("sleep_s", 0))
    overlapped = RUNNING > 1
    RUNNING -= 1
    return {"token": environment_token(), "count": count, "overlapped": overlapped}
