"""Every handler's log lines on the local stack's stdout, one readable line each, with the function and
the request id of the invocation that wrote it (in Lambda, CloudWatch Logs keeps them per function).

Lambda sets ``AWS_LAMBDA_LOG_LEVEL`` from the function's ``ApplicationLogLevel``; Powertools Logger
follows it (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-log-level.html).
The local stack does the same with the template's ``LogLevel`` default, unless the variable is set.

``SESSION_RELAY_LOG_FORMAT``: ``text`` (readable lines), ``json`` (Powertools' JSON, as CloudWatch
gets it), or unset: text on a terminal, JSON when the output goes to a pipe or a file.

The local gateways add one line per request (:func:`request`), in the same format: what API Gateway's
access log would say (method and path, or route and connection; status, milliseconds, request id).
"""

import contextlib
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

POWERTOOLS_LOGGER = "session-relay"
FORMAT_VARIABLE = "SESSION_RELAY_LOG_FORMAT"
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
def invocation(
    function: str, request_id: str, context: Any = None, cold_start: bool = False
) -> Iterator[None]:
    """Lines logged on this thread inside the block belong to this invocation (``context``: its
    Lambda context, whose ARN and memory size the JSON line names; ``cold_start``: whether it is its
    execution environment's first)."""
    _current.function, _current.request_id = function, request_id
    _current.context, _current.cold = context, cold_start
    try:
        yield
    finally:
        _current.function = _current.request_id = _current.context = None


def _invocation_keys() -> dict[str, Any]:
    """The keys Powertools' ``inject_lambda_context`` adds, as this thread's invocation has them
    (Powertools keeps one set per process, which concurrent invocations here would overwrite)."""
    function, request_id = current()
    keys: dict[str, Any] = {"function_name": function, "function_request_id": request_id}
    context = getattr(_current, "context", None)
    if context is not None:
        keys["function_arn"] = context.invoked_function_arn
        keys["function_memory_size"] = context.memory_limit_in_mb
        keys["cold_start"] = _current.cold
    return keys


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


class InvocationFormatter(LambdaPowertoolsFormatter):
    """Powertools' formatter (so its keys still work) that names the invocation a line belongs to
    (Powertools keeps those keys per process, not per thread), as :func:`render` text or JSON. The
    context keys are this thread's invocation's; ``cold_start`` is true on an execution environment's
    first invocation."""

    def __init__(self, text: bool) -> None:
        super().__init__()
        self.text = text

    def serialize(self, log: dict[str, Any]) -> str:
        if self.text:
            return render(log)
        log.pop("correlation_id", None)
        for key in ("function_arn", "function_memory_size", "cold_start"):  # another invocation's
            log.pop(key, None)
        return json.dumps({**log, **_invocation_keys()}, default=str)


def text_wanted(environ: dict[str, str] | None = None, terminal: bool | None = None) -> bool:
    environ = os.environ if environ is None else environ
    chosen = environ.get(FORMAT_VARIABLE, "").strip().lower()
    if chosen in ("text", "json"):
        return chosen == "text"
    return sys.stdout.isatty() if terminal is None else terminal


def install() -> None:
    """Switch the handlers' Powertools Logger to lines naming their invocation, on stdout."""
    logger = logging.getLogger(POWERTOOLS_LOGGER)
    text = text_wanted()
    for handler in logger.handlers:
        handler.setFormatter(InvocationFormatter(text))
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(sys.stdout)


def log_failure(exc: BaseException) -> None:
    """What Lambda logs for an invocation that raised (its ERROR line with the traceback)."""
    logger = logging.getLogger(POWERTOOLS_LOGGER)
    logger.error("invocation failed: %s", type(exc).__name__, exc_info=exc)


_write = threading.Lock()


def request(api: str, request_id: str, status: int, started: float, **fields: str) -> None:
    """One line for one request the gateway ``api`` answered: ``fields`` (method and path, or route
    and connection id), the status, the milliseconds since ``started`` (``time.monotonic()``), the
    request id. Text on a terminal, JSON into a pipe, as the handlers' lines (:func:`text_wanted`)."""
    ms = round((time.monotonic() - started) * 1000, 1)
    now = datetime.now().astimezone()
    if text_wanted():
        what = " ".join(fields.values())
        line = f"{now.strftime('%H:%M:%S.%f')[:-3]} {'INFO':<7} {api} {request_id} {what} {status} {ms} ms"
    else:
        log = {"level": "INFO", "message": "request", "timestamp": now.isoformat(timespec="milliseconds")}
        line = json.dumps({**log, "api": api, **fields, "status": status, "ms": ms, "request_id": request_id})
    # A stdout that went away (a pipe's reader left) costs the line, never the request.
    with _write, contextlib.suppress(OSError, ValueError):
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
