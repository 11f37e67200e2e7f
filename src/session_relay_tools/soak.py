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
"""

import argparse
import asyncio
import contextlib
import itertools
import json
import math
import random
import secrets
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from session_relay_tools.local.process import RunningStack, start_stack, stop_stack
from session_relay_tools.simulate import FunctionError, SimulatedClient, identity_for

REASON_NO_RESPONSE = "client never responded"
REASON_ERRORED = "function errored, message: "
REASON_NO_FUNCTION = "function doesnt exist"
REASON_INVALID = "invalid return data"
REASON_NOT_FOUND = "session not found"
# Every wait is bounded well below the contract's 60 s, so a lost reply shows up within the run.
MESSAGE_TIMEOUT_S = 20.0
SHORT_TIMEOUT_S = 0.2
LATE_SLEEP_S = 0.6
DRAIN_TIMEOUT_S = 20.0
LEAVE_WAVE = 25
WAVE_TIMEOUT_S = 15.0
MAX_REPORTED_FAILURES = 25


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


@dataclass
class Report:
    requests: Counter = field(default_factory=Counter)  # by kind
    statuses: Counter = field(default_factory=Counter)
    outcomes: Counter = field(default_factory=Counter)
    latencies_ms: dict[str, list[float]] = field(default_factory=lambda: {"single": [], "bulk": []})
    unanswered: int = 0
    wrong_replies: int = 0
    lost_replies: int = 0
    unexpected: int = 0
    bulk_entries: int = 0
    churn: Counter = field(default_factory=Counter)
    sessions_connected: int = 0
    failures: list[str] = field(default_factory=list)

    def fail(self, counter: str, message: str) -> None:
        setattr(self, counter, getattr(self, counter) + 1)
        if len(self.failures) < MAX_REPORTED_FAILURES:
            self.failures.append(message)


def percentile(values: list[float], fraction: float) -> float | None:
    """The nearest-rank percentile of ``values`` (None when empty)."""
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[max(0, math.ceil(fraction * len(ordered)) - 1)], 1)


class Soak:
    def __init__(self, stack: RunningStack, args: argparse.Namespace) -> None:
        self.stack = stack
        self.args = args
        self.random = random.Random(args.seed)
        self.report = Report()
        self.sessions: list[SoakSession] = []
        self.available: list[SoakSession] = []
        self.nonces = itertools.count()
        self.indices = itertools.count()
        self.stop_at = 0.0
        self.http: httpx.AsyncClient | None = None

    # ------------------------------------------------------------ sessions

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

    # ------------------------------------------------------------ callers

    async def _request(self, method: str, path: str, body: Any, kind: str) -> httpx.Response | None:
        assert self.http is not None
        self.report.requests[kind] += 1
        started = time.monotonic()
        try:
            answer = await self.http.request(method, path, json=body)
        except httpx.HTTPError as exc:
            self.report.fail("unanswered", f"{kind} {method} {path}: {exc!r}")
            return None
        elapsed_ms = (time.monotonic() - started) * 1000
        self.report.statuses[answer.status_code] += 1
        if kind != "churn":
            self.report.latencies_ms["bulk" if kind.startswith("bulk") else "single"].append(elapsed_ms)
        return answer

    def _nonce(self) -> str:
        return f"n{next(self.nonces)}-{secrets.token_hex(4)}"

    def _expected(self, kind: str, nonce: str, session: SoakSession, data: Any) -> dict[str, Any]:
        if kind in ("echo", "bulk"):
            return {"processed": True, "response": {"nonce": nonce, "by": session.session_id}}
        if kind == "sleep":
            return {"processed": True, "response": {"nonce": nonce, "slept": data["s"]}}
        if kind == "late":
            return {"processed": False, "reason": REASON_NO_RESPONSE}
        if kind == "error":
            return {"processed": False, "reason": REASON_ERRORED + nonce}
        if kind == "invalid":
            return {"processed": False, "reason": REASON_INVALID}
        return {"processed": False, "reason": REASON_NO_FUNCTION}

    def _check(self, kind: str, nonce: str, session: SoakSession, data: Any, got: dict[str, Any]) -> None:
        """Compare one answer with what the session's function did for this nonce."""
        reason = str(got.get("reason"))
        outcome = "processed" if got.get("processed") else reason.split(":")[0] if ":" in reason else reason
        self.report.outcomes[outcome] += 1
        expected = self._expected(kind, nonce, session, data)
        if got == expected:
            if got["processed"] and session.returned.get(nonce) != got["response"]:
                self.report.fail("wrong_replies", f"{kind} {nonce}: answer is not what the function returned")
            return
        never = got == {"processed": False, "reason": REASON_NO_RESPONSE}
        if never and session.abrupt:
            return  # the client was dropped while this message was in flight
        if never and nonce in session.returned:
            self.report.fail("lost_replies", f"{kind} {nonce} to {session.session_id}: {got}")
        else:
            self.report.fail("wrong_replies", f"{kind} {nonce}: expected {expected}, got {got}")

    async def _single(self, kind: str, session: SoakSession) -> None:
        nonce = self._nonce()
        key = {"echo": "echo", "sleep": "sleep", "late": "sleep", "error": "error", "invalid": "invalid"}
        data: Any = {"nonce": nonce}
        timeout = MESSAGE_TIMEOUT_S
        if kind == "sleep":
            data["s"] = round(self.random.uniform(0.01, 0.3), 3)
        elif kind == "late":
            data["s"], timeout = LATE_SLEEP_S, SHORT_TIMEOUT_S
        body = {"key": key.get(kind, "no_such_function"), "data": data, "timeout": timeout}
        answer = await self._request("POST", f"/sessions/{session.session_id}/message", body, kind)
        if answer is None:
            return
        if answer.status_code == 404 and session.abrupt:
            return
        if answer.status_code != 200:
            self.report.fail("unexpected", f"{kind} {nonce}: {answer.status_code} {answer.text[:200]}")
            return
        document = answer.json()
        if document.pop("success", None) is not True:
            self.report.fail("unexpected", f"{kind} {nonce}: {answer.text[:200]}")
            return
        self._check(kind, nonce, session, data, document)

    async def _bulk(self, targets: list[SoakSession]) -> None:
        nonce = self._nonce()
        unknown = secrets.token_hex(16)
        ids = [session.session_id for session in targets]
        position = self.random.randrange(len(ids) + 1)
        ids.insert(position, unknown)
        body = {"session_ids": ids, "key": "echo", "data": {"nonce": nonce}, "timeout": MESSAGE_TIMEOUT_S}
        answer = await self._request("POST", "/sessions/message", body, "bulk")
        if answer is None:
            return
        if answer.status_code != 200:
            self.report.fail("unexpected", f"bulk {nonce}: {answer.status_code} {answer.text[:200]}")
            return
        entries = answer.json().get("responses", [])
        if [entry.get("session_id") for entry in entries] != ids:
            self.report.fail("wrong_replies", f"bulk {nonce}: entries not one per id in request order")
            return
        self.report.bulk_entries += len(entries)
        not_found = entries.pop(position)
        if not_found != {"session_id": unknown, "processed": False, "reason": REASON_NOT_FOUND}:
            self.report.fail("wrong_replies", f"bulk {nonce}: unknown id answered {not_found}")
        for session, entry in zip(targets, entries, strict=True):
            entry.pop("session_id")
            if session.abrupt and entry == {"processed": False, "reason": REASON_NOT_FOUND}:
                continue
            self._check("bulk", nonce, session, None, entry)

    async def caller(self, index: int) -> None:
        kinds = ["echo", "bulk", "sleep", "late", "error", "invalid", "unknown", "list"]
        weights = [40, 20, 10, 5, 8, 5, 7, 5]
        for turn in itertools.count():
            if time.monotonic() >= self.stop_at:
                return
            if len(self.available) < 2:
                await asyncio.sleep(0.01)
                continue
            # Callers start on different kinds, so every kind is exercised even in a short run.
            kind = kinds[index % len(kinds)] if turn == 0 else self.random.choices(kinds, weights)[0]
            if kind == "list":
                answer = await self._request("GET", "/sessions?limit=50", None, "list")
                if answer is not None and (answer.status_code != 200 or len(answer.json()["sessions"]) > 50):
                    self.report.fail("unexpected", f"list: {answer.status_code} {answer.text[:200]}")
                continue
            count = self.random.randint(2, min(20, len(self.available))) if kind == "bulk" else 1
            targets = self.random.sample(self.available, count)
            for session in targets:
                session.inflight += 1
            try:
                if kind == "bulk":
                    await self._bulk(targets)
                else:
                    await self._single(kind, targets[0])
            finally:
                for session in targets:
                    session.inflight -= 1

    # ------------------------------------------------------------ run

    async def run(self) -> dict[str, Any]:
        limits = httpx.Limits(
            max_connections=self.args.callers + 8, max_keepalive_connections=self.args.callers
        )
        headers = {"Authorization": f"Bearer {self.stack.api_key}"}
        async with httpx.AsyncClient(
            base_url=self.stack.rest_url, headers=headers, timeout=75, limits=limits
        ) as self.http:
            for start in range(0, self.args.sessions, 50):
                await self.connect(min(50, self.args.sessions - start))
            started = time.monotonic()
            self.stop_at = started + self.args.duration
            workers = [asyncio.create_task(self.caller(index)) for index in range(self.args.callers)]
            workers.append(asyncio.create_task(self.churn()))
            await asyncio.gather(*workers)
            ran_s = time.monotonic() - started
            late_refused = sum(
                1
                for session in self.sessions
                for frame in session.client.received
                if frame.get("type") == "error" and "ignored" in frame.get("error", "")
            )
            await self.leave_all()
        leftovers = await asyncio.to_thread(self._drain)
        return self._summary(ran_s, late_refused, leftovers)

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

    def _summary(self, ran_s: float, late_refused: int, left: dict[str, int]) -> dict[str, Any]:
        report = self.report
        # A handler that raised (the local gateway logs it, as Lambda would) or logged an error.
        crashes = sum(
            1
            for line in self.stack.output
            if "Traceback" in line
            or "invocation failed" in line
            or '"level":"ERROR"' in line.replace(" ", "")
        )
        every = report.latencies_ms["single"] + report.latencies_ms["bulk"]
        total = sum(count for kind, count in report.requests.items() if kind != "churn")
        server_errors = sum(count for status, count in report.statuses.items() if status >= 500)
        checks = {
            "every request answered": report.unanswered == 0,
            "no 5xx": server_errors == 0,
            "no wrong or mixed reply": report.wrong_replies == 0,
            "no lost reply": report.lost_replies == 0,
            "no unexpected answer": report.unexpected == 0,
            "no crash in the stack's output": crashes == 0,
            "no session left": left["sessions"] == 0,
            "no connection mapping left": left["connection_mappings"] == 0,
            "no pending message left": left["pending_messages"] == 0,
        }
        return {
            "ok": all(checks.values()),
            "checks": checks,
            "config": {
                "duration_s": self.args.duration,
                "sessions": self.args.sessions,
                "callers": self.args.callers,
                "churn_per_s": self.args.churn_per_s,
                "seed": self.args.seed,
            },
            "ran_s": round(ran_s, 1),
            "requests": total,
            "requests_per_s": round(total / ran_s, 1) if ran_s else None,
            "requests_by_kind": {k: v for k, v in sorted(report.requests.items()) if k != "churn"},
            "bulk_entries": report.bulk_entries,
            "statuses": {str(k): v for k, v in sorted(report.statuses.items())},
            "outcomes": dict(sorted(report.outcomes.items())),
            "server_errors": server_errors,
            "unanswered": report.unanswered,
            "wrong_replies": report.wrong_replies,
            "lost_replies": report.lost_replies,
            "unexpected": report.unexpected,
            "late_replies_refused": late_refused,
            "stack_errors": crashes,
            "latency_ms": {
                name: {"p50": percentile(values, 0.5), "p99": percentile(values, 0.99), "count": len(values)}
                for name, values in (("all", every), *report.latencies_ms.items())
            },
            "sessions_connected": report.sessions_connected,
            "churn": dict(report.churn),
            "left_in_dynamodb": left,
            "failures": report.failures,
        }


