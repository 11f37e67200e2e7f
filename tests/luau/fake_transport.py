"""A WebSocket transport written in Luau, for the client's offline tests: no server, no sockets.

Passed as the client's ``websocket_connect``, it plays API Gateway: answers ``hello`` with a session,
``ping`` with ``pong`` and a declaration with its count, refuses handshakes on demand
(``FAKE.refuse = "…HTTP 429"``) and records, in ``FAKE.log``, every connect, hello, frame and close
with the executor's clock (``NOW()``), so a test can read the order of events in virtual time.
"""

import json
from typing import Any

from luau.harness import LuauHarness

FAKE_TRANSPORT = """
FAKE = { sockets = {}, log = {}, refuse = nil, answer_hello = true, answer_functions = true }

local function record(...)
	table.insert(FAKE.log, { NOW(), ... })
end

local function userOf(url)
	return string.match(url, "user_key=([^&]*)")
end

function FAKE.connect(url)
	local index = #FAKE.sockets + 1
	local user = userOf(url)
	record("connect", index, user)
	if FAKE.refuse ~= nil then
		FAKE.sockets[index] = false
		record("refused", index, user)
		error(FAKE.refuse, 0)
	end
	local handlers, closers = {}, {}
	local socket = { index = index, user = user, open = true, sent = {} }
	socket.OnMessage = { Connect = function(_, fn) table.insert(handlers, fn) end }
	socket.OnClose = { Connect = function(_, fn) table.insert(closers, fn) end }
	function socket.deliver(text)
		for _, fn in ipairs(handlers) do
			task.spawn(fn, text)
		end
	end
	function socket.drop()
		if socket.open then
			socket.open = false
			record("dropped", index, user)
			for _, fn in ipairs(closers) do
				task.spawn(fn)
			end
		end
	end
	function socket:Send(text)
		assert(socket.open, "send on a closed socket")
		table.insert(socket.sent, text)
		local frame = game:GetService("HttpService"):JSONDecode(text)
		record("frame", index, user, frame.action)
		if frame.action == "hello" and FAKE.answer_hello then
			task.defer(function()
				record("hello", index, user)
				local session = '{"id":"s' .. index .. '","user_key":"' .. user .. '"}'
				socket.deliver('{"type":"hello","session":' .. session .. "}")
			end)
		elseif frame.action == "ping" then
			task.defer(socket.deliver, '{"type":"pong"}')
		elseif frame.action == "functions" and FAKE.answer_functions then
			task.defer(socket.deliver, '{"type":"functions","count":' .. #frame.names .. "}")
		end
	end
	function socket:Close()
		if socket.open then
			socket.open = false
			record("closed", index, user)
		end
	end
	FAKE.sockets[index] = socket
	return socket
end
"""


def fake_harness(luau: Any) -> LuauHarness:
    """A harnessed VM with the fake transport loaded and ``R`` the client module."""
    harness = luau()
    harness.set_globals(NOW=harness._fn(harness.now))
    harness.exec(FAKE_TRANSPORT + "\nR = require(game:GetService('ReplicatedStorage').SessionRelay)")
    return harness


def connect(harness: LuauHarness, name: str = "session", user: str = "u1", **options: Any) -> None:
    """``name = R.connect(...)`` over the fake transport, with ``options`` added."""
    harness.exec(
        f"""
        local options = {{ url = "wss://fake", script_id = "s", user_key = USER, debug = true,
            websocket_connect = FAKE.connect }}
        for key, value in OPTIONS do
            options[key] = value
        end
        {name} = R.connect(options)
        """,
        USER=user,
        OPTIONS=options,
    )


def sent(harness: LuauHarness, index: int, action: str | None = None) -> list[Any]:
    """The frames the client sent on fake socket ``index`` (1-based), decoded; only ``action`` if given."""
    texts = harness.eval("return FAKE.sockets[INDEX].sent", INDEX=index) or []
    frames = [json.loads(text) for text in texts]
    return [frame for frame in frames if action is None or frame["action"] == action]


def log(harness: LuauHarness) -> list[list[Any]]:
    return harness.eval("return FAKE.log") or []
