"""Every event source mapping the template declares, running beside the local stack's gateways.

``prepare()`` makes the template's queues on the local SQS and answers the environment variables that
name them; once the ``FunctionHost`` exists, ``start(host)`` runs one poller per mapping (SQS queues and
DynamoDB streams) on the running event loop, invoking through the host, so every invocation draws on
the account's one pool of concurrent executions. ``stop()`` ends them. The engine needs only the
endpoint URL of a server speaking SQS and DynamoDB Streams (the embedded one, or another); given the
stack's own database process, it reaches that over its socket instead.
"""

import asyncio
import contextlib
import os
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from session_relay_tools.local.mappings.declared import declared_mappings, function_timeout_s
from session_relay_tools.local.mappings.invoking import Target
from session_relay_tools.local.mappings.queues import Queue, create_queues, queue_environment
from session_relay_tools.local.mappings.sqs_poller import SqsPoller
from session_relay_tools.local.mappings.stream_poller import StreamPoller
from session_relay_tools.template import TEMPLATE_PATH, load_template, stream_arns

IO_THREADS = 16  # the pollers' blocking SQS / DynamoDB Streams calls
# boto3's per-service endpoint variables ("Service-specific endpoints", AWS SDKs and Tools Reference Guide:
# https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html).
ENDPOINT_VARIABLES = ("AWS_ENDPOINT_URL_SQS", "AWS_ENDPOINT_URL_DYNAMODB_STREAMS")


class LocalMappings:
    """The template's queues and event source mappings on the server at ``endpoint_url``."""

    def __init__(
        self,
        endpoint_url: str,
        prefix: str,
        template_path: Path = TEMPLATE_PATH,
        region: str = "us-east-1",
        wall_clock: Callable[[], float] = time.time,
        database: Any = None,
    ) -> None:
        self.endpoint_url = endpoint_url
        # The stack's own database when it serves the endpoint (a ``DatabaseProcess``): the pollers'
        # requests then reach it over its socket, unsigned, as the handlers' DynamoDB requests do.
        self.database = database
        self.wall_clock = wall_clock  # epoch seconds: the age of stream records
        self.prefix = prefix
        self.region = region
        self.template = load_template(template_path)
        self.sqs_mappings, self.stream_mappings = declared_mappings(self.template)
        self.queues: dict[str, Queue] = {}
        self.pollers: list[Any] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._io: ThreadPoolExecutor | None = None

    def _client(self, service: str) -> Any:
        client = boto3.client(service, endpoint_url=self.endpoint_url, region_name=self.region)
        if self.database is not None:
            self.database.serve(client)
        return client

    def declares_queues(self) -> bool:
        return any(r["Type"] == "AWS::SQS::Queue" for r in self.template["Resources"].values())

    def prepare(self) -> dict[str, str]:
        """Create the template's queues; the environment variables naming them (``{}`` without queues),
        and boto3's own endpoint variables for SQS and DynamoDB Streams (unless already set), so a
        handler's plain ``boto3.client("sqs")`` reaches the local server."""
        if not self.declares_queues() and not self.stream_mappings:
            return {}
        try:
            self.queues = create_queues(self._client("sqs"), self.template, self.prefix)
        except (BotoCoreError, ClientError) as exc:
            raise SystemExit(f"the queues could not be set up on {self.endpoint_url}: {exc}") from exc
        endpoints = {name: self.endpoint_url for name in ENDPOINT_VARIABLES if name not in os.environ}
        return {**endpoints, **queue_environment(self.template, self.queues)}

    def start(self, host: Any) -> None:
        """Run every mapping's poller on the running loop, invoking through ``host``."""
        if not self.sqs_mappings and not self.stream_mappings:
            return
        self._io = ThreadPoolExecutor(max_workers=IO_THREADS, thread_name_prefix="mapping-io")
        sqs = self._client("sqs")
        self.pollers = [*self._sqs_pollers(host, sqs), *self._stream_pollers(host, sqs)]
        self._tasks = [asyncio.create_task(poller.run()) for poller in self.pollers]
        for task in self._tasks:
            task.add_done_callback(_report_end)

    def running(self) -> int:
        """How many pollers are running (one that ended on an error is not)."""
        return sum(not task.done() for task in self._tasks)

    def _sqs_pollers(self, host: Any, sqs: Any) -> list[SqsPoller]:
        pollers = []
        for mapping in self.sqs_mappings:
            queue = self.queues[mapping.queue]
            target = self._target(host, mapping.function, queue.arn.rsplit(":", 1)[1], "sqs")
            pollers.append(SqsPoller(mapping, queue, target, sqs, self._io, self.region))
        return pollers

    def _stream_pollers(self, host: Any, sqs: Any) -> list[StreamPoller]:
        if not self.stream_mappings:
            return []
        tables = {m.table: f"{self.prefix}{m.table}" for m in self.stream_mappings}
        arns = stream_arns(self._client("dynamodb"), tables)
        streams = self._client("dynamodbstreams")
        if self.database is not None:  # a page of records as sent: the typed JSON Lambda's event carries
            self.database.answer_as_json(streams, "GetRecords")
        pollers = []
        for mapping in self.stream_mappings:
            target = self._target(host, mapping.function, f"{tables[mapping.table]} stream", "dynamodb")
            destination = self.queues[mapping.on_failure] if mapping.on_failure else None
            poller = StreamPoller(
                mapping, arns[mapping.table], target, streams, sqs, destination, self._io, self.region
            )
            poller.wall_clock = self.wall_clock
            pollers.append(poller)
        return pollers

    def _target(self, host: Any, function: str, source: str, kind: str) -> Target:
        timeout_s = function_timeout_s(self.template, function)
        return Target(host, host.function(function), function, timeout_s, source, kind)

    async def stop(self) -> None:
        """Stop polling; invocations still running finish on their own threads, and what they did not
        acknowledge stays on the queue or in the stream."""
        for task in self._tasks:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        if self._io is not None:
            self._io.shutdown(wait=False, cancel_futures=True)
            self._io = None


def _report_end(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        error = task.exception()
        print(
            f"error: an event source mapping stopped: {type(error).__name__}: {error}",
            file=sys.stderr,
            flush=True,
        )
