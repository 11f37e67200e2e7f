"""What the product does, free of FastAPI, Starlette and Mangum: who owns what (``access``), messaging
one, many or later (``messaging``, ``later``, all through ``delivery``, the one delivery core),
disconnects, deadlines, fitting answers to 6 MB, idempotency and calls in flight (``calls``).

The REST routes call the cached services of ``wiring``, one call per route; tests build their own
with fake clocks, stores or gateways. Nothing is imported here: the WebSocket functions import
``service.connections`` alone.
"""
