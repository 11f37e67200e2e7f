"""Read ``template.yaml`` so local tables are created from the very definitions that deploy."""

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

TEMPLATE_PATH = Path(__file__).resolve().parents[2] / "template.yaml"

# Logical id of each table -> the environment variable the handlers read its name from.
TABLE_ENVIRONMENT = {
    "SessionsTable": "SESSIONS_TABLE",
    "ConnectionsTable": "CONNECTIONS_TABLE",
    "AuthTable": "AUTH_TABLE",
    "OutcomesTable": "OUTCOMES_TABLE",
    "IdempotencyTable": "IDEMPOTENCY_TABLE",
}


class _CloudFormationLoader(yaml.SafeLoader):
    """Safe YAML that keeps CloudFormation short tags (``!Ref X``) as ``{"Ref": X}`` mappings."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = suffix if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_CloudFormationLoader.add_multi_constructor("!", _intrinsic)


@lru_cache(maxsize=4)
def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    return yaml.load(path.read_text(), Loader=_CloudFormationLoader)  # noqa: S506 - a SafeLoader subclass


def table_definitions(path: Path = TEMPLATE_PATH) -> dict[str, dict[str, Any]]:
    """``create_table`` arguments (without ``TableName``) per table logical id, as the template says."""
    definitions = {}
    for logical_id, resource in load_template(path)["Resources"].items():
        if resource["Type"] != "AWS::DynamoDB::Table":
            continue
        props = resource["Properties"]
        arguments: dict[str, Any] = {
            "AttributeDefinitions": props["AttributeDefinitions"],
            "KeySchema": props["KeySchema"],
            "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
        }
        if "GlobalSecondaryIndexes" in props:
            arguments["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
        definitions[logical_id] = arguments
    return definitions


def ttl_specifications(path: Path = TEMPLATE_PATH) -> dict[str, dict[str, Any]]:
    resources = load_template(path)["Resources"]
    return {
        logical_id: resource["Properties"]["TimeToLiveSpecification"]
        for logical_id, resource in resources.items()
        if resource["Type"] == "AWS::DynamoDB::Table"
    }


def create_tables(client: Any, prefix: str, path: Path = TEMPLATE_PATH) -> dict[str, str]:
    """Create every table of the template (skipping ones that exist) named ``{prefix}{LogicalId}``.

    Returns the handlers' environment variables naming them (``SESSIONS_TABLE`` ...).
    """
    existing = set(client.list_tables()["TableNames"])
    environment = {}
    for logical_id, arguments in table_definitions(path).items():
        name = f"{prefix}{logical_id}"
        if name not in existing:
            client.create_table(TableName=name, **arguments)
            client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1})
            client.update_time_to_live(
                TableName=name, TimeToLiveSpecification=ttl_specifications(path)[logical_id]
            )
        environment[TABLE_ENVIRONMENT[logical_id]] = name
    return environment


def _logical_id(reference: Any) -> str | None:
    """The logical id behind ``!Ref X`` or ``!Sub "integrations/${X}"``."""
    if isinstance(reference, dict) and "Ref" in reference:
        return reference["Ref"]
    text = reference.get("Fn::Sub") if isinstance(reference, dict) else reference
    if isinstance(text, str) and "${" in text:
        return text.split("${", 1)[1].split("}", 1)[0]
    return None


def websocket_mock_routes(path: Path = TEMPLATE_PATH) -> dict[str, str | None]:
    """Route key -> what API Gateway sends back for each WebSocket route on a MOCK integration.

    The answer is the integration response's ``$default`` template, sent only when the route has a
    route response (two-way); ``None`` for a one-way MOCK route. Only static templates are served
    (a template using VTL would need API Gateway's evaluator, so it is refused here).
    """
    resources = load_template(path)["Resources"]
    by_type: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for logical_id, resource in resources.items():
        by_type.setdefault(resource["Type"], []).append((logical_id, resource.get("Properties", {})))
    templates = {
        _logical_id(props["IntegrationId"]): props.get("ResponseTemplates", {}).get("$default")
        for _, props in by_type.get("AWS::ApiGatewayV2::IntegrationResponse", [])
    }
    two_way = {
        _logical_id(props["RouteId"]) for _, props in by_type.get("AWS::ApiGatewayV2::RouteResponse", [])
    }
    routes: dict[str, str | None] = {}
    for route_id, props in by_type.get("AWS::ApiGatewayV2::Route", []):
        integration_id = _logical_id(props.get("Target"))
        if resources.get(integration_id, {}).get("Properties", {}).get("IntegrationType") != "MOCK":
            continue
        answer = templates.get(integration_id) if route_id in two_way else None
        if answer is not None and ("$" in answer or "#" in answer):
            raise ValueError(f"route {props['RouteKey']}: only static MOCK response templates are served")
        routes[props["RouteKey"]] = answer
    return routes
