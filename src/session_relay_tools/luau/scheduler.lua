-- The Roblox `task` library on the executor's clock (first half of the executor's prelude;
-- executor.lua follows it in the same chunk). `py` holds the Python side's functions.
local py = ...
local now = py.now
local FRAME = 1 / 60

-- ------------------------------------------------------------ scheduler (task library)
local timers = {}      -- sorted by (at, seq)
local deferred = {}
local pending = {}     -- thread -> the timer entry allowed to resume it
local ioWaiters = {}   -- socket handle -> thread waiting in WebSocket.connect
local seq = 0

local function resume(thread, ...)
	if coroutine.status(thread) ~= "suspended" then
		return
	end
	local ok, err = coroutine.resume(thread, ...)
	if not ok then
		py.report_error(tostring(err), debug.traceback(thread))
	end
end

local function schedule(at, thread, args)
	seq += 1
	local entry = { at = at, seq = seq, thread = thread, args = args }
	local lo, hi = 1, #timers
	while lo <= hi do
		local mid = (lo + hi) // 2
		if timers[mid].at <= at then
			lo = mid + 1
		else
			hi = mid - 1
		end
	end
	table.insert(timers, lo, entry)
	pending[thread] = entry
	return entry
end

local function asThread(fn)
	if type(fn) == "thread" then
		return fn
	elseif type(fn) == "function" then
		return coroutine.create(fn)
	end
	error("task: expected a function or a thread, got " .. typeof(fn), 3)
end

task = {}

function task.spawn(fn, ...)
	local thread = asThread(fn)
	pending[thread] = nil
	resume(thread, ...)
	return thread
end

function task.defer(fn, ...)
	local thread = asThread(fn)
	table.insert(deferred, { thread = thread, args = table.pack(...) })
	return thread
end

function task.delay(seconds, fn, ...)
	local thread = asThread(fn)
	schedule(now() + math.max(tonumber(seconds) or 0, 0), thread, table.pack(...))
	return thread
end

function task.wait(seconds)
	local started = now()
	schedule(started + math.max(tonumber(seconds) or 0, FRAME), coroutine.running(), { n = 0 })
	coroutine.yield()
	return now() - started
end

function task.cancel(thread)
	pending[thread] = nil
	if coroutine.status(thread) == "suspended" then
		coroutine.close(thread)
	elseif coroutine.status(thread) ~= "dead" then
		error("cannot cancel a running thread", 2)
	end
end

wait = task.wait
spawn = task.defer
delay = task.delay

local harness = {}

-- Runs deferred threads and timers due now; returns the next timer's time and whether work is queued.
function harness.step()
	local batch = deferred
	deferred = {}
	for _, entry in ipairs(batch) do
		resume(entry.thread, table.unpack(entry.args, 1, entry.args.n))
	end
	local t = now()
	local due = {}
	while #timers > 0 and timers[1].at <= t do
		table.insert(due, table.remove(timers, 1))
	end
	for _, entry in ipairs(due) do
		if pending[entry.thread] == entry then
			pending[entry.thread] = nil
			resume(entry.thread, table.unpack(entry.args, 1, entry.args.n))
		end
	end
	return if #timers > 0 then timers[1].at else nil, #deferred > 0
end

function harness.spawn(fn, ...)
	return task.spawn(fn, ...)
end
