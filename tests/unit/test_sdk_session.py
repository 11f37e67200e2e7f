"""The SDK's ``Session`` model (pydantic) and the server's ``Session`` (a dataclass, so that the
WebSocket functions need no pydantic; tests/packaging/test_websocket_without_pydantic.py) agree."""

import dataclasses

from session_relay.contract import Session
from session_relay_client import Session as SdkSession


def test_the_sdk_session_has_the_servers_fields():
    assert list(SdkSession.model_fields) == [field.name for field in dataclasses.fields(Session)]
    # The server keeps a session's declared functions as a tuple (its dataclass is frozen); the SDK
    # gives the JSON array as a list. Every other field has the same type on both sides.
    server = {field.name: field.type for field in dataclasses.fields(Session)}
    assert server["functions"] == tuple[str, ...] | None
    server["functions"] = list[str] | None
    assert {name: info.annotation for name, info in SdkSession.model_fields.items()} == server
