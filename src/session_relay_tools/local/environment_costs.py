"""What a new execution environment costs on the local stack, for each function of the template:
the CPU time of its Init (importing its own copy of the function's code and the layer; CPU time, so
that other work on the machine does not count) and the memory it keeps, averaged over several
environments made after a first one (which pays for the shared third-party imports).
``python -m session_relay_tools.local.environment_costs [count]``"""

import gc
import os
import sys
import time
import tracemalloc

from session_relay_tools.local.environments import Environments
from session_relay_tools.local.functions import FunctionHost, load_module


def _make(host: FunctionHost, name: str, count: int) -> float:
    """CPU seconds ``count`` new environments of function ``name`` take to make (kept until the end)."""
    environments = Environments(host.function(name), load_module)
    started = time.thread_time()
    for _ in range(count):
        environments.prepare()
    elapsed = time.thread_time() - started
    environments.close()
    return elapsed


def measure(host: FunctionHost, name: str, count: int) -> tuple[float, float]:
    """(seconds, bytes) one more environment of function ``name`` costs, on average over ``count``:
    the CPU time untraced, the memory Python allocated for them (``tracemalloc``) in a second round."""
    seconds = _make(host, name, count)
    gc.collect()
    tracemalloc.start()
    environments = Environments(host.function(name), load_module)
    for _ in range(count):
        environments.prepare()
    gc.collect()
    size = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    environments.close()
    return seconds / count, size / count


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    host = FunctionHost()  # one environment of each function: the shared imports are paid
    try:
        for name in sorted(host.functions):
            seconds, size = measure(host, name, count)
            print(f"{name:<24} {seconds * 1000:7.1f} ms  {size / 2**20:6.2f} MB per new environment")
    finally:
        host.close()


if __name__ == "__main__":
    main()
