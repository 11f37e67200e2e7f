"""Many simulated clients on a background event loop, for synchronous tests and benchmarks."""

import asyncio
import itertools
import threading
from collections.abc import Awaitable
from typing import Any

from session_relay_tools.open_files import allow_many_open_files
from session_relay_tools.simulate.client import SimulatedClient, identity_for


class Fleet:
    """Many simulated clients on a background event loop, for synchronous tests and benchmarks (it
    raises the process's soft limit on open files: a client is a socket)."""

    def __init__(self, url: str, script_id: str, **client_options: Any) -> None:
        allow_many_open_files()
        self.url = url
        self.script_id = script_id
        self.client_options = client_options
        self.clients: list[SimulatedClient] = []
        self._counter = itertools.count()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True, name="fleet")
        self._thread.start()

    def _call(self, coroutine: Awaitable[Any], timeout: float = 60) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def connect(
        self, count: int, identity: dict[str, Any] | None = None, **options: Any
    ) -> list[SimulatedClient]:
        """Connect ``count`` clients and wait for each hello; returns them."""

        async def start() -> list[SimulatedClient]:
            new = []
            for _ in range(count):
                index = next(self._counter)
                client = SimulatedClient(
                    self.url,
                    identity or identity_for(self.script_id, index),
                    **{**self.client_options, **options},
                )
                client.task = asyncio.create_task(client.run())
                new.append(client)
            await asyncio.gather(*(client.hello.wait() for client in new))
            refused = [client for client in new if client.session_id is None]
            if refused:
                await asyncio.gather(*(client.stop() for client in new), return_exceptions=True)
                await asyncio.gather(*(client.task for client in new), return_exceptions=True)
                raise ConnectionError(
                    f"{len(refused)} of {count} simulated clients did not connect: {refused[0].ending()}"
                )
            return new

        clients = self._call(start())
        self.clients.extend(clients)
        return clients

    def close(self, client: SimulatedClient) -> None:
        async def stop() -> None:
            await client.stop()
            await client.closed.wait()

        self._call(stop())

    def stop(self) -> None:
        async def stop_all() -> None:
            await asyncio.gather(*(client.stop() for client in self.clients), return_exceptions=True)
            await asyncio.gather(*(client.task for client in self.clients), return_exceptions=True)

        self._call(stop_all())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