def leftovers(stack: RunningStack) -> dict[str, int]:
    """What a full scan of the stack's tables finds: sessions, connection mappings, messages by status."""
    connections = stack.scan("ConnectionsTable")
    return {
        "sessions": len(stack.scan("SessionsTable")),
        "connection_mappings": sum(1 for item in connections if item["item"]["S"] == "session"),
        "pending_messages": sum(1 for item in connections if item.get("status", {}).get("S") == "pending"),
        "answered_messages": sum(1 for item in connections if item.get("status", {}).get("S") == "answered"),
    }


def format_summary(summary: dict[str, Any]) -> str:
    latency = summary["latency_ms"]
    lines = [
        f"soak: {summary['config']['sessions']} sessions, {summary['config']['callers']} callers, "
        f"{summary['ran_s']} s",
        f"  requests        {summary['requests']} ({summary['requests_per_s']}/s), "
        f"{summary['bulk_entries']} bulk entries, by kind {summary['requests_by_kind']}",
        f"  statuses        {summary['statuses']}",
        f"  outcomes        {summary['outcomes']}",
        f"  latency ms      all p50 {latency['all']['p50']} p99 {latency['all']['p99']}; "
        f"single p50 {latency['single']['p50']} p99 {latency['single']['p99']}; "
        f"bulk p50 {latency['bulk']['p50']} p99 {latency['bulk']['p99']}",
        f"  sessions        {summary['sessions_connected']} connected, churn {summary['churn']}",
        f"  late replies    {summary['late_replies_refused']} refused",
        f"  left in DynamoDB {summary['left_in_dynamodb']}",
    ]
    lines += [f"  [{'ok' if passed else 'FAILED'}] {name}" for name, passed in summary["checks"].items()]
    lines += [f"  failure: {failure}" for failure in summary["failures"]]
    lines.append("soak passed" if summary["ok"] else "soak FAILED")
    return "\n".join(lines)


