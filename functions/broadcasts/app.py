"""Lambda entry point of the broadcast worker: batches of the broadcast queue (an SQS event source
mapping), each message planned, posted or decided by ``session_relay.service.broadcasts_worker``."""

from session_relay.observability import logger, publish_metrics, tracer
from session_relay.service.broadcasts_worker import handle_batch
from session_relay.service.wiring import get_worker


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
@publish_metrics
def handler(event, context):
    return handle_batch(get_worker(), event)
