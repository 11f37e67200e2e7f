"""The relay in-process, as deployed: the four Lambda handlers, the real store and the real
Management API gateway, with ``faults`` under DynamoDB's client and the fake Management API answering
at botocore's hook of the Management API client (see support.faults, support.management)."""

from typing import Any

from session_relay import aws, settings, store
from session_relay.clock import now_ms

from session_relay_tools.local import functions
from support.clients import Behaviour, LambdaRoutes, SimulatedClient, echo
from support.environment import MANAGEMENT_API_URL
from support.events import connect_event, new_connection_id
from support.faults import DynamoDBFaults
from support.functions import Handler, LambdaContext
from support.management import FakeManagementApi
from support.owners import make_owner
from support.rest import RestCaller, RestResponse
from support.tables import scan


class Relay:
    """The deployed handlers in-process, with ``faults`` under DynamoDB and ``management`` standing in
    for API Gateway's Management API. Build it once the environment is set and the caches cleared."""

    def __init__(self, handlers: dict[str, Handler], dynamodb: Any) -> None:
        self.handlers = handlers
        self.dynamodb = dynamodb  # a raw client on the same database, without faults
        self.store = store.get_store()
        self.faults = DynamoDBFaults()
        self.management = FakeManagementApi(routes=LambdaRoutes(handlers))
        self.store.client.meta.events.register_first("before-send.dynamodb", self.faults)
        self.management_client = aws.management_client(MANAGEMENT_API_URL)
        self.management_client.meta.events.register_first(
            "before-send.apigatewaymanagementapi", self.management
        )
        owner = make_owner(self.store, name="faults")
        self.script_id = owner.script_id
        self.api_key = owner.api_key
        self.rest = RestCaller(handlers["rest_api"])

    # ---------------------------------------------------------------- WebSocket side

    def connect(self, behaviour: Behaviour = echo, **query: Any) -> SimulatedClient:
        """A client's handshake through ``ws_connect``; the client then answers with ``behaviour``."""
        connection_id = new_connection_id()
        event = connect_event(connection_id, self.script_id, **{k: str(v) for k, v in query.items()})
        answer = self.handlers["ws_connect"](event, LambdaContext(function_name="ws_connect"))
        assert answer["statusCode"] == 200, answer
        session_id = self.store.sessions.session_id_for_connection(connection_id)
        assert session_id is not None
        return self.management.connect(connection_id, session_id, behaviour)

    def hang_up(self, client: SimulatedClient) -> None:
        """The client leaves: the gateway forgets the connection and runs ``$disconnect``."""
        client.hang_up()

    def invoke_frame(self, connection_id: str, body: str) -> Any:
        return self.management.routes.frame(connection_id, body)

    # ---------------------------------------------------------------- REST side

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        context: functions.LambdaContext | None = None,
        api_key: str | None = None,
    ) -> RestResponse:
        """``method path`` with this relay's key (or ``api_key``), arrived at API Gateway just now."""
        return self.rest.request(
            method,
            path,
            headers={"Authorization": f"Bearer {api_key or self.api_key}"},
            json_body=body,
            context=context,
            arrival_ms=now_ms(),
        )

    def message(
        self,
        session_id: str,
        key: str = "echo",
        data: Any = None,
        context: functions.LambdaContext | None = None,
        **extra: Any,
    ) -> RestResponse:
        body = {"key": key, **({} if data is None else {"data": data}), **extra}
        return self.request("POST", f"/sessions/{session_id}/message", body, context)

    def message_many(
        self,
        session_ids: list[str],
        key: str = "echo",
        data: Any = None,
        context: functions.LambdaContext | None = None,
        **extra: Any,
    ) -> RestResponse:
        body = {"session_ids": session_ids, "key": key, **({} if data is None else {"data": data}), **extra}
        return self.request("POST", "/sessions/message", body, context)

    # ---------------------------------------------------------------- looking under the store

    def items(self, logical_table: str) -> list[dict[str, Any]]:
        tables = settings.get_settings()
        table = {"sessions": tables.sessions_table, "connections": tables.connections_table}[logical_table]
        return scan(self.dynamodb, table)

    def pending_messages(self) -> list[dict[str, Any]]:
        return [item for item in self.items("connections") if item.get("status", {}).get("S") == "pending"]

    def leftovers(self) -> list[dict[str, Any]]:
        """The connections table less idle lease items (an API key's item holding no lease, which
        DynamoDB's TTL deletes): every message, connection item and lease still held."""
        return [
            item
            for item in self.items("connections")
            if not (item["connection_id"]["S"].startswith("inflight#") and item.get("held") == {"N": "0"})
        ]

    def messages(self) -> list[dict[str, Any]]:
        return [item for item in self.items("connections") if item["item"]["S"].startswith("message#")]
