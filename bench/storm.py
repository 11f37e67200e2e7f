"""Reconnect storms, measured with the real Luau client (``clients/luau/SessionRelay.lua``) in Luau VMs.

1. Rotations (virtual time, no server): a fleet that connected in the same second replaces its
   connections before API Gateway's 2-hour cap. The client draws each rotation moment from a window
   (100 to 115 minutes); the client before it rotated at a fixed age (6,900 s), so the whole fleet
   rotated in one second. The figure is the largest number of rotations in any one second.
2. A drop (real time, the local stack with ``SESSION_RELAY_CONNECT_RATE`` lowered): every client's
   connection closes at once and all reconnect, refused with ``429`` beyond the rate and backing off
   with full jitter. Measured: the time until every client has a new session, against
   clients / rate (the least the rate allows), how many handshakes were refused, whether any client
   gave up, and whether any user ended up with two sessions.

    python -m bench.storm [--clients 2000] [--rate 20] [--fleet 2000]   (updates docs/benchmarks.md)
"""

import argparse
import json
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from bench import storm_report
from bench.packaging import ROOT
from bench.storm_report import write_section
from session_relay_tools.local.process import start_stack, stop_stack
from session_relay_tools.luau.executor import LuauExecutor

CLIENT_PATH = ROOT / "clients" / "luau" / "SessionRelay.lua"
# The client as it was before rotation windows: every connection replaced at 6,900 s.
FIXED_AGE_COMMIT = storm_report.FIXED_AGE_COMMIT

# A transport in Luau standing in for API Gateway (no server): answers hello, ping and declarations,
# and counts connects per second of the executor's clock.
FAKE_GATEWAY = """
CONNECTS = {}
START = NOW()
local count = 0
function FAKE_CONNECT(url)
	count += 1
	local second = math.floor(NOW() - START)
	CONNECTS[second] = (CONNECTS[second] or 0) + 1
	local handlers, socket = {}, { open = true }
	socket.OnMessage = { Connect = function(_, fn) table.insert(handlers, fn) end }
	socket.OnClose = { Connect = function() end }
	local function deliver(text)
		for _, fn in ipairs(handlers) do
			task.spawn(fn, text)
		end
	end
	function socket:Send(text)
		if string.find(text, '"hello"', 1, true) then
			task.defer(deliver, '{"type":"hello","session":{"id":"s' .. count .. '"}}')
		elseif string.find(text, '"ping"', 1, true) then
			task.defer(deliver, '{"type":"pong"}')
		elseif string.find(text, '"functions"', 1, true) then
			task.defer(deliver, '{"type":"functions","count":1}')
		end
	end
	function socket:Close()
		socket.open = false
	end
	return socket
end
"""

CONNECT_MANY = """
local R = require(game:GetService("ReplicatedStorage").SessionRelay)
SESSIONS = SESSIONS or {}
for index = FIRST, LAST do
	local options = { url = URL, script_id = SCRIPT_ID, user_key = "storm-" .. index, debug = false }
	if FAKE_CONNECT then
		options.websocket_connect = FAKE_CONNECT
	end
	local session = R.connect(options)
	session:register("echo", function(data) return data end)
	SESSIONS[index] = session
end
"""


class VirtualVM(LuauExecutor):
    """A Luau VM whose clock the bench moves forward."""

    def advance(self, seconds: float) -> None:
        self._offset += seconds
        self.pump()


