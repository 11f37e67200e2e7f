"""Soak test: the local stack under churn and concurrent owners, checked request by request.

    python -m session_relay_tools.soak --duration 60 --sessions 300 --callers 30 --json-out soak.json

Starts its own local stack on free loopback ports, keeps ``--sessions`` simulated executors connected
while sessions randomly leave (closing their socket, disconnected by the owner, or dropped with
messages still in flight) and new ones join, and runs ``--callers`` concurrent REST callers that mix
single and bulk messages (echo, sleep, error, invalid and unknown keys) for ``--duration`` seconds.
Every request carries a unique nonce, and every client records what its function returned for each
nonce, so each answer is checked against exactly what the addressed session's function produced.

Invariants (the exit status is 1 if any fails): every request answered; no 5xx; no wrong, mixed or
lost reply; no crash in the stack's output; once every client has left, no session, no connection
mapping and no pending message left in DynamoDB (read directly with a scan of the tables).
"
Layout: ``driver`` (``Soak``, ``run_soak``) composes ``fleet`` (the simulated sessions and their
churn) and ``callers`` (the REST callers and the check of every answer); ``report`` counts and
summarizes; ``cli`` parses the command line (``python -m session_relay_tools.soak``).
"""

from session_relay_tools.soak.cli import main, parse_args
from session_relay_tools.soak.driver import Soak, run_soak
from session_relay_tools.soak.fleet import SoakSession
from session_relay_tools.soak.report import format_summary, leftovers, percentile

__all__ = [
    "Soak",
    "SoakSession",
    "format_summary",
    "leftovers",
    "main",
    "parse_args",
    "percentile",
    "run_soak",
]
