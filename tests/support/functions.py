"""The four Lambda functions as deployed (``functions/<name>/app.py``) and their context object."""

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from session_relay_tools.local import functions
from session_relay_tools.local.environments import load_module
from support.environment import REPO_ROOT

FUNCTIONS_DIR = REPO_ROOT / "functions"
FUNCTION_NAMES = ("rest_api", "ws_connect", "ws_default", "ws_disconnect")
Handler = Callable[[dict[str, Any], Any], Any]


@dataclass
class ClockedContext(functions.LambdaContext):
    """The Lambda context, its remaining time counted on ``clock`` (real by default, or virtual)."""

    clock: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        self.started = self.clock()

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_s - (self.clock() - self.started)) * 1000))


def LambdaContext(
    remaining_ms: int = 75_000,
    function_name: str = "session-relay-RestApiFunction",
    clock: Callable[[], float] = time.monotonic,
) -> ClockedContext:
    """A Lambda context whose remaining time starts at ``remaining_ms`` and runs on ``clock``."""
    return ClockedContext(function_name, remaining_ms / 1000, clock=clock)


def import_function(name: str) -> ModuleType:
    """``functions/<name>/app.py`` as a module (loaded anew)."""
    return load_module(FUNCTIONS_DIR / name / "app.py", f"function_{name}_app")


@functools.cache
def handlers() -> dict[str, Handler]:
    """Every function's handler, loaded once for the run (a load imports FastAPI, Mangum, boto3)."""
    return {name: import_function(name).handler for name in FUNCTION_NAMES}