def fixed_age_client(directory: Path) -> Path:
    """The client file of ``FIXED_AGE_COMMIT``, written into ``directory``."""
    source = subprocess.run(
        ["git", "show", f"{FIXED_AGE_COMMIT}:clients/luau/SessionRelay.lua"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    path = directory / "SessionRelay-fixed-age.lua"
    path.write_text(source)
    return path


def rotation_peak(fleet: int, client_path: Path, vms: int = 10) -> dict[str, Any]:
    """Connect ``fleet`` clients in one second (``vms`` VMs, each on its own clock), then run each clock
    from timer to timer through the rotation window (each timer fires at its own moment); returns the
    rotations per second of the fleet."""
    machines = [VirtualVM(client_path=client_path) for _ in range(vms)]
    try:
        per_vm = fleet // vms
        per_second: Counter[int] = Counter()
        for vm in machines:
            vm.set_globals(NOW=vm._fn(vm.now))
            vm.exec(FAKE_GATEWAY)
            vm.exec(CONNECT_MANY, FIRST=1, LAST=per_vm, URL="wss://fake", SCRIPT_ID="storm")
            start = vm.eval("return START")
            vm.advance(5990 - (vm.now() - start))
            while (due := vm.pump()) is not None and due - start < 6910:
                vm.advance(max(due - vm.now(), 0))
            for second, count in (vm.eval("return CONNECTS") or {}).items():
                per_second[int(second)] += count  # seconds since the VM's clients connected
        rotations = {second: count for second, count in per_second.items() if second >= 60}
        assert sum(rotations.values()) == per_vm * vms, "every client rotates exactly once"
        return {
            "clients": per_vm * vms,
            "peak_per_second": max(rotations.values()),
            "seconds_with_rotations": len(rotations),
            "first_s": min(rotations),
            "last_s": max(rotations),
        }
    finally:
        for vm in machines:
            vm.close()


def run_real(vms: list[LuauExecutor], until: Any, timeout_s: float, each_second: Any = None) -> float:
    """Pump every VM until ``until()`` is true, calling ``each_second(n)`` once a second; returns the
    seconds it took (raises on timeout)."""
    started = time.monotonic()
    second = 0
    while not until():
        for vm in vms:
            vm.pump()
        elapsed = time.monotonic() - started
        if elapsed > timeout_s:
            raise TimeoutError(f"not done within {timeout_s} s")
        if each_second is not None and elapsed >= second:
            each_second(second)
            second += 1
        time.sleep(0.002)
    return time.monotonic() - started


def progress(what: str, vms: list[LuauExecutor]) -> Any:
    def report(second: int) -> None:
        if second % 10 == 0:
            connected = sum(1 for session_id in session_ids(vms) if session_id)
            print(f"  {what}: {connected} connected after {second} s", flush=True)

    return report


def joining(vms: list[LuauExecutor], stack: Any, per_vm: int, rate: int) -> tuple[Any, Any]:
    """Players join over time, the rate's worth a second: ``(join(second), done())``."""
    joined = [0] * len(vms)
    report = progress("joining", vms)

    def join(second: int) -> None:
        for number, vm in enumerate(vms):
            first = number * per_vm + joined[number] + 1
            last = min(number * per_vm + per_vm, first + max(rate // len(vms), 1) - 1)
            if first <= last:
                vm.exec(CONNECT_MANY, FIRST=first, LAST=last, URL=stack.ws_url, SCRIPT_ID=stack.script_id)
                joined[number] += last - first + 1
        report(second)

    def done() -> bool:
        return sum(joined) == per_vm * len(vms) and all(session_ids(vms))

    return join, done


SETTLE_S = 5
IDS = "local ids = {} for _, s in SESSIONS do table.insert(ids, s.id or false) end return ids"
GAVE_UP = "local n = 0 for _, s in SESSIONS do if s.closed then n += 1 end end return n"


def session_ids(vms: list[LuauExecutor]) -> list[Any]:
    """Every client's session id, False for one not connected."""
    return [session_id for vm in vms for session_id in vm.eval(IDS)]


def listed_user_keys(stack: Any) -> Counter[str]:
    """The user keys of every live session of the stack's script (one count per session)."""
    keys: Counter[str] = Counter()
    cursor = None
    with httpx.Client(base_url=stack.rest_url, headers={"Authorization": f"Bearer {stack.api_key}"}) as api:
        while True:
            params = {"limit": "1000", **({"cursor": cursor} if cursor else {})}
            page = api.get("/sessions", params=params, timeout=60).json()
            keys.update(session["user_key"] for session in page["sessions"])
            cursor = page["next_cursor"]
            if cursor is None:
                return keys


def aftermath(vms: list[LuauExecutor], stack: Any, refused_before: int) -> dict[str, Any]:
    """After the fleet is back: refusals, clients that gave up or hold two connections, and what the
    server lists (a session whose $disconnect Lambda refused stays listed: API Gateway does not retry)."""
    refused = sum(record.state == "failed" for vm in vms for record in vm.sockets.values())
    open_per_vm = [len(vm.open_sockets()) for vm in vms]
    keys = listed_user_keys(stack)
    clients = sum(len(vm.eval(IDS)) for vm in vms)
    return {
        "refused_429": refused - refused_before,
        "gave_up": sum(vm.eval(GAVE_UP) for vm in vms),
        "connections_open": sum(open_per_vm),
        "sessions_listed": sum(keys.values()),
        "stale_sessions_listed": sum(keys.values()) - clients,
        "disconnects_lost": sum("$disconnect not invoked" in line for line in stack.output),
    }


def drop_storm(clients: int, rate: int, vms: int = 4) -> dict[str, Any]:
    """``clients`` Luau clients on the local stack admitting ``rate`` handshakes a second: connected,
    then every connection closed at once; how the fleet comes back."""
    stack = start_stack({"SESSION_RELAY_CONNECT_RATE": str(rate)})
    machines = [LuauExecutor(client_path=CLIENT_PATH) for _ in range(vms)]
    try:
        per_vm = clients // vms
        join, joined = joining(machines, stack, per_vm, rate)
        connect_s = run_real(machines, joined, 900, join)
        before = set(session_ids(machines))
        refused_before = sum(record.state == "failed" for vm in machines for record in vm.sockets.values())
        for vm in machines:  # the network drops every connection at once
            for record in vm.open_sockets():
                vm.bridge.close(record.handle)

        def all_back() -> bool:
            now = session_ids(machines)
            return all(now) and not (set(now) & before)

        back_s = run_real(machines, all_back, 1200, progress("reconnecting", machines))
        time.sleep(SETTLE_S)  # $disconnects still on their way land before the listing
        return {
            "clients": per_vm * vms,
            "rate_per_s": rate,
            "first_connect_s": round(connect_s, 1),
            "reconnect_s": round(back_s, 1),
            "floor_s": round(per_vm * vms / rate, 1),
            **aftermath(machines, stack, refused_before),
        }
    finally:
        for vm in machines:
            vm.close()
        stop_stack(stack)


def measure(clients: int, rate: int, fleet: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as directory:
        fixed = rotation_peak(fleet, fixed_age_client(Path(directory)))
    return {
        "rotation_window": rotation_peak(fleet, CLIENT_PATH),
        "rotation_fixed_age": fixed,
        "drop": drop_storm(clients, rate),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="Reconnect storms of the Luau client.")
    parser.add_argument("--clients", type=int, default=2000, help="clients dropped at once (default 2000)")
    parser.add_argument("--rate", type=int, default=20, help="SESSION_RELAY_CONNECT_RATE (default 20)")
    parser.add_argument("--fleet", type=int, default=2000, help="clients rotating (default 2000)")
    args = parser.parse_args()
    results = measure(args.clients, args.rate, args.fleet)
    (ROOT / "bench" / "storm.json").write_text(json.dumps(results, indent=2) + "\n")
    write_section(results, ROOT / "docs" / "benchmarks.md")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
