"""The WebSocket side (PROTOCOL.md section 2), imported by the three ``ws_*`` functions and free of
pydantic (their cold start pays only for what they use): ``events`` (API Gateway's event shapes),
``handshake`` (``$connect`` and ``$disconnect``), ``frames`` (client frames on ``$default``) and
``floods`` (the per-connection frame rate).
"""
