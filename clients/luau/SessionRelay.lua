--[[
	SessionRelay — the executor client for Session Relay (PROTOCOL.md section 2).

	One file, two ways in:
		local SessionRelay = loadstring(game:HttpGet(URL_OF_THIS_FILE))()
		local SessionRelay = require(path.to.SessionRelay) -- as a ModuleScript

	local session = SessionRelay.connect({ url = "wss://…/prod", script_id = "…", user_key = "…" })
	session:register("echo", function(data) return data end)
	session.Connected:Connect(function(id) print("session", id) end)
	session:close()

	README.md beside this file documents every option, event and limit.
]]

local SessionRelay = {}
SessionRelay.VERSION = "1.0.0"

-- ------------------------------------------------------------------ contract constants

local FRAME_LIMIT_BYTES = 32768 -- API Gateway closes a connection that sends a larger frame (1009)
local MAX_SAFE_INTEGER = 2 ^ 53 -- at and beyond this, a double no longer holds every integer exactly
local MAX_DEPTH = 200 -- deeper replies are refused rather than risk a stack overflow anywhere
local MAX_FIELD_LENGTH = 128
-- API Gateway ends every connection after 2 hours: "Connection duration for WebSocket API: 2 hours" in
-- "Quotas for configuring and running a WebSocket in API Gateway",
-- https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-execution-service-websocket-limits-table.html
local API_GATEWAY_MAX_AGE_S = 7200
-- The last rotation moment leaves this long before the cap for the new connection's connect and hello.
local ROTATE_MARGIN_S = 120
local MIN_ROTATE_WINDOW_S = 600 -- PROTOCOL.md: a window at least 10 minutes wide
local MAX_DECLARED_FUNCTIONS = 256 -- PROTOCOL.md section 2: 0..256 declared names
local DECLARE_ANSWER_S = 10 -- a declaration the server has not answered by then no longer holds the next
local MAX_PING_INTERVAL_S = 540 -- PROTOCOL.md: ping at most 540 s after the last ping or the open
local RETIRE_GRACE_S = 5 -- a replaced connection stays this long after its last reply

local REASON_ERRORED_PREFIX = "function errored, message: "
local REASON_INVALID = "invalid return data"
local REASON_NO_RESPONSE = "client never responded"
local REASON_NO_FUNCTION = "function doesnt exist"

SessionRelay.FRAME_LIMIT_BYTES = FRAME_LIMIT_BYTES
SessionRelay.REASON_ERRORED_PREFIX = REASON_ERRORED_PREFIX
SessionRelay.REASON_INVALID = REASON_INVALID
SessionRelay.REASON_NO_RESPONSE = REASON_NO_RESPONSE
SessionRelay.REASON_NO_FUNCTION = REASON_NO_FUNCTION

