"""Handshakes beyond what API Gateway or the local gateway's parser take are refused at once, over real
sockets (the limits: src/session_relay_tools/local/upgrade_limits.py). Before, a handshake with a
request line or a header over 8,192 bytes got no answer at all."""

import json
from urllib.parse import urlencode

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from session_relay_tools.simulate import identity_for


def _query(local_stack, length: int) -> str:
    """A valid identity's handshake target ("/?..."), padded to ``length`` characters."""
    target = "/?" + urlencode(identity_for(local_stack.script_id, 0, place_id=1)) + "&pad="
    return target + "x" * (length - len(target))


def _refused(url: str, **options) -> tuple[int, dict]:
    """The status and body the handshake was refused with; a handshake left unanswered fails here
    (``TimeoutError`` after ``open_timeout``, not ``InvalidStatus``)."""
    with pytest.raises(InvalidStatus) as refused:
        connect(url, open_timeout=5, **options)
    response = refused.value.response
    return response.status_code, json.loads(response.body)


def test_a_url_over_4096_characters_is_refused_414_and_one_of_4096_connects(local_stack):
    status, body = _refused(local_stack.ws_url + _query(local_stack, 4097))
    assert status == 414
    assert body == {"message": "the URL is longer than 4096 characters"}
    with connect(local_stack.ws_url + _query(local_stack, 4096), open_timeout=10) as connection:
        connection.send(json.dumps({"action": "ping"}))
        assert json.loads(connection.recv(10)) == {"type": "pong"}


@pytest.mark.parametrize("length", [8300, 20000])
def test_a_request_line_the_parser_could_not_read_is_answered_not_left_hanging(local_stack, length):
    status, _ = _refused(local_stack.ws_url + _query(local_stack, length))
    assert status == 414


def test_a_header_line_the_parser_could_not_read_is_refused_431(local_stack):
    url = local_stack.ws_url + _query(local_stack, 200)
    status, body = _refused(url, additional_headers={"X-Big": "v" * 9000})
    assert status == 431
    assert body == {"message": "a header is too large, or there are too many headers"}
