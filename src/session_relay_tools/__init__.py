"""Session Relay tooling: the local stack, the executor simulator, the Python SDK and the CLI.

Not deployed: the Lambda functions use only the ``session_relay`` layer package.
"""
