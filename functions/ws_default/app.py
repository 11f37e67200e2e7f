"""Lambda entry point of the WebSocket route $default.

Every client frame (hello, ping, reply; anything else gets an error frame).
"""

from aws_lambda_powertools.logging import correlation_paths
from session_relay.observability import logger, publish_metrics, tracer
from session_relay.websocket import events, frames

# This execution environment's own: the flood counts and sessions of the connections whose frames it ran.
kept = frames.Kept()


def handler(event, context):
    if frames.closed_for_flooding(event, kept):  # its frames cost nothing more, not even a log line
        return {"statusCode": 200, "body": ""}
    return _handle(event, context)


# Events carry the client's identity (user key, Roblox id): never log them, whatever
# POWERTOOLS_LOGGER_LOG_EVENT says.
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
@publish_metrics
def _handle(event, context):
    return frames.handle_frame(events.WebSocketEvent.parse(event), kept)
