"""What the event source mapping tests share: an embedded server of their own (the local stack's: moto's
DynamoDB, DynamoDB Streams and SQS on one free port, in a child process), the tests' template with a
few resources added, and the mappings running on it.

The server is reached one of two ways (``PATHS``): over HTTP on its port, as the mappings reach any
other server (``SESSION_RELAY_DYNAMODB_ENDPOINT``), or as the stack reaches its own database process,
over its socket (``DatabaseProcess``; stream pages as sent, not parsed by botocore)."""

import asyncio
import contextlib
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from local import mapping_records
from local.conftest import HANDLERS, template_text
from session_relay_tools.local.database_process import DatabaseProcess
from session_relay_tools.local.dynamodb import EmbeddedDynamoDB
from session_relay_tools.local.functions import FunctionHost
from session_relay_tools.local.mappings import LocalMappings
from session_relay_tools.template import create_tables

REGION = "us-east-1"
PATHS = ("port", "socket")


@dataclass(frozen=True)
class Server:
    """An embedded server: its endpoint URL, and the database process whose socket the mappings use
    (None: they use the port)."""

    url: str
    database: Any = None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def embedded_server(path: str = "port") -> Iterator[Server]:
    """The local stack's embedded server on a free port (stopped by its own process), reached by
    ``path`` (one of ``PATHS``)."""
    port = _free_port()
    server = DatabaseProcess("127.0.0.1", port) if path == "socket" else EmbeddedDynamoDB("127.0.0.1", port)
    server.start()
    try:
        yield Server(f"http://127.0.0.1:{port}", server if path == "socket" else None)
    finally:
        server.stop()


class MappingStack:
    """The tests' template plus ``resources`` (YAML under ``Resources:``, ``{handlers}`` for the handlers'
    folder), its tables and queues made on ``server``, its functions in a host of ``concurrency``;
    ``wall_clock`` is the mappings' (the age of stream records)."""

    def __init__(
        self,
        server: Server,
        directory: Path,
        resources: str,
        concurrency: int = 50,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.endpoint = server.url
        self.prefix = f"t{uuid.uuid4().hex[:8]}-"  # one server serves a module's tests: names apart
        path = directory / f"template-{self.prefix}yaml"
        path.write_text(template_text() + resources.format(handlers=HANDLERS))
        self.dynamodb = self.client("dynamodb")
        self.sqs = self.client("sqs")
        create_tables(self.dynamodb, self.prefix, path)
        self.mappings = LocalMappings(self.endpoint, self.prefix, path, REGION, wall_clock, server.database)
        self.environment = self.mappings.prepare()
        self.host = FunctionHost(path, concurrency=concurrency)
        mapping_records.reset()

    def client(self, service: str):
        return boto3.client(service, endpoint_url=self.endpoint, region_name=REGION)

    def seen(self, function: str) -> mapping_records.Seen:
        """What ``function``'s invocations saw (``events``, ``peak``)."""
        return mapping_records.Seen(function)

    def queue_url(self, logical_id: str) -> str:
        return self.mappings.queues[logical_id].url

    def table(self, logical_id: str) -> str:
        return f"{self.prefix}{logical_id}"

    def waiting(self, logical_id: str) -> int:
        """Messages still on the queue: visible, received and hidden, or delayed."""
        names = [
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ]
        found = self.sqs.get_queue_attributes(QueueUrl=self.queue_url(logical_id), AttributeNames=names)
        return sum(int(found["Attributes"][name]) for name in names)

    def drain(self, logical_id: str) -> list[dict]:
        """Every message now visible on the queue (received, so hidden for its visibility timeout)."""
        found = []
        while True:
            got = self.sqs.receive_message(QueueUrl=self.queue_url(logical_id), MaxNumberOfMessages=10)
            if not got.get("Messages"):
                return found
            found += got["Messages"]

    def run(self, until: Callable[[], bool], timeout_s: float = 15, then_s: float = 0.0) -> bool:
        """Run the mappings until ``until()`` holds (and ``then_s`` longer), at most ``timeout_s``;
        whether it held."""

        async def scenario() -> bool:
            self.mappings.start(self.host)
            try:
                deadline = time.monotonic() + timeout_s
                while not until() and time.monotonic() < deadline:
                    await asyncio.sleep(0.02)
                await asyncio.sleep(then_s)
                return until()
            finally:
                await self.mappings.stop()

        return asyncio.run(scenario())

    def close(self) -> None:
        self.host.close()
