"""Lambda entry point of the webhook deliveries: the webhook FIFO queue (an SQS event source mapping
with ReportBatchItemFailures) into signed POSTs to the owners' URLs; a failed delivery stays on the
queue with its backoff as visibility timeout, until the dead-letter queue keeps it as a failure.
"""

from session_relay.observability import logger, publish_metrics, tracer
from session_relay.service.webhooks_sender import Sender
from session_relay.store import get_store


# Messages carry the sessions' identities (user keys, Roblox ids): never log them.
@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
@publish_metrics
def handler(event, context):
    return Sender(get_store()).handle(event.get("Records", []))
