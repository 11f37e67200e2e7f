"""Raw WebSocket clients for the cases the simulator is too polite to produce."""

import contextlib
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from websockets.sync.client import ClientConnection, connect


def identity(script_id: str, **overrides: Any) -> dict[str, Any]:
    return {
        "script_id": script_id,
        "user_key": "raw-user",
        "roblox_id": 10234711811,
        "place_id": 606849621,
        "job_id": "raw-job",
        **overrides,
    }


class RawClient:
    """A hand-driven executor connection: send any frame, read frames one by one."""

    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket

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

    def hello(self) -> dict[str, Any]:
        self.send({"action": "hello"})
        return self.receive_type("hello")["session"]


@pytest.fixture
def raw_client(local_stack) -> Iterator[Any]:
    """A factory of raw connections with a valid identity; all closed afterwards."""
    with contextlib.ExitStack() as opened:

        def open_client(**overrides: Any) -> RawClient:
            query = urlencode(identity(local_stack.script_id, **overrides))
            url = f"{local_stack.ws_url}/?{query}"
            return RawClient(opened.enter_context(connect(url, open_timeout=10, max_size=None)))

        yield open_client
