"""The repository's ``session-relay``: the owners' command line (``session_relay_client.cli``:
``sessions``, ``admin``) plus the development commands ``dev``, ``simulate`` and ``luau``.

    session-relay sessions list|get|message|disconnect   the REST API, through the SDK
    session-relay admin scripts|keys ...                  scripts and API keys, straight to DynamoDB
    session-relay dev | simulate | luau                   the local stack, the simulator, the Luau client

An owner installs only the client (clients/python: ``pip install ./clients/python``), which has the
same command without the development ones.
"""

from session_relay_client.cli.root import build_app

from session_relay_tools.cli import dev

app = build_app()
dev.register(app)


def main() -> None:
    """The repository's ``session-relay`` console script."""
    app(prog_name="session-relay")


__all__ = ["app", "main"]
