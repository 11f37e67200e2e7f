"""A function's execution environments, as Lambda keeps them: each runs one invocation at a time ("for
each concurrent request, Lambda provisions a separate instance of your execution environment"; while it
runs one, it "is busy and cannot process other requests"); an invocation goes to an idle one (warm), and
a new one is started when every one is busy (its Init phase, a cold start); an environment is reused,
never shared:
https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html
https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html
Lambda also limits how fast one function adds environments, 1,000 every 10 seconds; with the account's
default pool of 1,000 that limit never binds, so it is not modelled:
https://docs.aws.amazon.com/lambda/latest/dg/scaling-behavior.html

Each environment loads the function's entry module (``app.py``) for itself, so whatever that module
keeps between invocations (the ``$default`` function's flood counts, for one) is the environment's own,
as it is on AWS. The layer's modules below it are imported once for the whole stack: what they cache
(clients, settings, API keys) is shared by every environment here, where on AWS each would fill its own.
How many environments run at once is bounded by the account's pool of concurrent executions
(``limits.ConcurrencyPool``), which the host takes before it asks for one.

An asyncio handler (the REST function's, through Mangum) finds an event loop in its environment's
process on AWS. Here environments share the host's threads, so an environment of such a function keeps
an event loop of its own and lends it to the thread that runs its work: as many loops as the function
has environments, none for the functions that do not ask for one.
"""

import asyncio
import contextlib
import importlib.util
import itertools
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any


def load_module(path: Path, module_name: str) -> ModuleType:
    """Import a function's entry module from its file (every function folder has an ``app.py``)."""
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


class Environment:
    """One execution environment of a function: its own copy of the entry module, how many
    invocations it has run (the first one is its cold start), and with ``event_loop`` an event loop of
    its own."""

    def __init__(self, function: str, entry: Path, attribute: str, number: int, event_loop: bool) -> None:
        self.number = number
        self.loop = asyncio.new_event_loop() if event_loop else None
        with self.lent():  # Mangum looks for a loop when it is built
            self.module = load_module(entry, f"lambda_{function}_{entry.stem}_{number}")
        self.handler: Any = getattr(self.module, attribute)
        self.invocations = 0

    @contextlib.contextmanager
    def lent(self) -> Iterator[None]:
        """The environment's event loop, if it has one, as the calling thread's while the block runs.
        The host's threads have no loop otherwise (``FunctionHost``)."""
        if self.loop is None:
            yield
            return
        asyncio.set_event_loop(self.loop)
        try:
            yield
        finally:
            asyncio.set_event_loop(None)

    def close(self) -> None:
        """Close the environment's event loop (once nothing runs in the environment)."""
        if self.loop is not None and not self.loop.is_running() and not self.loop.is_closed():
            self.loop.close()


class Environments:
    """The execution environments of one function: ``entry`` is its entry module's file, ``attribute``
    the handler's name in it, ``event_loop`` whether its handler runs on an event loop (each
    environment then has one)."""

    def __init__(self, function: str, entry: Path, attribute: str, event_loop: bool = False) -> None:
        self.function, self.entry, self.attribute = function, entry, attribute
        self.event_loop = event_loop
        self._idle: list[Environment] = []  # the one released last is reused first
        self._started: list[Environment] = []
        self._numbers = itertools.count()
        self._lock = threading.Lock()

    def warm(self) -> None:
        """Start an environment ahead of the first invocation (its entry module loads now, so a
        function whose code cannot load fails when the stack starts, not on its first request)."""
        self._release(self._start())

    @contextlib.contextmanager
    def take(self) -> Iterator[Environment]:
        """An environment for one invocation, busy until the block ends."""
        with self._lock:
            environment = self._idle.pop() if self._idle else None
        if environment is None:
            environment = self._start()
        environment.invocations += 1
        try:
            with environment.lent():
                yield environment
        finally:
            self._release(environment)

    def started(self) -> list[Environment]:
        with self._lock:
            return list(self._started)

    def close(self) -> None:
        """Close every environment's event loop (once no invocation runs)."""
        for environment in self.started():
            environment.close()

    def _start(self) -> Environment:
        number = next(self._numbers)
        # Outside the lock: loading imports, and other invocations need not wait for it.
        environment = Environment(self.function, self.entry, self.attribute, number, self.event_loop)
        with self._lock:
            self._started.append(environment)
        return environment

    def _release(self, environment: Environment) -> None:
        with self._lock:
            self._idle.append(environment)
