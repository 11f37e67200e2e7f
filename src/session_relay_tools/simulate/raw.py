"""A hand-driven, synchronous executor connection for probing the protocol by hand or in tests."""

import json
from typing import Any


def raw_identity(script_id: str, **overrides: Any) -> dict[str, Any]:
    """A valid handshake identity for ``script_id``; ``overrides`` replace or add query fields."""
    return {
        "script_id": script_id,
        "user_key": "raw-user",
        "roblox_id": 10234711811,
        "place_id": 606849621,
        "job_id": "raw-job",
        **overrides,
    }


class RawClient:
    """A hand-driven executor connection (synchronous): send any frame, read frames one by one.

    For probing the protocol by hand or in tests; open it with ``RawClient.open(url, query)``.
    """

    def __init__(self, socket: Any) -> None:
        self.socket = socket

    @classmethod
    def open(cls, ws_url: str, query: str, open_timeout: float = 10) -> "RawClient":
        from websockets.sync.client import connect

        connection = connect(f"{ws_url.rstrip('/')}/?{query}", open_timeout=open_timeout, max_size=None)
        return cls(connection.__enter__())  # as a context manager, which websockets requires; close() exits

    def send(self, frame: Any) -> None:
        self.socket.send(frame if isinstance(frame, str | bytes) else json.dumps(frame))

    def receive(self, timeout: float = 10) -> dict[str, Any]:
        return json.loads(self.socket.recv(timeout))

    def receive_type(self, frame_type: str, timeout: float = 10) -> dict[str, Any]:
        """The next frame of this type (frames of other types before it are skipped)."""
        while True:
            frame = self.receive(timeout)
            if frame.get("type") == frame_type:
                return frame

    def nothing_within(self, seconds: float) -> bool:
        """True when no frame arrives within ``seconds``."""
        try:
            self.socket.recv(seconds)
        except TimeoutError:
            return True
        return False

    def hello(self) -> dict[str, Any]:
        self.send({"action": "hello"})
        return self.receive_type("hello")["session"]

    def ping(self) -> dict[str, Any]:
        self.send({"action": "ping"})
        return self.receive_type("pong")

    def close(self) -> None:
        self.socket.close()