local DEFAULTS = {
	-- seconds between pings (at most 540): API Gateway itself answers them and drops a connection
	-- idle for 10 minutes, so the longest safe interval is the cheapest; 10 s below the limit
	-- because task.wait may return late
	ping_interval = 530,
	pong_timeout = 60, -- a connection silent this long after a ping is treated as dead
	connect_timeout = 30, -- seconds to wait for the executor's WebSocket connect to return
	hello_timeout = 30, -- seconds to wait for the server's hello after opening
	reconnect = true, -- reconnect after an unexpected close
	backoff_initial = 1, -- first reconnect delay ceiling (seconds); doubles per failed attempt
	backoff_max = 60, -- largest reconnect delay ceiling (seconds)
	-- a fresh session is opened at a random moment between rotate_after and rotate_after + rotate_window
	-- seconds after the handshake (API Gateway's cap is 7200), so a fleet that started together does not
	-- reconnect together
	rotate_after = 6000,
	rotate_window = 900,
	-- registrations within this many seconds go to the server as one declaration; 0: those made before
	-- the scheduler's next resumption cycle (task.defer), so a loop of register calls costs one frame
	declare_delay = 0,
	declare_functions = true, -- declare the registered functions to the server (PROTOCOL.md section 2)
	drain_timeout = 65, -- how long a replaced connection may finish running functions (seconds)
	debug = false, -- true (print) or a function(text) receiving log lines
}

local IDENTITY_FIELDS = { "script_id", "user_key", "roblox_id", "place_id", "job_id" }
local HELLO_FRAME = '{"action":"hello"}'
local PING_FRAME = '{"action":"ping"}'

-- ------------------------------------------------------------------ small helpers

-- Reads a member without letting a strict __index (Roblox userdata, executor objects) raise.
local function member(object, name)
	if object == nil then
		return nil
	end
	local ok, value = pcall(function()
		return object[name]
	end)
	if ok then
		return value
	end
	return nil
end

local function firstFunction(object, names)
	for _, name in ipairs(names) do
		local value = member(object, name)
		if type(value) == "function" then
			return value
		end
	end
	return nil
end

local function textOf(value)
	local ok, text = pcall(tostring, value)
	if ok and type(text) == "string" then
		return text
	end
	return "(a value that tostring could not convert)"
end

-- Replaces every byte that is not part of valid UTF-8 with U+FFFD, so the text can go in a JSON frame.
local function sanitizeUtf8(text)
	if utf8.len(text) ~= nil then
		return text
	end
	local pieces = {}
	local position = 1
	while position <= #text do
		local length, bad = utf8.len(text, position)
		if length ~= nil then
			table.insert(pieces, string.sub(text, position))
			break
		end
		table.insert(pieces, string.sub(text, position, bad - 1))
		table.insert(pieces, "\u{FFFD}")
		position = bad + 1
	end
	return table.concat(pieces)
end

-- The longest prefix of at most maxBytes bytes that does not split a UTF-8 sequence.
local function truncateUtf8(text, maxBytes)
	if #text <= maxBytes then
		return text
	end
	local cut = math.max(maxBytes, 0)
	while cut > 0 do
		local following = string.byte(text, cut + 1)
		if following == nil or following < 0x80 or following >= 0xC0 then
			break
		end
		cut -= 1
	end
	return string.sub(text, 1, cut)
end

-- ------------------------------------------------------------------ Signal (RBXScriptSignal-like)

local Signal = {}
Signal.__index = Signal

function Signal.new()
	return setmetatable({ _entries = {}, _waiters = {} }, Signal)
end

--- Calls fn(...) in its own thread each time the signal fires; returns a connection with :Disconnect().
function Signal:Connect(fn)
	assert(type(fn) == "function", "Signal:Connect expects a function")
	local entries = self._entries
	local entry = { fn = fn, connected = true }
	table.insert(entries, entry)
	local connection = { Connected = true }
	function connection.Disconnect()
		if not entry.connected then
			return
		end
		entry.connected = false
		connection.Connected = false
		local index = table.find(entries, entry)
		if index ~= nil then
			table.remove(entries, index)
		end
	end
	connection.disconnect = connection.Disconnect
	return connection
end
Signal.connect = Signal.Connect

--- Like Connect, but only for the next firing.
function Signal:Once(fn)
	assert(type(fn) == "function", "Signal:Once expects a function")
	local connection
	connection = self:Connect(function(...)
		connection:Disconnect()
		fn(...)
	end)
	return connection
end
Signal.once = Signal.Once

--- Yields the calling thread until the next firing; returns the fired arguments.
function Signal:Wait()
	table.insert(self._waiters, coroutine.running())
	return coroutine.yield()
end
Signal.wait = Signal.Wait

function Signal:Fire(...)
	for _, entry in ipairs(table.clone(self._entries)) do
		if entry.connected then
			task.spawn(entry.fn, ...)
		end
	end
	local waiters = self._waiters
	if #waiters > 0 then
		self._waiters = {}
		for _, thread in ipairs(waiters) do
			task.spawn(thread, ...)
		end
	end
end

-- Yields until signal fires (returns true, ...) or timeout seconds pass (returns false).
local function waitFor(signal, timeout)
	local thread = coroutine.running()
	local settled = false
	local connection, timer
	connection = signal:Connect(function(...)
		if settled then
			return
		end
		settled = true
		connection:Disconnect()
		if timer ~= nil then
			task.cancel(timer)
		end
		task.spawn(thread, true, ...)
	end)
	if timeout ~= nil then
		timer = task.delay(timeout, function()
			if settled then
				return
			end
			settled = true
			connection:Disconnect()
			task.spawn(thread, false)
		end)
	end
	return coroutine.yield()
end

SessionRelay.Signal = Signal

-- ------------------------------------------------------------------ JSON: the pure check

local function describePath(segments)
	local parts = { "response" }
	for index = #segments, 1, -1 do
		local key = segments[index]
		if type(key) == "string" and string.match(key, "^[%a_][%w_]*$") then
			table.insert(parts, "." .. key)
		elseif type(key) == "string" then
			table.insert(parts, string.format("[%q]", key))
		else
			table.insert(parts, "[" .. textOf(key) .. "]")
		end
	end
	return table.concat(parts)
end

--[[
	Whether value can be sent as JSON exactly as it is, decided in pure Luau before any encoding:
	returns true, or false and a sentence naming the first problem and where it is.
	Refused: NaN and ±inf; numbers of magnitude 2^53 or more (JSON readers cannot hold them exactly);
	functions, userdata, threads, buffers, vectors; cyclic tables; tables mixing array and string keys;
	arrays with holes; keys that are neither strings nor positive integers; text that is not UTF-8;
	nesting deeper than 200; anything whose JSON would certainly not fit one 32 KB frame.
]]
local function checkJson(value)
	local visiting = {}
	local bytes = 0

	local function visit(item, depth)
		local kind = type(item)
		if kind == "nil" or kind == "boolean" then
			bytes += 4
		elseif kind == "number" then
			if item ~= item then
				return "NaN is not a JSON number", {}
			elseif item == math.huge or item == -math.huge then
				return "infinity is not a JSON number", {}
			elseif item >= MAX_SAFE_INTEGER or item <= -MAX_SAFE_INTEGER then
				return "a number beyond 2^53 cannot be sent exactly", {}
			end
			bytes += 1
		elseif kind == "string" then
			if utf8.len(item) == nil then
				return "text that is not valid UTF-8", {}
			end
			bytes += #item + 2
		elseif kind == "table" then
			if depth > MAX_DEPTH then
				return "tables nested deeper than " .. MAX_DEPTH, {}
			end
			if visiting[item] then
				return "a cyclic table", {}
			end
			visiting[item] = true
			local count, largest = 0, 0
			local hasString, hasNumber = false, false
			for key, child in next, item do
				local keyKind = type(key)
				if keyKind == "string" then
					if utf8.len(key) == nil then
						return "a key that is not valid UTF-8", { key }
					end
					hasString = true
					bytes += #key + 3
				elseif keyKind == "number" then
					if key < 1 or key ~= math.floor(key) then
						return "a number key that is not a positive integer (" .. textOf(key) .. ")", {}
					end
					hasNumber = true
					if key > largest then
						largest = key
					end
				else
					return "a key of type " .. typeof(key), {}
				end
				count += 1
				local problem, path = visit(child, depth + 1)
				if problem ~= nil then
					table.insert(path, key)
					return problem, path
				end
				if bytes > FRAME_LIMIT_BYTES then
					return "more than " .. FRAME_LIMIT_BYTES .. " bytes of JSON", {}
				end
			end
			visiting[item] = nil
			if hasString and hasNumber then
				return "a table that mixes array items and string keys", {}
			end
			if hasNumber and largest ~= count then
				return "an array with holes (nil items)", {}
			end
			bytes += math.max(count, 1) + 1
		else
			return "a " .. typeof(item) .. " value", {}
		end
		if bytes > FRAME_LIMIT_BYTES then
			return "more than " .. FRAME_LIMIT_BYTES .. " bytes of JSON", {}
		end
		return nil
	end

	local problem, path = visit(value, 0)
	if problem ~= nil then
		return false, problem .. " at " .. describePath(path)
	end
	return true
end
SessionRelay.check_json = checkJson

-- ------------------------------------------------------------------ JSON: encoding with HttpService

local httpServiceCache = nil
local function httpService()
	if httpServiceCache == nil then
		httpServiceCache = game:GetService("HttpService")
	end
	return httpServiceCache
end

local function jsonEncode(value)
	return httpService():JSONEncode(value)
end

local function jsonDecode(text)
	return httpService():JSONDecode(text)
end

-- JSON text of one value already passed by checkJson. JSONEncode never produces null and is only
-- trusted with tables, so the value is encoded as the single item of an array and unwrapped.
local function encodeValue(value)
	if value == nil then
		return true, "null"
	end
	local ok, text = pcall(jsonEncode, { value })
	if not ok then
		return false, "HttpService:JSONEncode failed: " .. textOf(text)
	end
	if type(text) ~= "string" or string.sub(text, 1, 1) ~= "[" or string.sub(text, -1) ~= "]" or #text < 3 then
		return false, "HttpService:JSONEncode gave an unexpected result"
	end
	return true, string.sub(text, 2, -2)
end

local function reasonFrame(id, reason)
	local okId, idText = encodeValue(id)
	local okReason, reasonText = encodeValue(reason)
	if not (okId and okReason) then
		return nil
	end
	return '{"action":"reply","id":' .. idText .. ',"processed":false,"reason":' .. reasonText .. "}"
end

-- The frame declaring the registered functions (PROTOCOL.md section 2): their names, sorted.
local function declaration(functions)
	local names = {}
	for name in pairs(functions) do
		table.insert(names, name)
	end
	table.sort(names)
	local encoded = {}
	for _, name in ipairs(names) do
		local ok, text = encodeValue(name)
		if not ok then
			return nil
		end
		table.insert(encoded, text)
	end
	return '{"action":"functions","names":[' .. table.concat(encoded, ",") .. "]}", #names, names
end

--[[
	The reply frame for a function that returned value: "processed":true with the response (null for
	nil), or — when value cannot be sent as JSON or the frame would pass 32 KB — the
	"invalid return data" reply. Returns the frame text and, for an invalid value, why.
]]
local function processedFrame(id, value)
	local valid, problem = checkJson(value)
	if valid then
		local okId, idText = encodeValue(id)
		local okValue, valueText = encodeValue(value)
		if not okId then
			return nil, idText
		end
		if okValue then
			local frame = '{"action":"reply","id":' .. idText .. ',"processed":true,"response":' .. valueText .. "}"
			if #frame <= FRAME_LIMIT_BYTES then
				return frame
			end
			problem = "the reply frame would be " .. #frame .. " bytes, over the " .. FRAME_LIMIT_BYTES .. "-byte limit"
		else
			problem = valueText
		end
	end
	return reasonFrame(id, REASON_INVALID), problem
end

-- The reply for a function that raised err: the reason carries tostring(err), cut to fit one frame.
local function erroredFrame(id, err)
	local message = sanitizeUtf8(textOf(err))
	local budget = FRAME_LIMIT_BYTES - 256
	while true do
		local text = truncateUtf8(message, budget)
		local frame = reasonFrame(id, REASON_ERRORED_PREFIX .. text)
		if frame ~= nil and #frame <= FRAME_LIMIT_BYTES then
			return frame
		end
		if frame == nil or budget <= 0 then
			return reasonFrame(id, REASON_ERRORED_PREFIX .. "(the error text could not be sent)")
		end
		budget = math.floor(budget / 2)
	end
end

-- ------------------------------------------------------------------ identity and URL

local function urlEncode(text)
	return (string.gsub(text, "[^%w%-%._~]", function(character)
		return string.format("%%%02X", string.byte(character))
	end))
end

-- Option problems are raised without a position here; connect re-raises them at the caller's line.
local function fail(message)
	error("SessionRelay.connect: " .. message, 0)
end

local function checkText(value, name)
	if type(value) ~= "string" or value == "" then
		fail(name .. " must be a non-empty string (got " .. textOf(value) .. ")")
	end
	local length = utf8.len(value)
	if length == nil then
		fail(name .. " must be valid UTF-8 text")
	elseif length > MAX_FIELD_LENGTH then
		fail(name .. " must be at most " .. MAX_FIELD_LENGTH .. " characters")
	end
	return value
end

-- roblox_id and place_id: positive integers below 2^63, as decimal digits.
local function checkId(value, name)
	if type(value) == "number" then
		if value == value and value >= 1 and value < MAX_SAFE_INTEGER and value == math.floor(value) then
			return string.format("%d", value)
		end
	elseif type(value) == "string" then
		local digits = string.match(value, "^0*(%d+)$")
		if digits ~= nil and digits ~= "0" then
			if #digits < 19 or (#digits == 19 and digits <= "9223372036854775807") then
				return digits
			end
		end
	end
	fail(name .. " must be a positive integer below 2^63 (got " .. textOf(value) .. ")")
	return ""
end

local function localPlayer()
	local players = game:GetService("Players")
	local player = players.LocalPlayer
	local waited = 0
	while player == nil and waited < 30 do
		waited += task.wait(0.1)
		player = players.LocalPlayer
	end
	return player
end

local function identityFrom(options)
	local identity = {
		script_id = checkText(options.script_id, "script_id"),
		user_key = checkText(options.user_key, "user_key"),
	}
	local robloxId = options.roblox_id
	if robloxId == nil then
		local player = localPlayer()
		if player == nil then
			fail("roblox_id was not given and there is no LocalPlayer")
		end
		robloxId = player.UserId
	end
	identity.roblox_id = checkId(robloxId, "roblox_id")
	identity.place_id = checkId(if options.place_id ~= nil then options.place_id else game.PlaceId, "place_id")
	identity.job_id = checkText(if options.job_id ~= nil then options.job_id else game.JobId, "job_id")
	return identity
end

local function queryString(identity)
	local parts = {}
	for _, name in ipairs(IDENTITY_FIELDS) do
		table.insert(parts, name .. "=" .. urlEncode(tostring(identity[name])))
	end
	return table.concat(parts, "&")
end

local function urlWithQuery(url, query)
	if string.find(url, "?", 1, true) == nil then
		return url .. "?" .. query
	elseif string.sub(url, -1) == "?" or string.sub(url, -1) == "&" then
		return url .. query
	end
	return url .. "&" .. query
end

-- ------------------------------------------------------------------ the executor's WebSocket, adapted

--[[
	Executors expose one WebSocket library under different names. The UNC one is
	WebSocket.connect(url) -> socket with :Send(text), :Close(), .OnMessage and .OnClose signals;
	older ones used syn.websocket.connect, Krnl.WebSocket.connect or WebSocket.new. The adapter finds
	whichever exists and hides the differences (method case, missing OnClose) from the rest.
]]
local function findWebSocketConnect()
	local libraries = {
		function()
			return WebSocket
		end,
		function()
			return member(syn, "websocket")
		end,
		function()
			return member(Krnl, "WebSocket")
		end,
		function()
			return member(fluxus, "websocket")
		end,
		function()
			return websocket
		end,
	}
	for _, library in ipairs(libraries) do
		local ok, found = pcall(library)
		if ok and found ~= nil then
			local connect = firstFunction(found, { "connect", "Connect", "new" })
			if connect ~= nil then
				return connect
			end
		end
	end
	return nil
end
SessionRelay.find_websocket = findWebSocketConnect

local Socket = {}
Socket.__index = Socket

function Socket.wrap(raw)
	return setmetatable({ raw = raw }, Socket)
end

function Socket:send(text)
	local send = firstFunction(self.raw, { "Send", "send" })
	if send == nil then
		return false, "the socket has no Send method"
	end
	return pcall(send, self.raw, text)
end

function Socket:close()
	local close = firstFunction(self.raw, { "Close", "close" })
	if close ~= nil then
		pcall(close, self.raw)
	end
end

-- Connects fn to the first of the named events that exists; returns whether one did.
function Socket:on(names, fn)
	for _, name in ipairs(names) do
		local event = member(self.raw, name)
		if event ~= nil then
			local connect = firstFunction(event, { "Connect", "connect" })
			if connect ~= nil and pcall(connect, event, fn) then
				return true
			end
		end
	end
	return false
end

-- ------------------------------------------------------------------ one WebSocket connection

local Connection = {}
Connection.__index = Connection

function Connection.new(client, socket)
	return setmetatable({
		client = client,
		socket = socket,
		open = true,
		hello = false,
		id = nil,
		info = nil,
		frames = 0,
		in_flight = 0,
		retiring = false,
		rotate_due = false,
		changed = Signal.new(), -- fires on hello and on close
	}, Connection)
end

function Connection:attach()
	local hasMessage = self.socket:on({ "OnMessage", "onMessage", "OnMessageReceived" }, function(message)
		self:receive(message)
	end)
	if not hasMessage then
		return false, "the executor's WebSocket has no OnMessage event"
	end
	-- Without OnClose a dead connection is still found: the ping goes unanswered.
	self.socket:on({ "OnClose", "onClose", "OnClosed" }, function()
		self:finish("connection lost")
	end)
	self:startPings()
	return true
end

function Connection:send(text)
	if not self.open or text == nil then
		return false
	end
	if #text > FRAME_LIMIT_BYTES then
		self.client:_log("refused to send a frame over " .. FRAME_LIMIT_BYTES .. " bytes")
		return false
	end
	local ok, err = self.socket:send(text)
	if not ok then
		self.client:_log("send failed: " .. textOf(err))
	end
	return ok
end

function Connection:startPings()
	local options = self.client._options
	self.ping_thread = task.spawn(function()
		while self.open do
			task.wait(options.ping_interval)
			if not self.open then
				break
			end
			local seen = self.frames
			self:send(PING_FRAME)
			task.delay(options.pong_timeout, function()
				if self.open and self.frames == seen then
					self:close("no answer to ping")
				end
			end)
		end
	end)
end

local function cancel(thread)
	if thread ~= nil and thread ~= coroutine.running() then
		pcall(task.cancel, thread)
	end
end

-- Marks the connection ended (once) and tells the client; the socket itself is not touched.
function Connection:finish(reason)
	if not self.open then
		return
	end
	self.open = false
	self.end_reason = reason
	cancel(self.ping_thread)
	cancel(self.rotate_timer)
	cancel(self.drain_timer)
	cancel(self.idle_timer)
	cancel(self.declaring)
	self.changed:Fire()
	self.client:_connectionEnded(self, reason)
end

-- Ends the connection from this side.
function Connection:close(reason)
	if not self.open then
		return
	end
	self:finish(reason)
	self.socket:close()
end

function Connection:receive(message)
	if not self.open then
		return
	end
	self.frames += 1
	if type(message) ~= "string" then
		message = textOf(message)
	end
	local ok, frame = pcall(jsonDecode, message)
	if not ok or type(frame) ~= "table" then
		self.client:_log("ignored a frame that is not a JSON object")
		return
	end
	local kind = frame.type
	if kind == "message" then
		self.client:_handle(self, frame)
	elseif kind == "hello" then
		local info = frame.session
		if type(info) == "table" and type(info.id) == "string" then
			self.info = info
			self.id = info.id
			self.hello = true
			self.changed:Fire()
		end
	elseif kind == "functions" then
		self.client:_declared(self, frame.count)
	elseif kind == "pong" then
		self.pongs = (self.pongs or 0) + 1
	elseif kind == "disconnect" then
		self.client:_serverDisconnected(self, frame.reason)
	elseif kind == "error" then
		self.client:_serverError(self, frame.error)
	end
end

-- ------------------------------------------------------------------ the session (public object)

local Session = {}
Session.__index = Session

local function resolveOptions(options)
	if type(options) ~= "table" then
		fail("expected a table of options")
	end
	local url = options.url
	if type(url) ~= "string" or not (string.match(url, "^wss?://") or string.match(url, "^WSS?://")) then
		fail("url must be a ws:// or wss:// URL (got " .. textOf(url) .. ")")
	end
	local config = {}
	for name, default in pairs(DEFAULTS) do
		local value = options[name]
		if value == nil then
			value = default
		end
		local least = if name == "declare_delay" then 0 else nil
		if
			type(default) == "number"
			and (type(value) ~= "number" or value ~= value or value < (least or 0) or (least == nil and value == 0))
		then
			fail(name .. " must be a " .. (if least then "non-negative" else "positive") .. " number of seconds")
		end
		config[name] = value
	end
	if config.ping_interval > MAX_PING_INTERVAL_S then
		fail("ping_interval must be at most " .. MAX_PING_INTERVAL_S .. " seconds")
	end
	if config.rotate_window < MIN_ROTATE_WINDOW_S then
		fail("rotate_window must be at least " .. MIN_ROTATE_WINDOW_S .. " seconds")
	end
	if config.rotate_after + config.rotate_window > API_GATEWAY_MAX_AGE_S - ROTATE_MARGIN_S then
		fail(
			"rotate_after + rotate_window must be at most "
				.. (API_GATEWAY_MAX_AGE_S - ROTATE_MARGIN_S)
				.. " seconds (API Gateway's 2-hour cap, less time to open the next connection)"
		)
	end
	if config.backoff_max < config.backoff_initial then
		fail("backoff_max must be at least backoff_initial")
	end
	local connect = options.websocket_connect
	if connect ~= nil and type(connect) ~= "function" then
		fail("websocket_connect must be a function(url) returning a socket")
	end
	config.websocket_connect = connect or findWebSocketConnect()
	if config.websocket_connect == nil then
		fail(
			"this executor has no WebSocket library (looked for WebSocket.connect, syn.websocket.connect, "
				.. "Krnl.WebSocket.connect and WebSocket.new); pass options.websocket_connect"
		)
	end
	config.identity = identityFrom(options)
	config.socket_url = urlWithQuery(url, queryString(config.identity))
	return config
end

-- Roblox's Random is seeded apart in every VM; math.random may start from the same seed in each, and a
-- fleet drawing the same numbers would reconnect in step.
local randomSource = nil
local function uniform()
	if randomSource == nil then
		local ok, made = pcall(function()
			return Random.new()
		end)
		randomSource = if ok and made ~= nil then made else false
	end
	if randomSource then
		return randomSource:NextNumber()
	end
	return math.random()
end

-- Seconds to wait before reconnect attempt number `attempt` (1, 2, …): full jitter, a uniform point
-- of [0, min(backoff_max, backoff_initial * 2^(attempt-1))], so a fleet never reconnects in step.
local function backoffDelay(attempt, initial, maximum)
	local ceiling = math.min(maximum, initial * 2 ^ math.max(attempt - 1, 0))
	return uniform() * ceiling
end

-- Seconds after the handshake at which a connection is replaced: a uniform moment of the window.
local function rotateDelay(after, window)
	return after + uniform() * window
end

-- The HTTP status of a refused handshake, read from the executor's error text ("HTTP 403",
-- "status 429", "… 503 …"), or nil when it names none.
local function refusedStatus(err)
	local text = textOf(err)
	local status = string.match(text, "HTTP[/%d%.]*%s+(%d%d%d)%f[%D]")
		or string.match(text, "[Ss]tatus[%s:=]+(%d%d%d)%f[%D]")
		or string.match(text, "%f[%w]([45]%d%d)%f[%W]")
	return if status ~= nil then tonumber(status) else nil
