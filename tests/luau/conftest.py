"""Fixtures for the Luau client's tests: harnessed Luau VMs, and clients connected to the local stack."""

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from session_relay.wire import parse_json

from luau.harness import CLIENT_PATH, FRAME_LIMIT_BYTES, LuauHarness

LOADSTRING_URL = "https://relay.example/clients/luau/SessionRelay.lua"

# Loads the client as a ModuleScript (or through loadstring), connects, and records every event.
CONNECT = """
SessionRelay = if VIA_LOADSTRING
	then loadstring(game:HttpGet(LOADSTRING_URL))()
	else require(game:GetService("ReplicatedStorage").SessionRelay)
events = {}
local options = { url = URL, script_id = SCRIPT_ID, user_key = USER_KEY, debug = true }
for name, value in OPTIONS do
	options[name] = value
end
session = SessionRelay.connect(options)
session.Connected:Connect(function(id)
	table.insert(events, { "connected", id })
end)
session.Disconnected:Connect(function(reason, reconnect, id)
	table.insert(events, { "disconnected", reason, reconnect, id })
end)
session:register("echo", function(data)
	return data
end)
"""


# True once the functions the server last confirmed as declared are the registered ones (or there is
# nothing to wait for: closed, not connected).
DECLARED = """
if session == nil or session.closed or not session.connected then
	return true
end
local registered = {}
for name in session._functions do
	table.insert(registered, name)
end
table.sort(registered)
local confirmed = session.declared_functions
if confirmed == nil or #confirmed ~= #registered then
	return false
end
for index, name in registered do
	if confirmed[index] ~= name then
		return false
	end
end
return true
"""


@dataclass
class Relay:
    """A harnessed Luau client connected to the local stack, and the REST API that commands it."""

    harness: LuauHarness
    api: httpx.Client
    user_key: str
    seen_ids: list[str] = field(default_factory=list)

    @property
    def session_id(self) -> str | None:
        return self.harness.eval("return session.id")

    def wait_connected(self, timeout: float = 15) -> str:
        """Wait for a session id not seen before (the first one, or the one after a reconnect)."""

        def new_id() -> str | None:
            current = self.session_id
            return current if current and current not in self.seen_ids else None

        session_id = self.harness.wait_until(new_id, timeout, what=f"a new session; logs: {self.logs()}")
        self.seen_ids.append(session_id)
        return session_id

    def events(self) -> list[list[Any]]:
        return self.harness.eval("return events") or []

    def logs(self) -> list[str]:
        return self.harness.logs()

    def exec(self, source: str, **values: Any) -> None:
        """Run Luau in the client's VM; then, while connected, wait until the server has confirmed the
        declaration of every function registered (a message sent before that may be answered
        "function doesnt exist" by the server: the declaration is a frame on its way)."""
        self.harness.exec(source, **values)
        self.wait_declared()

    def wait_declared(self) -> None:
        self.harness.wait_until(
            lambda: self.harness.eval(DECLARED),
            what=f"the server to confirm the declared functions; logs: {self.logs()[-5:]}",
        )

    def rest(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """A REST call made in a worker thread while the Luau loop keeps running."""
        return self.harness.run(lambda: self.api.request(method, path, **kwargs))

    def message(self, key: str, data: Any = None, timeout: float = 10, session_id: str | None = None) -> dict:
        body: dict[str, Any] = {"key": key, "timeout": timeout}
        if data is not None:
            body["data"] = data
        sid = session_id or self.session_id
        response = self.rest("POST", f"/sessions/{sid}/message", json=body)
        assert response.status_code == 200, response.text
        return response.json()

    def get_session(self, session_id: str) -> httpx.Response:
        return self.rest("GET", f"/sessions/{session_id}")

    def listed_ids(self) -> list[str]:
        response = self.rest("GET", "/sessions", params={"user_key": self.user_key})
        assert response.status_code == 200, response.text
        return [session["id"] for session in response.json()["sessions"]]


@pytest.fixture
def luau() -> Iterator[Callable[..., LuauHarness]]:
    """Makes harnessed Luau VMs; closes them afterwards and fails on any uncaught Luau error."""
    made: list[LuauHarness] = []

    def make(**options: Any) -> LuauHarness:
        harness = LuauHarness(**options)
        harness.serve(LOADSTRING_URL, CLIENT_PATH.read_text())
        made.append(harness)
        return harness

    yield make
    for harness in made:
        harness.close()
    errors = [error for harness in made for error in harness.errors]
    assert errors == [], "uncaught Luau errors:\n" + "\n".join(errors)
    for frame in (frame for harness in made for frame in harness.sent):
        assert len(frame.text.encode()) <= FRAME_LIMIT_BYTES, "a frame over the 32 KB limit was sent"
        document = parse_json(frame.text)  # strict: no NaN, no Infinity
        assert isinstance(document, dict), frame.text
        assert "action" in document, frame.text


@pytest.fixture
def connect_relay(local_stack, api, luau) -> Callable[..., Relay]:
    """Connects a harnessed client of the stack's development script; closed by the harness afterwards."""
    counter = iter(range(1_000_000))

    def connect(
        *,
        via_loadstring: bool = False,
        wait: bool = True,
        harness_options: dict[str, Any] | None = None,
        script_id: str | None = None,
        user_key: str | None = None,
        **options: Any,
    ) -> Relay:
        harness = luau(**(harness_options or {}))
        user_key = user_key or f"luau-{time.monotonic_ns()}-{next(counter)}"
        relay = Relay(harness, api, user_key)
        harness.exec(
            CONNECT,
            name="connect",
            VIA_LOADSTRING=via_loadstring,
            LOADSTRING_URL=LOADSTRING_URL,
            URL=local_stack.ws_url,
            SCRIPT_ID=script_id or local_stack.script_id,
            USER_KEY=user_key,
            OPTIONS=options,
        )
        if wait:
            relay.wait_connected()
            relay.wait_declared()
        return relay

    return connect
