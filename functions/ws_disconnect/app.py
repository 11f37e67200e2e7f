"""Lambda entry point of the WebSocket route $disconnect.

Forget the connection, its session and its pending messages.
"""

from aws_lambda_powertools.logging import correlation_paths
from session_relay.observability import logger, publish_metrics, tracer
from session_relay.websocket import events, handshake


# Events carry the client's identity (user key, Roblox id): never log them, whatever
# POWERTOOLS_LOGGER_LOG_EVENT says.
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
@publish_metrics
def handler(event, context):
    return handshake.disconnect(events.WebSocketEvent.parse(event))
