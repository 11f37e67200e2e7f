"""A handler that imports the product's layer: it answers which objects its environment holds."""

import time

from session_relay import aws, observability
from session_relay.websocket import floods, frames


def handler(event, context):
    """Sleeps ``sleep_s``; answers the ids of this environment's frame limiter and session map, its
    metrics' wrapper class and the DynamoDB client its ``session_relay.aws`` makes."""
    time.sleep(event.get("sleep_s", 0))
    return {
        "frame_rate": id(floods.frame_rate),
        "sessions_by_connection": id(frames._sessions_by_connection),
        "metrics": type(observability.metrics).__name__,
        "dynamodb_client": id(aws.dynamodb_client()),
    }
