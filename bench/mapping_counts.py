"""What the bench's mapped functions received, shared by all of them (outside their code folder, so one
module however many execution environments import their handlers)."""

import threading

RECEIVED = {"sqs": 0, "stream": 0}
_lock = threading.Lock()


def count(kind: str, event: dict) -> None:
    with _lock:
        RECEIVED[kind] += len(event["Records"])
