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

What a new environment costs (its Init, in CPU time, ten environments of each function measured by
``python -m session_relay_tools.local.environment_costs``): 4 to 7 ms and 0.3 MB of Python objects
for each WebSocket function (pydantic-free), 26 to 34 ms and 0.9 MB for the REST function (its FastAPI app
and pydantic models). It is re-running the layer's module bodies; compiling is paid once per process
(``isolation``: each source file, and each method ``dataclasses`` writes, is compiled once; without
that an Init cost 14.5 ms and 46 ms). Warm invocations pay nothing, and a burst makes only as many
environments as invocations overlap (``Environments``).
Lambda's scaling rate (1,000 new environments per function every 10 s, "Lambda scaling behavior":
https://docs.aws.amazon.com/lambda/latest/dg/scaling-behavior.html) never binds here: environments are
kept, and the account pool (``limits``) allows at most 1,000 at once unless ``SESSION_RELAY_CONCURRENCY``
raises it.
"""

import asyncio
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import ModuleType
from typing import Any

from session_relay_tools.local import metrics
from session_relay_tools.local.isolation import import_isolated, share_clients

_WORKER_LOOPS: list[asyncio.AbstractEventLoop] = []


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
        name = self.function.module_name(self.number)
        entry, self.modules, self.init_s = import_isolated(
            self.function.entry, name, self.function.roots, self._load
        )
        share_clients(self.modules)
        observability = self.modules.get("session_relay.observability")
        if observability is not None:
            metrics.install(observability)
        self.handler = getattr(entry, self.function.attribute)

    def start(self) -> "Future[None]":
        """Its Init, on its own thread."""
        return self._thread.submit(self.init)

    def submit(self, run: Callable[["Environment"], Any]) -> "Future[Any]":
        """``run(self)`` on the environment's thread (after its Init)."""
        return self._thread.submit(self._invoke, run)

    def _invoke(self, run: Callable[["Environment"], Any]) -> Any:
        self._running += 1
        try:
            self.most_at_once = max(self.most_at_once, self._running)
            self.invocations += 1
            return run(self)
        finally:
            self._running -= 1

    def close(self) -> None:
        self._thread.shutdown(wait=False, cancel_futures=True)


_Job = tuple[Callable[[Environment], Any], "Future[Any]"]


class Environments:
    """A function's execution environments. An invocation takes an idle one (the most recently used);
    when every one is busy, its arrival starts a new one's Init, and it runs on the first of the
    function's environments to be ready: that new one, or one that finished its invocation meanwhile.

    On AWS a new environment's Init runs on a machine of its own, beside every other; here Inits share
    the process, one at a time (they change ``sys.modules``). Waiting for its own new environment, each
    invocation of a burst would wait for every Init started before its own: 150 handshakes at once
    waited up to 12 s on two busy cores. Taking the first environment ready keeps every rule that holds
    on AWS (one invocation at a time per environment, state of its own, an environment for each
    invocation that overlaps the others for longer than an Init), and the environments made are kept."""

    def __init__(self, function: Any, load: Callable[[Path, str], ModuleType]) -> None:
        self.function = function
        self.all: list[Environment] = []
        self._idle: list[Environment] = []
        self._waiting: deque[_Job] = deque()
        self._initializing = 0
        self._load = load
        self._lock = threading.Lock()

    def prepare(self) -> Environment:
        """One more environment, its Init done on the calling thread, kept idle (the host's start)."""
        environment = Environment(self.function, len(self.all) + 1, self._load)
        environment.init()
        with self._lock:
            self.all.append(environment)
            self._idle.append(environment)
        return environment

    def run(self, job: Callable[[Environment], Any]) -> "Future[Any]":
        """``job(environment)`` on an environment of the function (as the class says); its outcome."""
        outcome: Future[Any] = Future()
        new = None
        with self._lock:
            environment = self._idle.pop() if self._idle else None
            if environment is None:
                self._waiting.append((job, outcome))
                # One Init under way per waiting invocation: an Init whose invocation an environment
                # that finished took meanwhile is the next arrival's.
                if self._initializing < len(self._waiting):
                    self._initializing += 1
                    new = Environment(self.function, len(self.all) + 1, self._load)
                    self.all.append(new)
        if environment is not None:
            self._begin(environment, job, outcome)
        elif new is not None:
            new.start().add_done_callback(lambda init: self._initialized(new, init))
        return outcome

    def _initialized(self, environment: Environment, init: "Future[None]") -> None:
        with self._lock:
            self._initializing -= 1
        error = None if init.cancelled() else init.exception()
        if error is None and not init.cancelled():
            self._ready(environment)
            return
        with self._lock:  # a failed Init fails the oldest waiting invocation; the environment is gone
            self.all.remove(environment)
            job = self._waiting.popleft() if self._waiting else None
        if job is not None and job[1].set_running_or_notify_cancel():
            job[1].set_exception(error or RuntimeError("the environment was shut down"))

    def _ready(self, environment: Environment) -> None:
        """The environment is free: the oldest waiting invocation gets it, or it waits, idle."""
        while True:
            with self._lock:
                if not self._waiting:
                    self._idle.append(environment)
                    return
                job, outcome = self._waiting.popleft()
            if self._begin(environment, job, outcome):
                return

    def _begin(
        self, environment: Environment, job: Callable[[Environment], Any], outcome: "Future[Any]"
    ) -> bool:
        """Run ``job`` there; False (the environment still free) when its caller had already gone."""
        if not outcome.set_running_or_notify_cancel():
            return False
        try:
            running = environment.submit(job)
        except RuntimeError as exc:  # shut down: the stack is stopping
            outcome.set_exception(exc)
            return True
        running.add_done_callback(lambda done: self._finished(environment, done, outcome))
        return True

    def _finished(self, environment: Environment, done: "Future[Any]", outcome: "Future[Any]") -> None:
        self._ready(environment)  # free again before its caller hears of the outcome
        if done.cancelled():
            outcome.set_exception(RuntimeError("the environment was shut down"))
        elif done.exception() is not None:
            outcome.set_exception(done.exception())
        else:
            outcome.set_result(done.result())

    def idle(self) -> int:
        with self._lock:
            return len(self._idle)

    def close(self) -> None:
        with self._lock:
            for environment in self.all:
                environment.close()
            waiting, self._waiting = list(self._waiting), deque()
        for _, outcome in waiting:
            if outcome.set_running_or_notify_cancel():
                outcome.set_exception(RuntimeError("the environment was shut down"))


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
