"""Lambda entry point of the REST API: API Gateway REST proxy events into the FastAPI app."""

from aws_lambda_powertools.logging import correlation_paths
from mangum import Mangum
from session_relay.api import app
from session_relay.observability import logger, publish_metrics, tracer

asgi = Mangum(app, lifespan="off")


# Events carry the owner's API key: never log them, whatever POWERTOOLS_LOGGER_LOG_EVENT says.
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
@publish_metrics
def handler(event, context):
    return asgi(event, context)
