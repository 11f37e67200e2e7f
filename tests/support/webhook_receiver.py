"""A webhook receiver on a free local port (a real HTTP server in a thread): it records every delivery
(path, headers, body) and answers with the status its ``answers`` list gives next (200 when empty),
after ``hang_s`` seconds (0: at once; a hanging endpoint keeps its sender waiting)."""

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Delivery:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def events(self) -> list[dict[str, Any]]:
        return json.loads(self.body)["events"]


@dataclass
class Receiver:
    server: ThreadingHTTPServer
    deliveries: list[Delivery] = field(default_factory=list)
    answers: list[tuple[int, bytes]] = field(default_factory=list)
    status: int = 200  # the answer when ``answers`` is empty
    hang_s: float = 0.0
    arrived: threading.Condition = field(default_factory=threading.Condition)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def wait_for(self, count: int, timeout_s: float = 10.0) -> list[Delivery]:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.deliveries) >= count, timeout_s)
            return list(self.deliveries)

    def events(self) -> list[dict]:
        """Every event received, in arrival order, each once (a redelivered id is dropped)."""
        seen, found = set(), []
        for delivery in list(self.deliveries):
            for event in delivery.events:
                if event["id"] not in seen:
                    seen.add(event["id"])
                    found.append(event)
        return found

    def wait_until(self, done, timeout_s: float = 20.0) -> list[dict]:
        """The events once ``done(events)`` holds (or ``timeout_s`` passed)."""
        with self.arrived:
            self.arrived.wait_for(lambda: done(self.events()), timeout_s)
        return self.events()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def start_receiver(port: int = 0) -> Receiver:
    """Start a receiver on 127.0.0.1 and ``port`` (0: one the system picks, free by construction)."""
    holder: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            receiver = holder["receiver"]
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with receiver.arrived:
                receiver.deliveries.append(Delivery(self.path, dict(self.headers.items()), body))
                status, answer = receiver.answers.pop(0) if receiver.answers else (receiver.status, b"{}")
                receiver.arrived.notify_all()
            time.sleep(receiver.hang_s)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads, server.block_on_close = True, False  # a hanging answer never holds a stop
    receiver = holder["receiver"] = Receiver(server)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return receiver
