"""Lambda's execution environments, in one process.

Lambda runs each invocation in an execution environment of the function it invokes: an environment
handles one invocation at a time, is reused (warm) for later ones, and Lambda makes a new one (its
Init phase imports the handler's module) for a request that finds every existing one busy. Its state,
the module globals of the handler and of what it imports, is its own: nothing outside the environment
sees it, and environments are never shared between functions.
- "Understanding the Lambda execution environment lifecycle":
  https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html
- "Understanding Lambda function scaling" ("for each concurrent request, Lambda provisions a separate
  instance of your execution environment"): https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html
- "Lambda execution environments" (frozen after an invocation, kept for a while, reused by the same
  function's next request): https://docs.aws.amazon.com/lambda/latest/operatorguide/execution-environments.html

Here an environment is a thread of its own (one invocation at a time) and a module namespace of its
own: its Init imports the function's entry module with every module under the function's ``CodeUri``
and its layers' ``ContentUri`` (the ``session_relay`` package) taken out of ``sys.modules`` during the
import, so the environment gets fresh copies of them (module-level caches, ``lru_cache``s, the frame
limiter, the Authenticator) and keeps them to itself afterwards. Third-party packages (boto3, Powertools,
FastAPI, pydantic) stay shared, as the process has one copy of them; the environments also share the
host's boto3 clients (``share_clients``), the one thing the local stack puts into the handlers (the
embedded DynamoDB's queue needs one client for the whole stack). Idle environments are kept (Lambda
keeps them warm for a time it does not promise) and the most recently used one is taken first.

What a new environment costs (its Init; ``python -m session_relay_tools.local.environment_costs``, ten
environments of each function on two shared cores at a load average of 5): 12 to 21 ms and 0.35 MB of
Python objects for each WebSocket function (pydantic-free), 40 ms and 1.1 MB for the REST function (its
FastAPI app and pydantic models). Most of it is re-running the layer's module bodies (its dataclasses
above all); compiling them is paid once per process (``_CompiledOnce``: without bytecode files it tripled
the cost). Warm invocations pay nothing, and a burst makes only as many environments as invocations
overlap: a wave of 1,000 handshakes costs about 15 s of Init once, and none afterwards.
Lambda's scaling rate (1,000 new environments per function every 10 s, "Lambda scaling behavior":
https://docs.aws.amazon.com/lambda/latest/dg/scaling-behavior.html) never binds here: environments are
kept, and the account pool (``limits``) allows at most 1,000 at once unless ``SESSION_RELAY_CONCURRENCY``
raises it.
"""

import asyncio
import importlib.abc
import importlib.machinery
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import CodeType, ModuleType
from typing import Any

from session_relay_tools.local import metrics

# Imports change sys.modules for the whole process: one environment's Init at a time.
_IMPORT_LOCK = threading.Lock()
_WORKER_LOOPS: list[asyncio.AbstractEventLoop] = []
_ABSOLUTE: dict[str, str] = {}  # module file name -> its absolute form
_CODE: dict[str, tuple[int, CodeType]] = {}  # source file -> (its mtime in ns, its compiled code)


def _within(module: ModuleType, roots: tuple[str, ...]) -> bool:
    file = getattr(module, "__file__", None)
    if not isinstance(file, str):
        return False
    if file not in _ABSOLUTE:
        _ABSOLUTE[file] = os.path.abspath(file)
    return _ABSOLUTE[file].startswith(roots)


class _CompiledOnce(importlib.machinery.SourceFileLoader):
    """A source loader that compiles each file once for every environment (a code object can run in
    any number of module namespaces); without bytecode files (``PYTHONDONTWRITEBYTECODE``) each
    environment's Init would otherwise compile the whole layer again."""

    def get_code(self, fullname: str) -> CodeType:
        path = self.get_filename(fullname)
        mtime = os.stat(path).st_mtime_ns
        cached = _CODE.get(path)
        if cached is None or cached[0] != mtime:
            cached = _CODE[path] = (mtime, super().get_code(fullname))
        return cached[1]


class _IsolatedFinder(importlib.abc.MetaPathFinder):
    """Finds the modules under ``roots`` as the path finder does, loading them with ``_CompiledOnce``."""

    def __init__(self, roots: tuple[str, ...]) -> None:
        self.roots = roots

    def find_spec(self, name: str, path: Sequence[str] | None, target: Any = None) -> Any:
        spec = importlib.machinery.PathFinder.find_spec(name, path, target)
        loader = getattr(spec, "loader", None)
        if not isinstance(loader, importlib.machinery.SourceFileLoader):
            return None
        if not os.path.abspath(loader.path).startswith(self.roots):
            return None
        spec.loader = _CompiledOnce(loader.name, loader.path)
        return spec


