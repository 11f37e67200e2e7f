"""The API Gateway WebSocket events the ``ws_*`` functions are invoked with, checked in plain code
(the WebSocket functions do not import pydantic): ``WebSocketEvent.parse`` keeps the parts the
handlers use, and an event of another shape raises ``InvalidEvent`` naming the part.
"""

from dataclasses import dataclass
from typing import Any

from session_relay.gateway import Gateway, gateway_for
from session_relay.settings import get_settings


class InvalidEvent(ValueError):
    """An event that is not an API Gateway WebSocket event (a wiring mistake, never client input)."""


def _text(document: dict[str, Any], name: str, *, required: bool = True) -> str | None:
    value = document.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value):
        raise InvalidEvent(f"{name} must be a non-empty string")
    return value


@dataclass(frozen=True, slots=True)
class RequestContext:
    route_key: str
    connection_id: str
    domain_name: str
    stage: str
    request_id: str | None = None
    request_time_epoch: int | None = None
    connected_at: int | None = None  # epoch ms, the same in every event of one connection


@dataclass(frozen=True, slots=True)
class WebSocketEvent:
    """The parts of an API Gateway WebSocket event the handlers use, checked by ``parse``.
    https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-mapping-template-reference.html
    """

    request_context: RequestContext
    query: dict[str, str] | None = None
    body: str | None = None
    is_base64_encoded: bool = False

    @classmethod
    def parse(cls, event: Any) -> "WebSocketEvent":
        context = event.get("requestContext") if isinstance(event, dict) else None
        if not isinstance(context, dict):
            raise InvalidEvent("requestContext must be an object")
        arrived = context.get("requestTimeEpoch")
        if arrived is not None and (type(arrived) is not int):
            raise InvalidEvent("requestTimeEpoch must be an integer")
        connected = context.get("connectedAt")
        if connected is not None and (type(connected) is not int):
            raise InvalidEvent("connectedAt must be an integer")
        query = event.get("queryStringParameters")
        if query is not None and not (
            isinstance(query, dict) and all(isinstance(value, str) for value in query.values())
        ):
            raise InvalidEvent("queryStringParameters must map names to strings")
        body = event.get("body")
        if body is not None and not isinstance(body, str):
            raise InvalidEvent("body must be a string")
        encoded = event.get("isBase64Encoded", False)
        if type(encoded) is not bool:
            raise InvalidEvent("isBase64Encoded must be a boolean")
        request_context = RequestContext(
            route_key=_text(context, "routeKey"),
            connection_id=_text(context, "connectionId"),
            domain_name=_text(context, "domainName"),
            stage=_text(context, "stage"),
            request_id=_text(context, "requestId", required=False),
            request_time_epoch=arrived,
            connected_at=connected,
        )
        return cls(request_context, query, body, encoded)

    @property
    def connection_id(self) -> str:
        return self.request_context.connection_id

    def gateway(self) -> Gateway:
        """The Management API of this event's stage (``MANAGEMENT_API_URL`` overrides it)."""
        context = self.request_context
        url = get_settings().management_api_url or f"https://{context.domain_name}/{context.stage}"
        return gateway_for(url)