def run_soak(args: argparse.Namespace) -> dict[str, Any]:
    """Start a local stack, soak it, stop it; returns the summary."""
    stack = start_stack()
    try:
        return asyncio.run(Soak(stack, args).run())
    finally:
        stop_stack(stack)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m session_relay_tools.soak",
        description="Soak a local stack (started on free loopback ports) with churning sessions and "
        "concurrent REST callers, then check that nothing was lost, leaked or left behind.",
    )
    parser.add_argument("--duration", type=float, default=60, help="seconds of load (default 60)")
    parser.add_argument("--sessions", type=int, default=300, help="simulated sessions kept connected")
    parser.add_argument("--callers", type=int, default=30, help="concurrent REST callers")
    parser.add_argument(
        "--churn-per-s", type=float, default=None, help="sessions replaced per second (default sessions/100)"
    )
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: random)")
    parser.add_argument("--json-out", default=None, help="also write the summary as JSON to this path")
    return parser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not 0 < args.duration <= 3600:
        parser.error("--duration must be between 0 and 3600 seconds")
    if not 3 <= args.sessions <= 2000:
        parser.error("--sessions must be between 3 and 2000")
    if not 1 <= args.callers <= 200:
        parser.error("--callers must be between 1 and 200")
    if args.churn_per_s is None:
        args.churn_per_s = max(0.5, args.sessions / 100)
    if args.churn_per_s <= 0:
        parser.error("--churn-per-s must be positive")
    if args.seed is None:
        args.seed = secrets.randbelow(2**31)
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    summary = run_soak(args)
    print(format_summary(summary), flush=True)
    if args.json_out:
        with open(args.json_out, "w") as out:
            json.dump(summary, out, indent=2)
            out.write("\n")
    sys.exit(0 if summary["ok"] else 1)


if __name__ == "__main__":
    main()
