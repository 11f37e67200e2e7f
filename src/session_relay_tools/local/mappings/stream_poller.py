"""A DynamoDB Streams event source mapping: read each shard in order, invoke the function with batches,
retry a failed batch (bisecting it if asked) until it succeeds, its retries are spent or its records are
too old, then send the on-failure record and go on.

Semantics, from "Using AWS Lambda with Amazon DynamoDB" (https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html)
and its pages:
- "Lambda polls shards in your DynamoDB stream for records at a base rate of 4 times per second" and
  processes each shard's records in order, one batch at a time (``ParallelizationFactor`` runs up to 10
  batches of one shard at once, records of one partition key always in order); the batch is full at
  ``BatchSize``, when ``MaximumBatchingWindowInSeconds`` runs out, or at the 6 MB invocation payload:
  "Create a DynamoDB event source mapping", https://docs.aws.amazon.com/lambda/latest/dg/services-dynamodb-eventsourcemapping.html
- Errors ("Retaining discarded records for a DynamoDB event source in Lambda",
  https://docs.aws.amazon.com/lambda/latest/dg/services-dynamodb-errors.html): a throttled invocation is
  retried until the records pass ``MaximumRecordAgeInSeconds``; a failed one until the records pass it or
  ``MaximumRetryAttempts`` is spent (-1: until they expire, blocking the shard); with
  ``BisectBatchOnFunctionError`` a failed batch is split in two first, and "splitting a batch does not
  count towards the retry quota". Discarded records go to the on-failure destination as one record.
"""

import asyncio
import json
import time
import zlib
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from session_relay_tools.local.limits import MAX_PAYLOAD_BYTES
from session_relay_tools.local.mappings.declared import StreamMapping
from session_relay_tools.local.mappings.invoking import SERVER_RETRY_S, Target, warn_server
from session_relay_tools.local.mappings.queues import Queue
from session_relay_tools.local.mappings.sqs_events import WholeBatchFailed
from session_relay_tools.local.mappings.stream_events import (
    Change,
    checkpoint,
    failure_record,
    shaped_change,
    stream_event,
)

POLL_S = 0.25  # four reads a second per shard
GET_RECORDS_LIMIT = 1000
RETRY_BACKOFF_S = (0.05, 1.0)  # first wait and ceiling between retries of a failed or throttled batch


