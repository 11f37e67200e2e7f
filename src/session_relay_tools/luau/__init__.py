"""``clients/luau/SessionRelay.lua`` in a real Luau VM outside Roblox, with what an executor gives a
script (``task``, ``WebSocket``, ``HttpService``, ``game``): ``executor.LuauExecutor``.

    python -m session_relay_tools.luau --script-id demo   (against make dev; Ctrl-C stops it)

Nothing is imported here, so that ``session-relay`` loads the Luau VM only for ``session-relay luau``.
"""
