"""The peer for perspective: the same owner round trip through python-socketio's ``call()``.

A long-lived server (what a user might pick instead of a serverless relay): an HTTP route takes the
owner's request and ``call()``s the connected client's ``echo`` handler, which answers with its data.
Client and server run on loopback, like the local stack.
"""

import asyncio
import json
import threading
import time
from typing import Any

import httpx
import socketio
import uvicorn

from bench.stats import summarize


def _server_app() -> tuple[Any, socketio.AsyncServer]:
    sio = socketio.AsyncServer(async_mode="asgi")
    clients: list[str] = []

    @sio.event
    async def connect(sid: str, environ: dict, auth: Any = None) -> None:
        clients.append(sid)

    async def http(scope: dict, receive: Any, send: Any) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        data = json.loads(body or b"null")
        response = await sio.call("echo", data, to=clients[-1], timeout=60)
        payload = json.dumps({"success": True, "processed": True, "response": response}).encode()
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    return socketio.ASGIApp(sio, other_asgi_app=http), sio


def measure(port: int, count: int = 200) -> dict[str, Any]:
    """p50/p99 of ``count`` sequential owner requests answered through ``call()`` (ms)."""
    app, _ = _server_app()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", lifespan="off")
    )
    server_thread = threading.Thread(target=server.run, daemon=True)
    server_thread.start()
    while not server.started:
        time.sleep(0.02)

    loop = asyncio.new_event_loop()
    client_thread = threading.Thread(target=loop.run_forever, daemon=True)
    client_thread.start()
    client = socketio.AsyncClient()

    @client.event
    async def echo(data: Any) -> Any:
        return data

    asyncio.run_coroutine_threadsafe(
        client.connect(f"http://127.0.0.1:{port}", transports=["websocket"]), loop
    ).result(30)
    latencies = []
    with httpx.Client(base_url=f"http://127.0.0.1:{port}") as http:
        for index in range(count + 20):
            started = time.perf_counter()
            answer = http.post("/message", json={"n": index})
            elapsed = (time.perf_counter() - started) * 1000
            assert answer.json()["response"] == {"n": index}
            if index >= 20:  # warm-up excluded
                latencies.append(elapsed)
    asyncio.run_coroutine_threadsafe(client.disconnect(), loop).result(30)
    loop.call_soon_threadsafe(loop.stop)
    server.should_exit = True
    server_thread.join(10)
    return summarize(latencies)
