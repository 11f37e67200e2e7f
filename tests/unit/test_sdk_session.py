"""The SDK's ``Session`` model (pydantic) and the server's ``Session`` (a dataclass, so that the
WebSocket functions need no pydantic; tests/packaging/test_websocket_without_pydantic.py) agree."""

import dataclasses

from session_relay.contract import Session
from session_relay_client import Session as SdkSession


def test_the_sdk_session_has_the_servers_fields():
    assert list(SdkSession.model_fields) == [field.name for field in dataclasses.fields(Session)]
    assert {name: info.annotation for name, info in SdkSession.model_fields.items()} == {
        field.name: field.type for field in dataclasses.fields(Session)
    }
