"""``session-relay``: the command line for script owners and operators.

    session-relay sessions list|get|message|disconnect|result   the REST API, through the SDK
    session-relay bans add|list|lift                             bans, through the SDK
    session-relay admin scripts|keys ...                         scripts and API keys, straight to
                                                                 DynamoDB (the ``admin`` extra: boto3)

Expected failures (the API's errors, an unreachable URL, AWS errors) end with the error sentence on
stderr and exit status 1; usage mistakes (including ``--data`` that is not JSON) exit with 2.

Layout: ``root`` (the app, global options, ``main``) adds one sub-app per group: ``sessions`` (with
``messaging`` and ``filtered`` for sending and printing its answers), ``bans`` and ``admin``; ``output`` and
``options`` are shared by all, and ``plain_help`` keeps every help screen in plain words. The
repository's own ``session-relay`` (``session_relay_tools.cli``) adds the development commands.
"""

from session_relay_client.cli.root import app, build_app, main

__all__ = ["app", "build_app", "main"]