end

--[[
	Connects to Session Relay and returns the session at once; the connection opens in the background.
	options: url, script_id, user_key (required); roblox_id, place_id, job_id (default LocalPlayer.UserId,
	game.PlaceId, game.JobId); functions (a table key -> function to register); timing options as in
	DEFAULTS; websocket_connect (a function(url) -> socket, to override the executor's).
]]
function SessionRelay.connect(options, ...)
	if options == SessionRelay then -- called as SessionRelay:connect({...})
		options = ...
	end
	local resolved, config = pcall(resolveOptions, options)
	if not resolved then
		error(config, 2)
	end
	local self = setmetatable({
		id = nil,
		session_id = nil,
		session = nil,
		connected = false,
		closed = false,
		last_error = nil,
		last_server_error = nil,
		Connected = Signal.new(),
		Disconnected = Signal.new(),
		_options = config,
		_functions = {},
		_conn = nil,
		_open = {},
		_attempt = 0,
		_finished = false,
		_wake = Signal.new(),
		_stop = Signal.new(),
		_state = Signal.new(),
	}, Session)
	if options.functions ~= nil then
		if type(options.functions) ~= "table" then
			error("SessionRelay.connect: functions must be a table of key -> function", 2)
		end
		for key, fn in pairs(options.functions) do
			self:register(key, fn)
		end
	end
	task.spawn(function()
		self:_run()
	end)
	return self
end

--- Makes fn answer messages sent under key: fn(data, context) -> response (any JSON value or nil).
function Session:register(key, fn)
	if type(key) ~= "string" or key == "" or (utf8.len(key) or MAX_FIELD_LENGTH + 1) > MAX_FIELD_LENGTH then
		error("SessionRelay: register expects a key of 1 to " .. MAX_FIELD_LENGTH .. " characters", 2)
	end
	if type(fn) ~= "function" then
		error("SessionRelay: register expects a function for key " .. key, 2)
	end
	local added = self._functions[key] == nil
	self._functions[key] = fn
	if added and self._options.declare_functions then
		local frame, count = declaration(self._functions)
		if frame == nil or count > MAX_DECLARED_FUNCTIONS or #frame > FRAME_LIMIT_BYTES then
			self._functions[key] = nil
			error(
				"SessionRelay: register cannot declare more than "
					.. MAX_DECLARED_FUNCTIONS
					.. " functions, nor names that fill more than one frame ("
					.. FRAME_LIMIT_BYTES
					.. " bytes)",
				2
			)
		end
		self:_declareSoon()
	end
	return self
end

--- Stops answering key (later messages get "function doesnt exist"); returns whether it was registered.
function Session:unregister(key)
	local existed = self._functions[key] ~= nil
	self._functions[key] = nil
	if existed then
		self:_declareSoon()
	end
	return existed
end

--- Whether a function is registered under key.
function Session:is_registered(key)
	return self._functions[key] ~= nil
end

function Session:is_connected()
	return self.connected
end

--- Yields until the session is connected (returns its id) or timeout seconds pass / it closes (nil).
function Session:wait_connected(timeout)
	if not self.connected and not self._finished then
		waitFor(self._state, timeout)
	end
	if self.connected then
		return self.id
	end
	return nil
end

--- Closes the connection for good: no reconnect; the server deletes the session.
function Session:close()
	self:_finish()
	for _, conn in ipairs(self:_connections()) do
		conn:close("closed by the script")
	end
end
Session.Close = Session.close
Session.disconnect = Session.close

-- ------------------------------------------------------------------ the session (internals)

function Session:_log(text)
	local debug = self._options.debug
	if debug == true then
		print("[SessionRelay] " .. text)
	elseif type(debug) == "function" then
		pcall(debug, text)
	end
end

-- Declares the registered functions once declare_delay has passed, so a burst of register and
-- unregister calls costs one frame (none when the set ends up as it was declared).
function Session:_declareSoon()
	if not self._options.declare_functions or self._declare_timer ~= nil or self._finished then
		return
	end
	local function declare()
		self._declare_timer = nil
		self:_declare()
	end
	local delay = self._options.declare_delay
	self._declare_timer = if delay > 0 then task.delay(delay, declare) else task.defer(declare)
end

--[[
	Sends the declaration on conn, or on every connection past its hello whose last one differs. One
	declaration at a time is on its way on a connection: the server runs each frame in its own
	function invocation, so two sent together could be stored in the wrong order. The next goes when
	the server has answered {"type":"functions"} (or DECLARE_ANSWER_S passed without an answer).
]]
function Session:_declare(conn)
	local frame, _, names = declaration(self._functions)
	local targets = if conn ~= nil then { conn } else self:_connections()
	for _, target in ipairs(targets) do
		if target.hello and not target.declaring and target.declared ~= frame and target:send(frame) then
			target.declared = frame
			target.declared_names = names
			target.declaring = task.delay(DECLARE_ANSWER_S, function()
				target.declaring = nil
				self:_declare(target)
			end)
		end
	end
end

-- The server confirmed a declaration on conn: the next one, if the set changed since, may go.
function Session:_declared(conn, count)
	self.declared_count = count
	self.declared_functions = conn.declared_names
	cancel(conn.declaring)
	conn.declaring = nil
	self:_declare(conn)
end

function Session:_connections()
	local list = {}
	for conn in pairs(self._open) do
		table.insert(list, conn)
	end
	return list
end

function Session:_finish()
	if self._finished then
		return
	end
	self._finished = true
	self.closed = true
	self._stop:Fire()
	self._wake:Fire()
	self._state:Fire()
end

-- Keeps one live connection: opens, reopens after a drop (with backoff), rotates before 2 hours.
function Session:_run()
	local options = self._options
	while not self._finished do
		local current = self._conn
		if current ~= nil and not current.rotate_due then
			waitFor(self._wake)
		else
			if self._attempt > 0 then
				local delay = backoffDelay(self._attempt, options.backoff_initial, options.backoff_max)
				self:_log(string.format("reconnecting in %.3f s (attempt %d)", delay, self._attempt))
				waitFor(self._stop, delay)
				if self._finished then
					break
				end
			end
			local conn, err = self:_openConnection()
			if conn ~= nil and self._finished then
				conn:close("closed by the script")
			elseif conn ~= nil then
				self:_adopt(conn)
			elseif not self._finished then
				self.last_error = err
				self:_log("could not connect: " .. textOf(err))
				if refusedStatus(err) == 403 then
					-- an unknown or disabled script, or a banned user: trying again changes nothing
					self:_log("the server refused this session (403): not reconnecting")
					self:_finish()
				else
					self._attempt += 1
				end
			end
		end
	end
end

-- Calls the executor's connect in its own thread: some never return on a dead network, and a
-- socket that arrives after the wait was given up on is closed.
local function connectWithin(connect, url, timeout)
	local finished = Signal.new()
	local result = nil
	local abandoned = false
	task.spawn(function()
		local ok, value = pcall(connect, url)
		if abandoned then
			if ok and value ~= nil then
				Socket.wrap(value):close()
			end
			return
		end
		result = { ok, value }
		finished:Fire()
	end)
	if result == nil and not waitFor(finished, timeout) then
		abandoned = true
		return false, "the WebSocket connect did not finish within " .. timeout .. " s"
	end
	return result[1], result[2]
end

function Session:_openConnection()
	local options = self._options
	self:_log("connecting to " .. options.socket_url)
	local ok, raw = connectWithin(options.websocket_connect, options.socket_url, options.connect_timeout)
	if not ok then
		return nil, textOf(raw)
	elseif raw == nil then
		return nil, "the executor's WebSocket connect returned nothing"
	end
	local conn = Connection.new(self, Socket.wrap(raw))
	self._open[conn] = true
	if self._finished then
		conn:close("closed by the script")
		return nil, "closed"
	end
	local attached, why = conn:attach()
	if not attached then
		conn:close(why)
		return nil, why
	end
	conn:send(HELLO_FRAME)
	if conn.open and not conn.hello then
		waitFor(conn.changed, options.hello_timeout)
	end
	if conn.open and conn.hello then
		if options.declare_functions then
			self:_declare(conn)
		end
		return conn
	end
	local reason = if conn.open then "no hello from the server" else conn.end_reason
	conn:close(reason)
	return nil, reason
end

function Session:_adopt(conn)
	local previous = self._conn
	self._conn = conn
	self._attempt = 0
	self.id = conn.id
	self.session_id = conn.id
	self.session = conn.info
	self.connected = true
	local options = self._options
	conn.rotate_at = rotateDelay(options.rotate_after, options.rotate_window)
	conn.rotate_timer = task.delay(conn.rotate_at, function()
		conn.rotate_timer = nil
		conn.rotate_due = true
		self:_log("connection is nearly 2 hours old: opening a new session")
		self._wake:Fire()
	end)
	if previous ~= nil and previous.open then
		self:_retire(previous)
	end
	self:_log("connected: session " .. conn.id)
	self._state:Fire()
	self.Connected:Fire(conn.id, conn.info)
end

-- A replaced connection finishes the functions it is running, then closes once it has been idle for
-- RETIRE_GRACE_S: a reply followed at once by a close can be lost on the server, whose $disconnect
-- may clear the message before the caller has read the answer.
function Session:_retire(conn)
	conn.retiring = true
	conn.drain_timer = task.delay(self._options.drain_timeout, function()
		conn.drain_timer = nil
		conn:close("replaced by a new session")
	end)
	self:_closeWhenIdle(conn)
end

function Session:_closeWhenIdle(conn)
	if not conn.retiring or conn.in_flight > 0 or not conn.open then
		return
	end
	cancel(conn.idle_timer)
	conn.idle_timer = task.delay(RETIRE_GRACE_S, function()
		conn.idle_timer = nil
		if conn.in_flight == 0 then
			conn:close("replaced by a new session")
		end
	end)
end

function Session:_connectionEnded(conn, reason)
	self._open[conn] = nil
	if conn ~= self._conn then
		return
	end
	local id = self.id
	self._conn = nil
	self.id = nil
	self.session_id = nil
	self.session = nil
	self.connected = false
	if not self._finished and not self._options.reconnect then
		self:_finish()
	end
	local reconnect = not self._finished
	if reconnect then
		self._attempt += 1
	end
	self:_log("disconnected: " .. textOf(reason) .. (if reconnect then "; will reconnect" else ""))
	self.Disconnected:Fire(reason, reconnect, id)
	self._wake:Fire()
end

function Session:_serverDisconnected(conn, reason)
	if type(reason) ~= "string" or reason == "" then
		reason = "disconnected by the server"
	end
	self:_finish()
	conn:close(reason)
	for _, other in ipairs(self:_connections()) do
		other:close(reason)
	end
end

function Session:_serverError(conn, message)
	self.last_server_error = message
	self:_log("server error: " .. textOf(message))
	if not conn.hello then
		conn:close("server refused hello: " .. textOf(message))
	end
end

-- Runs the function for one message in its own thread and sends exactly one reply on conn.
function Session:_handle(conn, frame)
	local id = frame.id
	if type(id) ~= "string" then
		return
	end
	local key = frame.key
	local fn = if type(key) == "string" then self._functions[key] else nil
	if fn == nil then
		conn:send(reasonFrame(id, REASON_NO_FUNCTION))
		return
	end
	conn.in_flight += 1
	task.spawn(function()
		local context = { id = id, key = key, session_id = conn.id, session = self }
		local ok, result = pcall(fn, frame.data, context)
		conn.in_flight -= 1
		local reply, problem
		if ok then
			reply, problem = processedFrame(id, result)
			if problem ~= nil then
				self:_log("invalid return data from '" .. key .. "': " .. problem)
			end
		else
			reply = erroredFrame(id, result)
		end
		conn:send(reply)
		self:_closeWhenIdle(conn)
	end)
end

-- Pure pieces, exposed for tests and for callers that build frames themselves.
SessionRelay._internal = {
	processed_frame = processedFrame,
	errored_frame = erroredFrame,
	reason_frame = reasonFrame,
	backoff_delay = backoffDelay,
	rotate_delay = rotateDelay,
	refused_status = refusedStatus,
	declaration = declaration,
	query_string = queryString,
	url_encode = urlEncode,
	sanitize_utf8 = sanitizeUtf8,
	truncate_utf8 = truncateUtf8,
	defaults = DEFAULTS,
}

return SessionRelay
