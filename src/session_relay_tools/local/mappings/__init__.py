"""Lambda event source mappings on the local stack: SQS queues and DynamoDB streams delivered to their
functions as Lambda delivers them (``engine.LocalMappings``; how and why: docs/design.md)."""

from session_relay_tools.local.mappings.engine import LocalMappings

__all__ = ["LocalMappings"]
