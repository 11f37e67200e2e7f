"""Broadcasts in-process: a work queue kept in memory (each message with its delay) and a driver that
hands its messages to the real broadcast worker as the SQS event source mapping would (batches,
``ReportBatchItemFailures``, a message that failed ``max_receives`` times set aside as dead), time
moving on a virtual clock to each delayed message."""

import json
from dataclasses import dataclass, field
from typing import Any

from session_relay.service.broadcasts_chunks import ChunkSender
from session_relay.service.broadcasts_worker import Worker, handle_batch
from session_relay.service.delivery import DeliveryCore
from session_relay.service.disconnects import Disconnects
from session_relay.settings import get_settings
from session_relay.store import get_store

from support.clock import VirtualClock


@dataclass
class Queued:
    body: dict[str, Any]
    due_s: float  # virtual epoch seconds when it becomes visible
    receives: int = 0


@dataclass
class MemoryQueue:
    """``WorkQueue``'s face, in memory, on a virtual clock."""

    clock: VirtualClock
    messages: list[Queued] = field(default_factory=list)
    dead: list[Queued] = field(default_factory=list)
    sent: list[dict[str, Any]] = field(default_factory=list)

    def send(self, body: dict[str, Any], delay_s: float = 0) -> None:
        body = json.loads(json.dumps(body))  # as SQS carries it: JSON text
        self.sent.append(body)
        self.messages.append(Queued(body, self.clock.epoch_s() + max(0.0, min(900.0, delay_s))))

    def send_many(self, bodies: list[dict[str, Any]], delay_s: float = 0) -> None:
        for body in bodies:
            self.send(body, delay_s)

    def kinds(self) -> list[str]:
        return [message.body["k"] for message in self.messages]


def worker_for(gateway: Any, clock: VirtualClock, queue: MemoryQueue) -> Worker:
    """The worker as ``wiring.get_worker`` builds it, on the fake gateway and the virtual clock."""
    store, settings = get_store(), get_settings()
    core = DeliveryCore(store, gateway, settings.post_workers, clock=clock.monotonic, sleep=clock.sleep)
    sender = ChunkSender(store, core, Disconnects(store, gateway, settings), settings, sleep=clock.sleep)
    return Worker(store, sender, settings, queue, clock=clock.monotonic)


@dataclass
class Driver:
    """Delivers queued work to the worker, the earliest visible first, until none is left (or only
    finalizers, unless ``finalizers``)."""

    worker: Worker
    queue: MemoryQueue
    clock: VirtualClock
    gateway: Any
    max_receives: int = 3
    handled: list[str] = field(default_factory=list)

    def run(self, finalizers: bool = False, limit: int = 10_000) -> None:
        for _ in range(limit):
            waiting = [m for m in self.queue.messages if finalizers or m.body["k"] != "final"]
            if not waiting:
                return
            message = min(waiting, key=lambda m: m.due_s)
            self.gateway.settle()  # every client has answered what it was sent so far
            if (ahead := message.due_s - self.clock.epoch_s()) > 0:
                self.clock.sleep(ahead)
            self.deliver(message)
        raise AssertionError("the broadcast work did not end")

    def deliver(self, message: Queued) -> None:
        self.queue.messages.remove(message)
        message.receives += 1
        event = {"Records": [{"messageId": str(id(message)), "body": json.dumps(message.body)}]}
        answer = handle_batch(self.worker, event)
        self.handled.append(message.body["k"])
        if answer["batchItemFailures"]:
            if message.receives >= self.max_receives:
                self.queue.dead.append(message)
            else:  # visible again after the visibility timeout
                message.due_s = self.clock.epoch_s() + 180
                self.queue.messages.append(message)
