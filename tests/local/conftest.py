"""A template of the tests' own: one REST function and one WebSocket route, on the real local gateways."""

from pathlib import Path

import httpx
import pytest

from session_relay_tools.local import moto_json, moto_queries, moto_updates
from session_relay_tools.local.embedded_database import InProcessDatabase
from session_relay_tools.local.functions import FunctionHost
from session_relay_tools.local.process import free_port
from session_relay_tools.local.rest_gateway import RestGateway

HANDLERS = Path(__file__).parent / "handlers"
TEMPLATE = """
Parameters:
  WebSocketReserved:
    Type: Number
    Default: {reserved}
Conditions:
  HasReserved: !Not [!Equals [!Ref WebSocketReserved, 0]]
Resources:
  Api:
    Type: AWS::Serverless::Api
    Properties:
      DefinitionBody:
        paths:
          /{{proxy+}}:
            x-amazon-apigateway-any-method:
              x-amazon-apigateway-integration:
                uri: !Sub "arn:aws:lambda:path/functions/${{RestFunction.Arn}}/invocations"
  RestFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: {handlers}
      Handler: app.rest
      Timeout: 30
{routes}  Integration:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      IntegrationUri: !Sub "arn:aws:lambda:path/functions/${{WsFunction.Arn}}/invocations"
  WsFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: {handlers}
      Handler: app.websocket
      Timeout: 30
      ReservedConcurrentExecutions: !If [HasReserved, !Ref WebSocketReserved, !Ref AWS::NoValue]
"""
ROUTE = """  {name}:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      RouteKey: {key}
      Target: !Sub "integrations/${{Integration}}"
"""


def template_text(reserved: int = 0, route_keys: tuple[str, ...] = ("$default",)) -> str:
    """The tests' template: the REST function, and the WebSocket function behind ``route_keys``."""
    routes = "".join(ROUTE.format(name=f"Route{index}", key=key) for index, key in enumerate(route_keys))
    return TEMPLATE.format(reserved=reserved, handlers=HANDLERS, routes=routes)


@pytest.fixture
def make_host(tmp_path):
    hosts = []

    def make(concurrency: int, reserved: int = 0) -> FunctionHost:
        path = tmp_path / f"template-{len(hosts)}.yaml"
        path.write_text(template_text(reserved))
        hosts.append(FunctionHost(path, concurrency=concurrency))
        return hosts[-1]

    yield make
    for host in hosts:
        host.close()


@pytest.fixture
def rest_client():
    def client(host: FunctionHost, integration_timeout_s: float = 10) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=RestGateway(host, integration_timeout_s))
        return httpx.AsyncClient(transport=transport, base_url="http://rest.local", timeout=30)

    return client


def reset_in_process_moto() -> None:
    """moto's DynamoDB emptied and its patches undone (moto's backends live as long as the process)."""
    from moto.backends import get_backend

    get_backend("dynamodb").reset()
    for module in (moto_queries, moto_json, moto_updates):
        module.uninstall()


@pytest.fixture
def in_process_database():
    """The embedded database in this test's process (``InProcessDatabase``) on a free port."""
    database = InProcessDatabase("127.0.0.1", free_port())
    database.start()
    yield database
    database.stop()
    reset_in_process_moto()
