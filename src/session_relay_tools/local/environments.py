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
"""

import contextlib
import importlib.util
import itertools
import sys
import threading
import warnings
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
    with warnings.catch_warnings():
        # Mangum probes for an event loop when built (Python 3.12 warns); Lambda prints the same.
        warnings.filterwarnings("ignore", "There is no current event loop", DeprecationWarning)
        spec.loader.exec_module(module)
    return module


class Environment:
    """One execution environment of a function: its own copy of the entry module, and how many
    invocations it has run (the first one is its cold start)."""

    def __init__(self, function: str, entry: Path, attribute: str, number: int) -> None:
        self.number = number
        self.module = load_module(entry, f"lambda_{function}_{entry.stem}_{number}")
        self.handler: Any = getattr(self.module, attribute)
        self.invocations = 0


class Environments:
    """The execution environments of one function: ``entry`` is its entry module's file, ``attribute``
    the handler's name in it."""

    def __init__(self, function: str, entry: Path, attribute: str) -> None:
        self.function, self.entry, self.attribute = function, entry, attribute
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
            yield environment
        finally:
            self._release(environment)

    def started(self) -> list[Environment]:
        with self._lock:
            return list(self._started)

    def _start(self) -> Environment:
        number = next(self._numbers)
        # Outside the lock: loading imports, and other invocations need not wait for it.
        environment = Environment(self.function, self.entry, self.attribute, number)
        with self._lock:
            self._started.append(environment)
        return environment

    def _release(self, environment: Environment) -> None:
        with self._lock:
            self._idle.append(environment)