class StreamPoller:
    """``run()`` until cancelled: one reader per shard of the stream."""

    def __init__(
        self,
        mapping: StreamMapping,
        stream_arn: str,
        target: Target,
        streams: Any,
        sqs: Any,
        destination: Queue | None,
        io: Executor,
        region: str,
        poll_s: float = POLL_S,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.mapping, self.stream_arn, self.target = mapping, stream_arn, target
        self.streams, self.sqs, self.destination = streams, sqs, destination
        self.io, self.region, self.poll_s = io, region, poll_s
        self.wall_clock = wall_clock  # epoch seconds, against the records' creation times

    async def _call(self, client: Any, method: str, **arguments: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(
            self.io, lambda: getattr(client, method)(**arguments)
        )

    async def _patient_call(self, method: str, **arguments: Any) -> Any:
        """A Streams call, asked again while the server fails it."""
        while True:
            try:
                return await self._call(self.streams, method, **arguments)
            except (BotoCoreError, ClientError) as exc:
                warn_server(self.target.kind, self.target.source, exc)
                await asyncio.sleep(SERVER_RETRY_S)

    async def run(self) -> None:
        description = await self._patient_call("describe_stream", StreamArn=self.stream_arn)
        shards = [shard["ShardId"] for shard in description["StreamDescription"]["Shards"]]
        readers = [asyncio.create_task(self._read(shard)) for shard in shards]
        try:
            await asyncio.gather(*readers)
        finally:
            for reader in readers:
                reader.cancel()

    async def _read(self, shard: str) -> None:
        answer = await self._patient_call(
            "get_shard_iterator",
            StreamArn=self.stream_arn,
            ShardId=shard,
            ShardIteratorType=self.mapping.starting_position,
        )
        iterator = answer.get("ShardIterator")
        buffered: list[Change] = []
        first_at: float | None = None
        while iterator or buffered:
            if iterator and len(buffered) < self.mapping.batch_size:
                page = await self._patient_call(
                    "get_records", ShardIterator=iterator, Limit=GET_RECORDS_LIMIT
                )
                iterator = page.get("NextShardIterator")
                buffered += [shaped_change(r, self.stream_arn, self.region) for r in page.get("Records", [])]
            if not buffered:
                await asyncio.sleep(self.poll_s)
                continue
            first_at = first_at or time.monotonic()
            waited_s = time.monotonic() - first_at
            if len(buffered) < self.mapping.batch_size and waited_s < self.mapping.window_s and iterator:
                await asyncio.sleep(min(self.poll_s, self.mapping.window_s - waited_s))
                continue
            batch = _fitting(buffered[: self.mapping.batch_size])
            buffered = buffered[len(batch) :]
            first_at = time.monotonic() if buffered else None
            await self._process(shard, batch)

    async def _process(self, shard: str, records: list[Change]) -> None:
        """Deliver ``records`` in order, split by partition key over ``ParallelizationFactor`` batches."""
        if self.mapping.parallelization == 1:
            await self._deliver(shard, records)
            return
        lanes: dict[int, list[Change]] = {}
        for record in records:
            key = json.dumps(record.record["dynamodb"]["Keys"], sort_keys=True, default=str)
            lanes.setdefault(zlib.crc32(key.encode()) % self.mapping.parallelization, []).append(record)
        await asyncio.gather(*(self._deliver(shard, lane) for lane in lanes.values()))

    async def _deliver(self, shard: str, records: list[Change]) -> None:
        pending = deque([(records, 0, 0)])  # (batch, retries spent, invocations made)
        backoff_s = RETRY_BACKOFF_S[0]
        while pending:
            batch, retries, invokes = pending.popleft()
            batch = await self._drop_expired(shard, batch, invokes)
            if not batch:
                continue
            invocation = await self.target.invoke(stream_event(batch), len(batch))
            if invocation.outcome == "throttled":  # not an invocation of the function: no retry spent
                pending.appendleft((batch, retries, invokes))
                await asyncio.sleep(backoff_s)
                backoff_s = min(backoff_s * 2, RETRY_BACKOFF_S[1])
                continue
            invokes += 1
            failing = self._failing(batch, invocation)
            if not failing:
                backoff_s = RETRY_BACKOFF_S[0]
                continue
            # A function error splits the batch; a partial answer already split it at its checkpoint
            # ("Configuring partial batch response with DynamoDB and Lambda",
            # https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-batchfailurereporting.html).
            if self.mapping.bisect and len(failing) > 1 and failing is batch:
                half = len(failing) // 2
                pending.extendleft([(failing[half:], 0, 0), (failing[:half], 0, 0)])
            elif self.mapping.max_retries == -1 or retries < self.mapping.max_retries:
                pending.appendleft((failing, retries + 1, invokes))
                await asyncio.sleep(backoff_s)
                backoff_s = min(backoff_s * 2, RETRY_BACKOFF_S[1])
            else:
                await self._discard(shard, failing, "RetryAttemptsExhausted", invokes)

    def _failing(self, batch: list[Change], invocation: Any) -> list[Change]:
        """The records still to deliver after ``invocation``: ``batch`` itself when the invocation failed
        as a whole, the records from the checkpoint on after a partial answer."""
        if invocation.outcome != "ok":
            return batch
        if not self.mapping.report_item_failures:
            return []
        try:
            index = checkpoint(invocation.answer, [r.sequence_number for r in batch])
        except WholeBatchFailed:
            return batch
        return [] if index is None else batch[index:]

    async def _drop_expired(self, shard: str, batch: list[Change], invokes: int) -> list[Change]:
        if self.mapping.max_record_age_s == -1:
            return batch
        oldest_allowed = self.wall_clock() - self.mapping.max_record_age_s
        expired = [r for r in batch if r.created_s < oldest_allowed]
        if expired:
            await self._discard(shard, expired, "RecordAgeExceeded", invokes)
        return [r for r in batch if r.created_s >= oldest_allowed]

    async def _discard(self, shard: str, records: list[Change], condition: str, invokes: int) -> None:
        if self.destination is None:
            return  # no destination: the records are skipped
        shaped = [r.record for r in records]
        document = failure_record(
            shaped, shard, self.stream_arn, self.target.name, self.region, condition, invokes
        )
        try:
            await self._call(
                self.sqs, "send_message", QueueUrl=self.destination.url, MessageBody=json.dumps(document)
            )
        except (BotoCoreError, ClientError) as exc:
            warn_server(self.target.kind, self.target.source, exc)


def _fitting(records: list[Change]) -> list[Change]:
    """The longest head of ``records`` whose event fits Lambda's 6 MB invocation payload."""
    size = len('{"Records": []}')
    for index, record in enumerate(records):
        size += len(record.text) + 2
        if size > MAX_PAYLOAD_BYTES and index:
            return records[:index]
    return records
