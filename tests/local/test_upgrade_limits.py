"""The handshakes the WebSocket gateway refuses before its WebSocket parser sees them
(``local.upgrade_limits``): a URL over API Gateway's 4,096 characters (414), and a header its parser
cannot read (431). Over real sockets: tests/e2e/test_handshake_limits.py."""

from websockets import http11

from session_relay_tools.local.upgrade_limits import URL_LENGTH_LIMIT, refusal

HEADERS = [(b"host", b"127.0.0.1"), (b"upgrade", b"websocket"), (b"connection", b"Upgrade")]


def test_a_url_of_4096_characters_passes_and_one_more_is_refused_414():
    assert URL_LENGTH_LIMIT == 4096
    assert refusal(b"/?" + b"x" * 4094, HEADERS) is None
    assert refusal(b"/?" + b"x" * 4095, HEADERS) == 414


def test_a_header_line_the_parser_cannot_read_is_refused_431():
    longest = http11.MAX_LINE_LENGTH - len(b"x-big: \r\n")
    assert refusal(b"/", [*HEADERS, (b"x-big", b"v" * longest)]) is None
    assert refusal(b"/", [*HEADERS, (b"x-big", b"v" * (longest + 1))]) == 431


def test_more_headers_than_the_parser_reads_are_refused_431():
    many = [(f"x-{index}".encode(), b"v") for index in range(http11.MAX_NUM_HEADERS)]
    assert refusal(b"/", many) is None
    assert refusal(b"/", [*many, (b"x-one-more", b"v")]) == 431
