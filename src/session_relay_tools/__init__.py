"""Session Relay tooling: the local stack, the executor simulator, the Luau client's stand-in, the soak
driver, and the repository's ``session-relay`` (the client's command plus the development ones).

Not deployed: the Lambda functions use only the ``session_relay`` layer package. The SDK and the
owners' CLI are the ``session_relay_client`` package (clients/python).
"""
