"""``session-relay webhook listen --port P``: a local webhook receiver. Each delivery's signature is
checked with the secret (``verify_webhook``: a bad or stale one is answered 401 and reported on stderr),
and each event is printed as it arrives (one JSON line each with --json)."""

import json
import os
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Annotated, Any

import typer

from session_relay_client.cli.output import GlobalOptions
from session_relay_client.webhooks import SIGNATURE_HEADER, InvalidSignature, verify_webhook

MAX_BODY = 10 * 1024 * 1024


def _line(event: dict[str, Any]) -> str:
    data = event.get("data") or {}
    reason = f" ({data['reason']})" if isinstance(data, dict) and data.get("reason") else ""
    subject = data.get("id", "") if isinstance(data, dict) else ""
    return f"{event.get('type')} {subject}{reason} [{event.get('id')}]"


def _handler(secret: str, as_json: bool, server_state: dict[str, int]) -> type[BaseHTTPRequestHandler]:
    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # http.server's name
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(min(length, MAX_BODY))
            try:
                events = verify_webhook(secret, body, self.headers.get(SIGNATURE_HEADER))
            except InvalidSignature as exc:
                typer.echo(f"refused a delivery: {exc}", err=True)
                self._answer(401)
                return
            for event in events:
                typer.echo(json.dumps(event, ensure_ascii=False) if as_json else _line(event))
            server_state["events"] += len(events)
            self._answer(200)

        def _answer(self, status: int) -> None:
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return None

    return Receiver


def listen(
    ctx: typer.Context,
    port: Annotated[int, typer.Option("--port", metavar="P", help="Port to listen on (127.0.0.1).")],
    secret: Annotated[
        str | None,
        typer.Option(
            "--secret",
            metavar="SECRET",
            envvar="SESSION_RELAY_WEBHOOK_SECRET",
            show_default=False,
            help="The webhook's secret (whsec_...), as set or rotate showed it.",
        ),
    ] = None,
    host: Annotated[str, typer.Option("--host", metavar="HOST", help="Address to bind.")] = "127.0.0.1",
    count: Annotated[
        int | None,
        typer.Option("--count", metavar="N", help="Stop after N events (default: run until Ctrl-C)."),
    ] = None,
    json_flag: Annotated[
        bool, typer.Option("--json", help="One JSON document per event, a line each.")
    ] = False,
) -> None:
    """Receive webhook deliveries locally: check each signature and print the events as they arrive
    (point the webhook at http://127.0.0.1:P/ on the local stack)."""
    secret = secret or os.environ.get("SESSION_RELAY_WEBHOOK_SECRET")
    if not secret:
        raise typer.BadParameter("pass --secret or set SESSION_RELAY_WEBHOOK_SECRET", param_hint="--secret")
    settings = ctx.find_object(GlobalOptions) or GlobalOptions()
    state = {"events": 0}
    # One delivery at a time, in arrival order (and --count is exact).
    server = HTTPServer((host, port), _handler(secret, settings.json or json_flag, state))
    typer.echo(f"listening on http://{host}:{server.server_address[1]}/", err=True)
    try:
        while count is None or state["events"] < count:
            server.handle_request()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
