"""Lambda entry point of the owner events: the sessions table's change stream (a DynamoDB stream event
source mapping) into the webhook FIFO queue, for the scripts whose webhooks want them.

A failure raises: the mapping retries the batch, bisecting it, and sends what still fails to its
on-failure destination (template.yaml, EventsFunction).
"""

from session_relay.observability import logger, publish_metrics, tracer
from session_relay.service.webhooks_events import publish
from session_relay.store import get_store


# Records carry the sessions' identities (user keys, Roblox ids): never log them.
@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
@publish_metrics
def handler(event, context):
    return {"queued": publish(get_store(), event.get("Records", []))}
