"""The simulated sessions of a soak: connecting them, their functions, and their churn
(closing their socket, disconnected by the owner, or dropped with messages still in flight)."""

import argparse
import asyncio
import contextlib
import itertools
import math
import random
import time
from dataclasses import dataclass, field
from typing import Any

from session_relay_tools.local.process import RunningStack
from session_relay_tools.simulate import FunctionError, SimulatedClient, identity_for
from session_relay_tools.soak.report import Report, leftovers

DRAIN_TIMEOUT_S = 20.0
LEAVE_WAVE = 25
WAVE_TIMEOUT_S = 15.0


@dataclass(eq=False)
class SoakSession:
    """One simulated executor and what the soak knows about it."""

    client: SimulatedClient
    task: asyncio.Task[Any] | None = None
    inflight: int = 0
    leaving: bool = False
    abrupt: bool = False  # dropped while messages may be in flight: those may go unanswered
    returned: dict[str, Any] = field(default_factory=dict)  # nonce -> what its function returned

    @property
    def session_id(self) -> str:
        assert self.client.session_id is not None
        return self.client.session_id


class Fleet:
    """The sessions half of ``Soak`` (its state is set up by ``Soak.__init__``; ``_request``, used
    for the owner's disconnect, comes from the callers half)."""

    stack: RunningStack
    args: argparse.Namespace
    random: random.Random
    report: Report
    sessions: list[SoakSession]
    available: list[SoakSession]
    indices: itertools.count
    stop_at: float

    def _functions(self, session: SoakSession) -> dict[str, Any]:
        def returned(nonce: str, value: Any) -> Any:
            session.returned[nonce] = value
            return value

        def echo(data: Any) -> Any:
            return returned(data["nonce"], {"nonce": data["nonce"], "by": session.client.session_id})

        async def sleep(data: Any) -> Any:
            await asyncio.sleep(data["s"])
            return returned(data["nonce"], {"nonce": data["nonce"], "slept": data["s"]})

        def error(data: Any) -> Any:
            session.returned[data["nonce"]] = "raised"
            raise FunctionError(data["nonce"])

        def invalid(data: Any) -> Any:
            session.returned[data["nonce"]] = "nan"
            return math.nan

        return {"echo": echo, "sleep": sleep, "error": error, "invalid": invalid}

    async def connect(self, count: int) -> None:
        """Connect ``count`` new sessions and make them available once they said hello."""
        new = []
        for _ in range(count):
            index = next(self.indices)
            client = SimulatedClient(self.stack.ws_url, identity_for(self.stack.script_id, index))
            session = SoakSession(client)
            client.functions = self._functions(session)
            session.task = asyncio.create_task(client.run())
            new.append(session)
        await asyncio.gather(*(session.client.hello.wait() for session in new))
        for session in new:
            if session.client.session_id is None:
                self.report.fail("unexpected", "a simulated client could not connect")
                continue
            self.sessions.append(session)
            self.available.append(session)
            self.report.sessions_connected += 1

    async def _drained(self, session: SoakSession) -> None:
        session.leaving = True
        self.available.remove(session)
        while session.inflight:
            await asyncio.sleep(0.01)

    async def leave(self, session: SoakSession, how: str) -> None:
        """Take one session away: ``close`` (the client hangs up), ``owner`` (REST disconnect) or
        ``abrupt`` (the client hangs up with messages possibly in flight)."""
        if how == "abrupt":
            session.leaving = session.abrupt = True
            self.available.remove(session)
        else:
            await self._drained(session)
        self.report.churn[how] += 1
        if how == "owner":
            answer = await self._request("POST", f"/sessions/{session.session_id}/disconnect", None, "churn")
            if answer is not None and answer.status_code != 200:
                self.report.fail("unexpected", f"owner disconnect answered {answer.status_code}")
            after = await self._request("GET", f"/sessions/{session.session_id}", None, "churn")
            if after is not None and after.status_code != 404:
                self.report.fail("unexpected", f"a disconnected session still answers {after.status_code}")
            with contextlib.suppress(TimeoutError):  # the client closes on the disconnect frame
                await asyncio.wait_for(session.client.closed.wait(), 10)
        await session.client.stop()
        await session.client.closed.wait()

    async def churn(self) -> None:
        """Replace sessions at random moments (a Poisson process of ``--churn-per-s``); a departure
        waits for its session's messages in flight, so several run at once."""
        interval = 1 / self.args.churn_per_s
        ways = ["close", "owner", "abrupt"]
        running: set[asyncio.Task[None]] = set()
        started = 0
        while True:
            await asyncio.sleep(self.random.expovariate(1 / interval))
            if time.monotonic() >= self.stop_at:
                break
            if len(self.available) < max(3, self.args.sessions // 2):
                continue
            session = self.random.choice(self.available)
            # Each way of leaving once first, so even a short run exercises all three.
            how = ways[started] if started < len(ways) else self.random.choices(ways, weights=[6, 3, 1])[0]
            started += 1
            task = asyncio.create_task(self._replace(session, how))
            running.add(task)
            task.add_done_callback(running.discard)
        await asyncio.gather(*running)

    async def _replace(self, session: SoakSession, how: str) -> None:
        await self.leave(session, how)
        await self.connect(1)

    async def leave_all(self) -> None:
        """Every client hangs up, a wave at a time.

        The embedded DynamoDB serves one request at a time and its Query reads the whole table, so
        hundreds of ``$disconnect`` calls in the same instant would queue past the handlers' 5 s read
        timeout (on AWS, DynamoDB serves them in parallel). Each wave waits for its sessions to go.
        """
        still_open = [session for session in self.sessions if not session.client.closed.is_set()]
        for start in range(0, len(still_open), LEAVE_WAVE):
            wave = still_open[start : start + LEAVE_WAVE]
            await asyncio.gather(*(session.client.stop() for session in wave), return_exceptions=True)
            await asyncio.gather(*(session.task for session in wave if session.task), return_exceptions=True)
            remaining = len(still_open) - start - len(wave)
            await asyncio.to_thread(self._wait_for_sessions, remaining)

    def _wait_for_sessions(self, at_most: int) -> None:
        client = self.stack.dynamodb()
        deadline = time.monotonic() + WAVE_TIMEOUT_S
        while time.monotonic() < deadline:
            left = client.scan(
                TableName=self.stack.table("SessionsTable"), Select="COUNT", ConsistentRead=True
            )
            if left["Count"] <= at_most and "LastEvaluatedKey" not in left:
                return
            time.sleep(0.2)

    def _drain(self) -> dict[str, int]:
        """Wait for the last ``$disconnect`` calls, then count what is left in the tables."""
        deadline = time.monotonic() + DRAIN_TIMEOUT_S
        while True:
            left = leftovers(self.stack)
            if not (left["sessions"] or left["connection_mappings"] or left["pending_messages"]):
                return left
            if time.monotonic() > deadline:
                return left
            time.sleep(1)  # each check is a full scan of tables the handlers share
