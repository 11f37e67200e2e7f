"""An SQS event source mapping: poll the queue, invoke the function with batches, delete what succeeded.

Semantics, from "Using Lambda with Amazon SQS" and its pages
(https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html):
- Batching ("Creating and configuring an Amazon SQS event source mapping",
  https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html): Lambda invokes when the
  batch reaches ``BatchSize``, when ``MaximumBatchingWindowInSeconds`` runs out, or when the batch would
  pass the 6 MB invocation payload. With no window, one receive makes the batch.
- Errors ("Handling errors for an SQS event source in Lambda",
  https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html): a failed invocation
  (an error, a timeout) leaves every message of the batch on the queue, visible again after the queue's
  visibility timeout, its receive count grown, so the queue's redrive policy moves it to the dead-letter
  queue after ``maxReceiveCount`` receives; with ``ReportBatchItemFailures`` only the messages the
  answer names stay. A throttled invocation is retried with backoff until the messages' visibility
  timeout runs out, then they too reappear.
- Scaling ("Configuring scaling behavior for SQS event source mappings",
  https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html): five concurrent batches at
  first, up to 300 more a minute while messages keep coming, at most 1,000, or
  ``ScalingConfig.MaximumConcurrency``. FIFO queues: SQS itself holds back a message group while a batch
  of it is in flight, so a failed message blocks its own group (and only it) until it is deleted or
  moved to the dead-letter queue, and a group's messages arrive in order.

Receives do not long-poll the server (the embedded server answers one request at a time, and a long
poll would hold it): an empty receive waits before the next, 50 ms doubling up to ``IDLE_S[1]`` while
the queue stays empty, which a message sent meanwhile waits at most.
"""

import asyncio
import json
import time
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from session_relay_tools.local.limits import MAX_PAYLOAD_BYTES
from session_relay_tools.local.mappings.declared import SqsMapping
from session_relay_tools.local.mappings.invoking import SERVER_RETRY_S, Target, warn_server
from session_relay_tools.local.mappings.queues import Queue
from session_relay_tools.local.mappings.scaling import Scaler
from session_relay_tools.local.mappings.sqs_events import WholeBatchFailed, failed_message_ids, sqs_record

SQS_MAX_RECEIVE = 10  # ReceiveMessage's MaxNumberOfMessages
THROTTLE_BACKOFF_S = (0.05, 1.0)  # first wait and ceiling between retries of a throttled batch
IDLE_S = (0.05, 0.5)  # first wait and ceiling between receives that found nothing


class SqsPoller:
    """``run()`` until cancelled; ``in_flight`` is how many invocations it has running now."""

    def __init__(
        self,
        mapping: SqsMapping,
        queue: Queue,
        target: Target,
        client: Any,
        io: Executor,
        region: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.mapping, self.queue, self.target = mapping, queue, target
        self.client, self.io, self.region = client, io, region
        self.idle_s = IDLE_S[0]
        self.clock = clock
        self.scaler = Scaler(mapping.max_concurrency, clock)
        self.in_flight = 0
        self._freed = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()

    async def _call(self, method: str, **arguments: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(
            self.io, lambda: getattr(self.client, method)(**arguments)
        )

    async def run(self) -> None:
        try:
            while True:
                while self.in_flight >= self.scaler.allowed():
                    self._freed.clear()
                    await self._freed.wait()
                try:
                    messages, received_at = await self._gather()
                except (BotoCoreError, ClientError) as exc:  # the server is away: try again
                    warn_server(self.target.kind, self.target.source, exc)
                    await asyncio.sleep(SERVER_RETRY_S)
                    continue
                if not messages:
                    self.scaler.idle()
                    await asyncio.sleep(self.idle_s)
                    self.idle_s = min(self.idle_s * 2, IDLE_S[1])
                    continue
                self.idle_s = IDLE_S[0]
                self.scaler.busy()
                self.in_flight += 1
                task = asyncio.create_task(self._deliver(messages, received_at))
                self._tasks.add(task)
                task.add_done_callback(self._done)
        finally:
            for task in self._tasks:
                task.cancel()

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self.in_flight -= 1
        self._freed.set()

    async def _receive(self, count: int) -> list[dict[str, Any]]:
        answer = await self._call(
            "receive_message",
            QueueUrl=self.queue.url,
            MaxNumberOfMessages=count,
            WaitTimeSeconds=0,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return answer.get("Messages", [])

    async def _gather(self) -> tuple[list[dict[str, Any]], float]:
        """One batch: up to ``BatchSize`` messages within the window, under the 6 MB payload."""
        batch: list[dict[str, Any]] = []
        size = len('{"Records": []}')
        received_at = deadline = 0.0
        while len(batch) < self.mapping.batch_size:
            got = await self._receive(min(SQS_MAX_RECEIVE, self.mapping.batch_size - len(batch)))
            if got and not batch:
                received_at = self.clock()
                deadline = received_at + self.mapping.window_s
            for index, message in enumerate(got):
                record_size = len(json.dumps(sqs_record(message, self.queue.arn, self.region))) + 2
                if size + record_size > MAX_PAYLOAD_BYTES:  # the rest goes back, for the next batch
                    await self._release(got[index:])
                    return batch, received_at
                size += record_size
                batch.append(message)
            if not batch or self.clock() >= deadline:
                break
            if not got:
                await asyncio.sleep(min(IDLE_S[0], max(0.0, deadline - self.clock())))
        return batch, received_at

    async def _release(self, messages: list[dict[str, Any]]) -> None:
        for message in messages:
            await self._call(
                "change_message_visibility",
                QueueUrl=self.queue.url,
                ReceiptHandle=message["ReceiptHandle"],
                VisibilityTimeout=0,
            )

    async def _deliver(self, messages: list[dict[str, Any]], received_at: float) -> None:
        event = {"Records": [sqs_record(m, self.queue.arn, self.region) for m in messages]}
        backoff_s, ceiling_s = THROTTLE_BACKOFF_S
        while True:
            invocation = await self.target.invoke(event, len(messages))
            if invocation.outcome != "throttled":
                break
            if self.clock() + backoff_s >= received_at + self.queue.visibility_timeout_s:
                return  # retried until the visibility timeout: the messages reappear on the queue
            await asyncio.sleep(backoff_s)
            backoff_s = min(backoff_s * 2, ceiling_s)
        if invocation.outcome != "ok":
            return  # the whole batch stays, visible again after the visibility timeout
        done = messages
        if self.mapping.report_item_failures:
            try:
                failed = failed_message_ids(invocation.answer, [m["MessageId"] for m in messages])
            except WholeBatchFailed:
                return
            done = [m for m in messages if m["MessageId"] not in failed]
        try:
            await self._delete(done)
        except (BotoCoreError, ClientError) as exc:  # not deleted: delivered again, as SQS may anyway
            warn_server(self.target.kind, self.target.source, exc)

    async def _delete(self, messages: list[dict[str, Any]]) -> None:
        for start in range(0, len(messages), SQS_MAX_RECEIVE):
            entries = [
                {"Id": str(index), "ReceiptHandle": m["ReceiptHandle"]}
                for index, m in enumerate(messages[start : start + SQS_MAX_RECEIVE])
            ]
            await self._call("delete_message_batch", QueueUrl=self.queue.url, Entries=entries)
