"""The Luau client without a server: it compiles, loads both ways, and decides JSON before sending."""

import json

import pluau
import pytest

from luau.conftest import LOADSTRING_URL
from luau.harness import CLIENT_PATH, FRAME_LIMIT_BYTES

LOAD = "R = require(game:GetService('ReplicatedStorage').SessionRelay)\n"


def test_client_compiles_under_the_luau_compiler():
    source = CLIENT_PATH.read_text()
    bytecode = pluau.Compiler(2, 1, 0, 0).compile(source)
    assert len(bytecode) > 1000
    with pytest.raises(RuntimeError, match="syntax error"):
        pluau.Compiler(2, 1, 0, 0).compile(source + "\nlocal broken = ")


def test_module_script_and_loadstring_give_the_same_api(luau):
    harness = luau()
    api = harness.eval(
        """
        local viaRequire = require(game:GetService("ReplicatedStorage").SessionRelay)
        local again = require(game:GetService("ReplicatedStorage").SessionRelay)
        local viaLoadstring = loadstring(game:HttpGet(LOADSTRING_URL))()
        local names = {}
        for name, value in viaLoadstring do
            if type(value) == "function" then
                table.insert(names, name)
            end
        end
        table.sort(names)
        return {
            same_require = viaRequire == again,
            connect = type(viaRequire.connect),
            loadstring_connect = type(viaLoadstring.connect),
            version = viaLoadstring.VERSION,
            names = names,
        }
        """,
        LOADSTRING_URL=LOADSTRING_URL,
    )
    assert api["same_require"] is True
    assert api["connect"] == api["loadstring_connect"] == "function"
    assert api["version"] == "1.0.0"
    assert {"connect", "check_json", "find_websocket"} <= set(api["names"])


def test_loading_the_client_sets_no_globals(luau):
    harness = luau()
    before = set(
        harness.eval("local names = {} for name in _G do table.insert(names, name) end return names")
    )
    harness.eval(LOAD + "R = nil")
    after = set(harness.eval("local names = {} for name in _G do table.insert(names, name) end return names"))
    assert after - before == set()


@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        ("0/0", "NaN"),
        ("{ a = { 1, -(0/0) } }", "NaN is not a JSON number at response.a[2]"),
        ("math.huge", "infinity"),
        ("{ -math.huge }", "infinity is not a JSON number at response[1]"),
        ("2^53", "beyond 2^53"),
        ("2^53 + 1", "beyond 2^53"),
        ("-(2^53)", "beyond 2^53"),
        ("{ x = print }", "a function value at response.x"),
        ("newproxy(true)", "a userdata value"),
        ("buffer.create(4)", "a buffer value"),
        ("coroutine.create(print)", "a thread value"),
        ("(function() local t = {} t.self = t return t end)()", "cyclic table at response.self"),
        ("(function() local t = { {} } t[1][1] = t return t end)()", "cyclic table at response[1][1]"),
        ("{ 1, 2, x = 3 }", "mixes array items and string keys"),
        ("{ 1, nil, 3 }", "array with holes"),
        ("{ [2] = 'b' }", "array with holes"),
        ("{ [0] = 'zero' }", "not a positive integer"),
        ("{ [1.5] = 'half' }", "not a positive integer"),
        ("{ [true] = 1 }", "a key of type boolean"),
        ("'\\255'", "not valid UTF-8"),
        ("{ ['\\255'] = 1 }", "a key that is not valid UTF-8"),
        ("string.rep('x', 40000)", f"more than {FRAME_LIMIT_BYTES} bytes"),
        ("table.create(20000, 1)", f"more than {FRAME_LIMIT_BYTES} bytes"),
        (
            "(function() local t = {} local c = t for i = 1, 300 do c[1] = {} c = c[1] end return t end)()",
            "nested deeper than 200",
        ),
    ],
)
def test_check_json_refuses_what_json_cannot_carry(luau, expression, problem):
    ok, message = luau().eval(
        LOAD + f"local ok, problem = R.check_json({expression}) return {{ ok, problem }}"
    )
    assert ok is False
    assert problem in message


@pytest.mark.parametrize(
    "expression",
    [
        "nil",
        "true",
        "0",
        "-0.5",
        "2^53 - 1",
        "-(2^53 - 1)",
        "''",
        "'héllo 世界 🎉'",
        "'\\0 nul and \\n newline'",
        "{}",
        "{ 1, 'two', { three = 3 }, {} }",
        "{ ['1'] = 'string key that looks like a number' }",
        "(function() local shared = { 1 } return { a = shared, b = shared } end)()",
        "string.rep('x', 30000)",
    ],
)
def test_check_json_accepts_what_json_carries_exactly(luau, expression):
    assert luau().eval(LOAD + f"local ok, problem = R.check_json({expression}) return {{ ok, problem }}") == [
        True
    ]


def test_a_function_returning_nothing_is_answered_with_response_null(luau):
    frame = luau().eval(LOAD + "return R._internal.processed_frame('m1', nil)")
    assert frame == '{"action":"reply","id":"m1","processed":true,"response":null}'
    assert json.loads(frame) == {"action": "reply", "id": "m1", "processed": True, "response": None}


def test_processed_frame_carries_the_encoded_response(luau):
    frame = luau().eval(LOAD + "return R._internal.processed_frame('m2', { a = { 1, 2.5, 'é' }, b = {} })")
    assert json.loads(frame) == {
        "action": "reply",
        "id": "m2",
        "processed": True,
        "response": {"a": [1, 2.5, "é"], "b": []},
    }


