"""Every handler's log lines on the local stack's stdout, one readable line each, with the function and
the request id of the invocation that wrote it (in Lambda, CloudWatch Logs keeps them per function).

Lambda sets ``AWS_LAMBDA_LOG_LEVEL`` from the function's ``ApplicationLogLevel``; Powertools Logger
follows it (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-log-level.html).
The local stack does the same with the template's ``LogLevel`` default, unless the variable is set.
"""

import contextlib
import logging
import sys
import threading
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

POWERTOOLS_LOGGER = "session-relay"
# Keys every Powertools line carries that the readable line shows otherwise, or not at all.
_HIDDEN = {
    "level",
    "location",
    "message",
    "timestamp",
    "service",
    "cold_start",
    "function_name",
    "function_memory_size",
    "function_arn",
    "function_request_id",
    "xray_trace_id",
    "sampling_rate",
    "exception",
    "exception_name",
    "exception_notes",
    "stack_trace",
    # Powertools keeps it per process, not per thread: concurrent invocations here would mislabel it.
    "correlation_id",
}
_current = threading.local()


@contextlib.contextmanager
def invocation(function: str, request_id: str) -> Iterator[None]:
    """Lines logged on this thread inside the block belong to this invocation."""
    _current.function, _current.request_id = function, request_id
    try:
        yield
    finally:
        _current.function = _current.request_id = None


def current() -> tuple[str, str]:
    return getattr(_current, "function", None) or "-", getattr(_current, "request_id", None) or "-"


def render(log: dict[str, Any]) -> str:
    """One line: time, level, function, request id, message, then the extra keys as key=value."""
    function, request_id = current()
    when = datetime.now().strftime("%H:%M:%S.%f")[:-3]
    extras = " ".join(f"{key}={value}" for key, value in log.items() if key not in _HIDDEN)
    line = f"{when} {log.get('level', '-'):<7} {function} {request_id} {log.get('message', '')}"
    line = f"{line}  {extras}" if extras else line
    if log.get("exception"):
        line = f"{line}\n{log['exception']}"
    return line


class ReadableFormatter(LambdaPowertoolsFormatter):
    """Powertools' formatter (so its keys still work) writing :func:`render` lines instead of JSON."""

    def serialize(self, log: dict[str, Any]) -> str:
        return render(log)


def install() -> None:
    """Switch the handlers' Powertools Logger to readable lines on stdout."""
    logger = logging.getLogger(POWERTOOLS_LOGGER)
    for handler in logger.handlers:
        handler.setFormatter(ReadableFormatter())
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(sys.stdout)


def log_failure(exc: BaseException) -> None:
    """What Lambda logs for an invocation that raised (its ERROR line with the traceback)."""
    logger = logging.getLogger(POWERTOOLS_LOGGER)
    logger.error("invocation failed: %s", type(exc).__name__, exc_info=exc)
