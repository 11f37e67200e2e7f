"""One invocation of a mapping's function through the local ``FunctionHost``, as an event source mapping
makes it: a synchronous invoke in the account's one pool of concurrent executions, failed when the
function raises or runs past its timeout, refused (``throttled``) when the pool has nothing left.
Each invocation prints one line in ``make dev``'s format (``logs.request``).
"""

import asyncio
import sys
import time
import uuid
from dataclasses import dataclass
from typing import Any

from session_relay_tools.local import logs
from session_relay_tools.local.limits import RequestTooLarge, Throttled

SERVER_RETRY_S = 1.0  # how long a poller waits after its server failed a request, before trying again

# The line's status, as the invocation ended.
_STATUS = {"ok": 200, "error": 500, "timeout": 504, "throttled": 429}


@dataclass(frozen=True)
class Invocation:
    """``outcome``: ``ok`` (``answer`` is the function's), ``error``, ``timeout`` or ``throttled``."""

    outcome: str
    answer: Any = None
    error: str = ""


@dataclass(frozen=True)
class Target:
    """The function a mapping invokes: the host's, its template logical id and its timeout."""

    host: Any
    function: Any
    name: str
    timeout_s: float
    source: str
    kind: str

    async def invoke(self, event: dict[str, Any], records: int) -> Invocation:
        """Invoke with ``event`` (``records`` of them), logging one line for the invocation."""
        started = time.monotonic()
        invocation = await self._invoke(event)
        detail = invocation.error or _answer_note(invocation.answer)
        fields = {
            "route": f"{self.source} -> {self.name}",
            "records": f"{records} record{'' if records == 1 else 's'}",
        }
        if detail:
            fields["detail"] = detail
        logs.request(self.kind, str(uuid.uuid4()), _STATUS[invocation.outcome], started, **fields)
        return invocation

    async def _invoke(self, event: dict[str, Any]) -> Invocation:
        try:
            # The function's timeout ends the invocation (Lambda stops it; here its thread finishes alone,
            # holding its execution until it does, as the host counts it).
            answer = await asyncio.wait_for(self.host.invoke(self.function, event), self.timeout_s)
        except Throttled:
            return Invocation("throttled", error="throttled: no concurrency left")
        except TimeoutError:
            return Invocation("timeout", error=f"Task timed out after {self.timeout_s:.2f} seconds")
        except RequestTooLarge:
            return Invocation("error", error="the event is over Lambda's 6 MB invocation payload")
        except Exception as exc:  # the function's own error, as Lambda reports it
            return Invocation("error", error=f"{type(exc).__name__}: {exc}")
        return Invocation("ok", answer)


def _answer_note(answer: Any) -> str:
    if isinstance(answer, dict) and answer.get("batchItemFailures"):
        return f"{len(answer['batchItemFailures'])} batch item failures reported"
    return ""


def warn_server(kind: str, source: str, exc: BaseException) -> None:
    """One line on stderr for a request of a mapping's poller that the server failed (the poller goes on)."""
    print(f"warning: {kind} mapping of {source}: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
