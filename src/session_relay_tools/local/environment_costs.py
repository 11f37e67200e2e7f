"""What a new execution environment costs on the local stack, for each function of the template:
the time of its Init (importing its own copy of the function's code and the layer) and the memory it
keeps, averaged over several environments made after a first one (which pays for the shared
third-party imports). ``python -m session_relay_tools.local.environment_costs [count]``"""

import gc
import os
import sys
import time

from session_relay_tools.local.environments import Environments
from session_relay_tools.local.functions import FunctionHost, load_module


def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def measure(host: FunctionHost, name: str, count: int) -> tuple[float, float]:
    """(seconds, bytes) one more environment of function ``name`` costs, on average over ``count``."""
    environments = Environments(host.function(name), load_module)
    kept = []
    gc.collect()
    before, started = _rss_bytes(), time.perf_counter()
    for _ in range(count):
        kept.append(environments.take())
        kept[-1].init()
    elapsed = time.perf_counter() - started
    gc.collect()
    grown = _rss_bytes() - before
    environments.close()
    return elapsed / count, grown / count


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
