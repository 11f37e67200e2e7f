"""The API Gateway Management API: push frames to connections and close them."""

import time
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from session_relay.aws import management_client
from session_relay.errors import ServiceUnavailable
from session_relay.wire import dump_json

_LIMIT_RETRIES = 3


class Gateway:
    """Posts to and closes connections of one WebSocket API stage.

    ``post`` and ``close`` return False when the connection is gone (HTTP 410), which callers
    treat as "the session is dead". Throttling (``LimitExceededException``) is retried with
    backoff; what still fails raises ``ServiceUnavailable``.
    """

    def __init__(self, client: Any) -> None:
        self.client = client
        self._gone = client.exceptions.GoneException

    def post(self, connection_id: str, frame: dict[str, Any] | str) -> bool:
        """Send one frame (a dict, or JSON text already serialized)."""
        data = (frame if isinstance(frame, str) else dump_json(frame)).encode()
        return self._call(self.client.post_to_connection, ConnectionId=connection_id, Data=data)

    def close(self, connection_id: str) -> bool:
        return self._call(self.client.delete_connection, ConnectionId=connection_id)

    def _call(self, operation: Any, **kwargs: Any) -> bool:
        for attempt in range(_LIMIT_RETRIES + 1):
            try:
                operation(**kwargs)
                return True
            except self._gone:  # must come before ClientError, of which it is a subclass
                return False
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code")
                if code != "LimitExceededException" or attempt == _LIMIT_RETRIES:
                    raise ServiceUnavailable("the WebSocket gateway is unavailable, try again") from exc
            except BotoCoreError as exc:
                raise ServiceUnavailable("the WebSocket gateway is unavailable, try again") from exc
            time.sleep(0.05 * 2**attempt)
        return False  # unreachable: the loop returns or raises


def gateway_for(endpoint_url: str) -> Gateway:
    """A gateway for one stage URL (``https://{domain}/{stage}``); clients are cached per URL."""
    return Gateway(management_client(endpoint_url))
