"""The handlers' JSON log lines name their own invocation, however many run at once: Powertools keeps
its context keys once per process, and concurrent invocations here share the process."""

import json
import threading

from session_relay_tools.local import logs
from session_relay_tools.local.functions import LambdaContext

# As Powertools' shared keys would hold them after another function's invocation began.
SHARED = {
    "level": "INFO",
    "message": "session closed",
    "function_name": "OtherFunction",
    "function_arn": "arn:aws:lambda:us-east-1:000000000000:function:OtherFunction",
    "function_memory_size": 256,
    "function_request_id": "other-request",
    "cold_start": True,
}


def _line(function: str, memory_mb: int, barrier: threading.Barrier, lines: dict) -> None:
    formatter = logs.InvocationFormatter(text=False)
    for attempt in range(2):
        context = LambdaContext(function, 3.0, memory_mb)
        with logs.invocation(function, context.aws_request_id, context, cold_start=attempt == 0):
            barrier.wait()  # both invocations are open at once
            lines[(function, attempt)] = (context, json.loads(formatter.serialize(dict(SHARED))))


def test_concurrent_invocations_each_log_their_own_context_keys() -> None:
    lines: dict = {}
    barrier = threading.Barrier(2)
    names = {"LogsTestDisconnect": 128, "LogsTestEvents": 256}
    threads = [threading.Thread(target=_line, args=(n, m, barrier, lines)) for n, m in names.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for (function, attempt), (context, line) in lines.items():
        assert line["function_name"] == function
        assert line["function_arn"] == context.invoked_function_arn
        assert line["function_arn"].endswith(f":function:{function}")
        assert line["function_memory_size"] == names[function]
        assert line["function_request_id"] == context.aws_request_id
        assert line["cold_start"] is (attempt == 0)  # this invocation's, not the other's
        assert line["message"] == "session closed"
