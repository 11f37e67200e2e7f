-- What a Roblox executor gives a script besides `task`: WebSocket, game, HttpService, require,
-- print/warn (second half of the executor's prelude, after scheduler.lua in the same chunk).
-- ------------------------------------------------------------ executor events and WebSocket
local function newEvent(lowercase)
	local handlers = {}
	local event = {}
	local function connect(_, fn)
		local connection = { Connected = true }
		table.insert(handlers, connection)
		connection.fn = fn
		local function disconnect()
			connection.Connected = false
		end
		if lowercase then
			connection.disconnect = disconnect
		else
			connection.Disconnect = disconnect
		end
		return connection
	end
	if lowercase then
		event.connect = connect
	else
		event.Connect = connect
	end
	local function fire(...)
		for _, connection in ipairs(table.clone(handlers)) do
			if connection.Connected then
				task.spawn(connection.fn, ...)
			end
		end
	end
	return event, fire
end

-- Executor objects are strict like Roblox userdata: reading an unknown member raises.
local function strict(object, kind)
	return setmetatable(object, {
		__index = function(_, key)
			error(tostring(key) .. " is not a valid member of " .. kind, 2)
		end,
	})
end

local sockets = {}
local style = py.style

local function makeSocket(handle)
	local lowercase = style == "lowercase"
	local onMessage, fireMessage = newEvent(lowercase)
	local onClose, fireClose = newEvent(lowercase)
	local socket = {}
	local function send(_, text)
		py.ws_send(handle, text)
	end
	local function close(_)
		py.ws_close(handle)
	end
	if lowercase then
		socket.send, socket.close = send, close
	else
		socket.Send, socket.Close = send, close
	end
	socket.OnMessage = onMessage
	if style ~= "no_onclose" then
		socket.OnClose = onClose
	end
	sockets[handle] = { fireMessage = fireMessage, fireClose = fireClose, closed = false }
	return strict(socket, "WebSocket")
end

local function connectSocket(url)
	if type(url) ~= "string" then
		error("WebSocket.connect: url must be a string", 2)
	end
	local handle = py.ws_open(url)
	ioWaiters[handle] = coroutine.running()
	local ok, err = coroutine.yield()
	if not ok then
		error(err, 2)
	end
	return makeSocket(handle)
end

function harness.io_open(handle, ok, err)
	local thread = ioWaiters[handle]
	ioWaiters[handle] = nil
	if thread ~= nil then
		resume(thread, ok, err)
	end
end

function harness.io_message(handle, text)
	local socket = sockets[handle]
	if socket ~= nil and not socket.closed then
		socket.fireMessage(text)
	end
end

function harness.io_close(handle)
	local socket = sockets[handle]
	if socket ~= nil and not socket.closed then
		socket.closed = true
		socket.fireClose()
	end
end

local library = { connect = connectSocket }
if style == "unc" or style == "no_onclose" then
	WebSocket = library
elseif style == "syn" then
	syn = { websocket = library }
elseif style == "krnl" then
	Krnl = { WebSocket = library }
elseif style == "new" then
	WebSocket = { new = connectSocket }
elseif style == "lowercase" then
	websocket = library
end

-- ------------------------------------------------------------ game, services, require
local HttpService = {}
function HttpService:JSONEncode(value)
	return py.json_encode(value)
end
function HttpService:JSONDecode(text)
	return py.json_decode(text)
end
HttpService = strict(HttpService, "HttpService")

local Players = strict({ LocalPlayer = { UserId = py.user_id, Name = "Player1" } }, "Players")
local ReplicatedStorage = {
	SessionRelay = { ClassName = "ModuleScript", Name = "SessionRelay" },
}

game = {
	PlaceId = py.place_id,
	JobId = py.job_id,
	Players = Players,
	ReplicatedStorage = ReplicatedStorage,
}
function game:GetService(name)
	if name == "HttpService" then
		return HttpService
	elseif name == "Players" then
		return Players
	elseif name == "ReplicatedStorage" then
		return ReplicatedStorage
	end
	error(tostring(name) .. " is not a valid Service name", 2)
end
function game:HttpGet(url)
	return py.http_get(url)
end
game.HttpGetAsync = game.HttpGet
game = strict(game, "DataModel")

local modules = {}
function require(module)
	if type(module) ~= "table" or module.ClassName ~= "ModuleScript" then
		error("Attempted to call require with invalid argument(s).", 2)
	end
	if modules[module] == nil then
		local chunk = assert(loadstring(py.module_source(module.Name), "=" .. module.Name))
		local result = chunk()
		if result == nil then
			error("Module code did not return exactly one value", 2)
		end
		modules[module] = result
	end
	return modules[module]
end

local function joined(...)
	local parts = table.pack(...)
	for index = 1, parts.n do
		parts[index] = tostring(parts[index])
	end
	return table.concat(parts, "\t", 1, parts.n)
end
function print(...)
	py.output("print", joined(...))
end
function warn(...)
	py.output("warn", joined(...))
end

return harness
