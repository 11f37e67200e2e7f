"""A call's ``message`` frames and the ids they carry (PROTOCOL.md section 2)."""

import secrets
from typing import Any

from session_relay import FRAME_LIMIT_BYTES
from session_relay.errors import PayloadTooLarge
from session_relay.wire import dump_json


def new_message_id() -> str:
    """128 random bits in lowercase hex: an id never starts with ``-`` (a command line would read it as
    an option) and needs no escaping in a URL path."""
    return secrets.token_hex(16)


class MessageFrames:
    """The ``message`` frames of one call: ``key`` and ``data`` serialized once, each frame the same
    text around its own id (ids all have one length, so the size is checked once: 413 when too big)."""

    def __init__(self, key: str, data: Any) -> None:
        self.key = key
        self._head = '{"type":"message","id":"'
        self._tail = f'","key":{dump_json(key)},"data":{dump_json(data)}}}'
        size = len(self._head.encode()) + len(new_message_id()) + len(self._tail.encode())
        if size > FRAME_LIMIT_BYTES:
            raise PayloadTooLarge(
                f"the message frame would be {size} bytes, over the {FRAME_LIMIT_BYTES}-byte frame limit"
            )

    def frame(self, message_id: str) -> str:
        return self._head + message_id + self._tail
