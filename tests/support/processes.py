"""Fresh interpreters, started as a deployed function starts: for probes of what an import loads,
connects or renders, which the test process itself (with everything imported) cannot show."""

import os
import subprocess
import sys

from support.environment import REGION, REPO_ROOT
from support.functions import FUNCTIONS_DIR

# What a deployed function's code reads from its environment at import: its tables and the region.
FUNCTION_ENVIRONMENT = {
    "SESSIONS_TABLE": "t-sessions",
    "CONNECTIONS_TABLE": "t-connections",
    "AUTH_TABLE": "t-auth",
    "AWS_DEFAULT_REGION": REGION,
}


def entry_module(function: str) -> str:
    """The path of a function's Lambda entry module (``functions/<function>/app.py``)."""
    return str(FUNCTIONS_DIR / function / "app.py")


def run_fresh(code: str, *args: str, **environment: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter from the repository's root, started as a deployed function
    is: this process's environment without its ``AWS_``, ``POWERTOOLS_`` and ``LAMBDA_`` variables,
    plus ``FUNCTION_ENVIRONMENT`` and ``environment``."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("POWERTOOLS_", "AWS_", "LAMBDA_"))}
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        env={**inherited, **FUNCTION_ENVIRONMENT, **environment},
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO_ROOT,
        timeout=120,
    )
