"""Bounded thread pools for concurrent AWS calls (boto3 clients are thread safe), kept for the
container's life so warm invocations reuse their threads."""

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor

_lock = threading.Lock()
_pools: dict[int, ThreadPoolExecutor] = {}


def shared_pool(workers: int) -> ThreadPoolExecutor:
    with _lock:
        if workers not in _pools:
            _pools[workers] = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="aws")
        return _pools[workers]


def run_all[T, R](call: Callable[[T], R], items: Iterable[T], workers: int) -> list[R]:
    """``call`` on every item, concurrently through the shared pool (in the caller's thread when
    there is only one); results in the items' order."""
    items = list(items)
    if len(items) <= 1:
        return [call(item) for item in items]
    return list(shared_pool(workers).map(call, items))
