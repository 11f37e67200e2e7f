"""The REST callers of a soak: single and bulk messages, each answer checked against what the
addressed session's function produced for its nonce."""

import argparse
import asyncio
import itertools
import random
import secrets
import time
from typing import Any

import httpx

from session_relay_tools.soak.fleet import SoakSession
from session_relay_tools.soak.report import Report

REASON_NO_RESPONSE = "client never responded"
REASON_ERRORED = "function errored, message: "
REASON_NO_FUNCTION = "function doesnt exist"
REASON_INVALID = "invalid return data"
REASON_NOT_FOUND = "session not found"
# Every wait is bounded well below the contract's 60 s, so a lost reply shows up within the run.
MESSAGE_TIMEOUT_S = 20.0
SHORT_TIMEOUT_S = 0.2
LATE_SLEEP_S = 0.6


class Callers:
    """The callers half of ``Soak`` (its state is set up by ``Soak.__init__``)."""

    args: argparse.Namespace
    random: random.Random
    report: Report
    available: list[SoakSession]
    nonces: itertools.count
    stop_at: float
    http: httpx.AsyncClient | None

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