def test_a_reply_is_processed_up_to_exactly_the_frame_limit(luau):
    harness = luau()
    sizes = harness.eval(
        LOAD
        + """
        local prefix = '{"action":"reply","id":"m3","processed":true,"response":"'
        local room = LIMIT - #prefix - 2
        local fits = R._internal.processed_frame("m3", string.rep("x", room))
        local over = R._internal.processed_frame("m3", string.rep("x", room + 1))
        return { #fits, over }
        """,
        LIMIT=FRAME_LIMIT_BYTES,
    )
    assert sizes[0] == FRAME_LIMIT_BYTES
    assert json.loads(sizes[1]) == {
        "action": "reply",
        "id": "m3",
        "processed": False,
        "reason": "invalid return data",
    }


def test_an_error_text_is_cut_and_cleaned_to_fit_one_frame(luau):
    frame = luau().eval(LOAD + "return R._internal.errored_frame('m4', string.rep('é', 40000) .. '\\255')")
    assert len(frame.encode()) <= FRAME_LIMIT_BYTES
    reason = json.loads(frame)["reason"]
    assert reason.startswith("function errored, message: éé")
    assert len(reason) > 10_000  # cut to fit, not dropped
    assert set(reason.removeprefix("function errored, message: ")) == {"é"}


def test_an_error_value_is_reported_as_tostring_gives_it(luau):
    source = (
        LOAD
        + """
        local http = game:GetService("HttpService")
        local function reason(err)
            return http:JSONDecode(R._internal.errored_frame("m5", err)).reason
        end
        local _, err = pcall(function() error("boom") end)
        return { reason(err), reason(42), reason("\\255bad") }
        """
    )
    line = next(n for n, text in enumerate(source.splitlines(), start=1) if 'error("boom")' in text)
    assert luau().eval(source) == [
        f"function errored, message: eval:{line}: boom",
        "function errored, message: 42",
        "function errored, message: \ufffdbad",
    ]


def test_identity_goes_in_the_query_string_url_encoded(luau):
    query = luau().eval(
        LOAD
        + """
        return R._internal.query_string({
            script_id = "s 1", user_key = "a&b=c/é", roblox_id = "10234711811",
            place_id = "606849621", job_id = "job?#",
        })
        """
    )
    assert query == (
        "script_id=s%201&user_key=a%26b%3Dc%2F%C3%A9&roblox_id=10234711811"
        "&place_id=606849621&job_id=job%3F%23"
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ("{ script_id = 's', user_key = 'u' }", "url must be a ws:// or wss:// URL"),
        ("{ url = 'http://x', script_id = 's', user_key = 'u' }", "url must be a ws:// or wss:// URL"),
        ("{ url = 'wss://x', user_key = 'u' }", "script_id must be a non-empty string"),
        ("{ url = 'wss://x', script_id = 's', user_key = '' }", "user_key must be a non-empty string"),
        ("{ url = 'wss://x', script_id = string.rep('s', 129), user_key = 'u' }", "at most 128 characters"),
        ("{ url = 'wss://x', script_id = 's', user_key = 'u', place_id = 0 }", "place_id must be a positive"),
        (
            "{ url = 'wss://x', script_id = 's', user_key = 'u', roblox_id = 1.5 }",
            "roblox_id must be a positive",
        ),
        (
            "{ url = 'wss://x', script_id = 's', user_key = 'u', roblox_id = '9223372036854775808' }",
            "below 2^63",
        ),
        ("{ url = 'wss://x', script_id = 's', user_key = 'u', ping_interval = 541 }", "at most 540 seconds"),
        ("{ url = 'wss://x', script_id = 's', user_key = 'u', rotate_after = 7000 }", "at most 7080 seconds"),
        ("{ url = 'wss://x', script_id = 's', user_key = 'u', backoff_initial = -1 }", "positive number"),
    ],
)
def test_connect_refuses_bad_options_at_the_callers_line(luau, options, message):
    source = LOAD + f"local ok, err = pcall(function()\n\tR.connect({options})\nend)\nreturn {{ ok, err }}"
    ok, error = luau().eval(source)
    assert ok is False
    assert error.startswith("eval:3: SessionRelay.connect: ")  # the caller's line
    assert message in error


def test_connect_without_any_websocket_library_says_so(luau):
    ok, error = luau().eval(
        LOAD + "WebSocket = nil local ok, err = pcall(R.connect, { url = 'wss://x', script_id = 's', "
        "user_key = 'u' }) return { ok, err }"
    )
    assert ok is False
    assert "no WebSocket library" in error


def test_harness_json_encode_is_as_lossy_as_roblox_documents(luau):
    """The client's own check matters: HttpService:JSONEncode would not refuse these by itself."""
    encoded = luau().eval(
        """
        local http = game:GetService("HttpService")
        local cyclic = {}
        cyclic.me = cyclic
        return {
            http:JSONEncode({ 1, 2, x = 3 }),
            http:JSONEncode({ 1, nil, 3 }),
            http:JSONEncode({ 0/0, math.huge }),
            http:JSONEncode({}),
            (select(2, pcall(http.JSONEncode, http, cyclic))),
            (select(2, pcall(http.JSONEncode, http, { print }))),
        }
        """
    )
    assert encoded[:4] == ["[1,2]", "[1]", "[nan,inf]", "[]"]
    assert "cyclic" in encoded[4]
    assert "Can't convert to JSON" in encoded[5]
