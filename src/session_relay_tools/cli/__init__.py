"""``session-relay``: the command line for script owners and operators.

    session-relay sessions list|get|message|disconnect   the REST API, through the SDK
    session-relay admin scripts|keys ...                  scripts and API keys, straight to DynamoDB
    session-relay dev | simulate | luau                   the local stack, the simulator, the Luau client

Expected failures (the API's errors, an unreachable URL, AWS errors) end with the error sentence on
stderr and exit status 1; usage mistakes (including ``--data`` that is not JSON) exit with 2.

Layout: ``root`` (the app, global options, ``main``) adds one sub-app per group: ``sessions`` (with
``messaging`` for sending and printing its answers), ``admin``, and ``dev`` (``dev``, ``simulate`` and
``luau``); ``output`` and ``options`` are shared by all, and ``session_relay_tools.plain_help`` keeps
every help screen in plain words.
"""

from session_relay_tools.cli.root import app, main

__all__ = ["app", "main"]