def import_isolated(
    entry: Path, module_name: str, roots: tuple[str, ...], load: Callable[[Path, str], ModuleType]
) -> tuple[ModuleType, dict[str, ModuleType]]:
    """``load(entry, module_name)`` with fresh copies of every module whose file is under ``roots``
    (folders, each ending with a separator): the entry module and those copies, by name, none of them
    left in ``sys.modules`` (which keeps the modules it had)."""
    with _IMPORT_LOCK:
        hidden = {name: module for name, module in list(sys.modules.items()) if _within(module, roots)}
        for name in hidden:
            del sys.modules[name]
        finder = _IsolatedFinder(roots)
        sys.meta_path.insert(0, finder)
        try:
            module = load(entry, module_name)
        finally:
            sys.meta_path.remove(finder)
            own = {
                name: module
                for name, module in list(sys.modules.items())
                if name == module_name or _within(module, roots)
            }
            for name in own:
                del sys.modules[name]
            sys.modules.update(hidden)
    return module, own


def share_clients(modules: dict[str, ModuleType]) -> None:
    """The environment's ``session_relay.aws`` makes no clients of its own: it uses the host's (through
    the product's seam), so the local stack's DynamoDB client and its call counting cover every one."""
    own, host = modules.get("session_relay.aws"), sys.modules.get("session_relay.aws")
    if own is None or host is None:
        return
    own.use_dynamodb_client(host.dynamodb_client)
    own.use_management_client(host.management_client)


class Environment:
    """One execution environment of one function: a thread, and the modules its Init imported."""

    def __init__(self, function: Any, number: int, load: Callable[[Path, str], ModuleType]) -> None:
        self.function = function
        self.number = number
        self.handler: Callable[[Any, Any], Any] | None = None
        self.modules: dict[str, ModuleType] = {}
        self.invocations = 0
        self.init_s = 0.0
        self.most_at_once = 0
        self._running = 0
        self._load = load
        self._thread = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix=f"{function.name}-{number}", initializer=_own_event_loop
        )

    @property
    def module(self) -> ModuleType:
        """The environment's own copy of the function's entry module (after its Init)."""
        return self.modules[self.function.module_name(self.number)]

    def init(self) -> None:
        """The Init phase: import the function's code into this environment's own modules."""
        started = time.monotonic()
        name = self.function.module_name(self.number)
        entry, self.modules = import_isolated(self.function.entry, name, self.function.roots, self._load)
        share_clients(self.modules)
        observability = self.modules.get("session_relay.observability")
        if observability is not None:
            metrics.install(observability)
        self.handler = getattr(entry, self.function.attribute)
        self.init_s = time.monotonic() - started

    def submit(self, run: Callable[["Environment"], Any]) -> "Future[Any]":
        """``run(self)`` on the environment's thread, after its Init if it has not had one."""
        return self._thread.submit(self._invoke, run)

    def _invoke(self, run: Callable[["Environment"], Any]) -> Any:
        self._running += 1
        try:
            self.most_at_once = max(self.most_at_once, self._running)
            if self.handler is None:
                self.init()  # an Init that fails fails this invocation; the next one tries again
            self.invocations += 1
            return run(self)
        finally:
            self._running -= 1

    def close(self) -> None:
        self._thread.shutdown(wait=False, cancel_futures=True)


class Environments:
    """A function's execution environments: an invocation takes an idle one (the most recently used),
    or a new one when every one is busy (the caller has already taken a unit of concurrency)."""

    def __init__(self, function: Any, load: Callable[[Path, str], ModuleType]) -> None:
        self.function = function
        self.all: list[Environment] = []
        self._idle: list[Environment] = []
        self._load = load
        self._lock = threading.Lock()

    def take(self) -> Environment:
        with self._lock:
            if self._idle:
                return self._idle.pop()
            self.all.append(Environment(self.function, len(self.all) + 1, self._load))
            return self.all[-1]

    def give_back(self, environment: Environment) -> None:
        with self._lock:
            self._idle.append(environment)

    def idle(self) -> int:
        with self._lock:
            return len(self._idle)

    def close(self) -> None:
        with self._lock:
            for environment in self.all:
                environment.close()


def _own_event_loop() -> None:
    # Mangum drives the ASGI app on the invoking thread's event loop: each environment has its own.
    loop = asyncio.new_event_loop()
    _WORKER_LOOPS.append(loop)
    asyncio.set_event_loop(loop)


def close_worker_loops() -> None:
    """Close the environments' event loops (at exit, once their threads are joined): a loop left to
    the garbage collector at exit can fail in __del__ ("Invalid file descriptor: -1")."""
    for loop in _WORKER_LOOPS:
        if not loop.is_running() and not loop.is_closed():
            loop.close()
