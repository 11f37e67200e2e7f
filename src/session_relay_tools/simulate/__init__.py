"""An executor simulator speaking PROTOCOL.md section 2, for people, tests and benchmarks.

    session-relay simulate --script-id SCRIPT --sessions 10
    python -m session_relay_tools.simulate --script-id SCRIPT --sessions 10   (the same command)

``SimulatedClient`` is one session, ``Fleet`` many on a background loop for synchronous callers,
``RawClient`` a hand-driven connection for probing the protocol.
"""

from session_relay_tools.simulate.client import (
    DEMO_FUNCTIONS,
    FRAME_LIMIT_BYTES,
    Function,
    FunctionError,
    SimulatedClient,
    describe_refusal,
    identity_for,
    reply_for,
)
from session_relay_tools.simulate.fleet import Fleet
from session_relay_tools.simulate.raw import RawClient, raw_identity


def main(argv: list[str] | None = None) -> None:
    """``session-relay simulate`` with these arguments (the command loads typer only when run)."""
    from session_relay_tools.simulate.command import main as run

    run(argv)


__all__ = [
    "DEMO_FUNCTIONS",
    "FRAME_LIMIT_BYTES",
    "Fleet",
    "Function",
    "FunctionError",
    "RawClient",
    "SimulatedClient",
    "describe_refusal",
    "identity_for",
    "main",
    "raw_identity",
    "reply_for",
]
