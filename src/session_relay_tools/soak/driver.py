"""``Soak``: the fleet of sessions and the callers, run together against one local stack."""

import argparse
import asyncio
import itertools
import random
import time
from typing import Any

import httpx

from session_relay_tools.local.process import RunningStack, start_stack, stop_stack
from session_relay_tools.soak.callers import Callers
from session_relay_tools.soak.fleet import Fleet, SoakSession
from session_relay_tools.soak.report import Report, summarize


class Soak(Fleet, Callers):
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
        return summarize(self.report, self.args, self.stack.output, ran_s, late_refused, leftovers)


def run_soak(args: argparse.Namespace) -> dict[str, Any]:
    """Start a local stack, soak it, stop it; returns the summary."""
    stack = start_stack()
    try:
        return asyncio.run(Soak(stack, args).run())
    finally:
        stop_stack(stack)
