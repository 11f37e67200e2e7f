"""Read ``template.yaml`` so local tables (with their streams) and queues are created from the very
definitions that deploy (the queues: ``local.mappings.queues``)."""

import contextlib
import sys
from collections.abc import Callable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from botocore.exceptions import ClientError

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
        if "StreamSpecification" in props:
            # CloudFormation's StreamSpecification names only the view type; the API also wants it enabled.
            view = props["StreamSpecification"]["StreamViewType"]
            arguments["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": view}
        definitions[logical_id] = arguments
    return definitions


def ttl_specifications(path: Path = TEMPLATE_PATH) -> dict[str, dict[str, Any]]:
    resources = load_template(path)["Resources"]
    return {
        logical_id: resource["Properties"]["TimeToLiveSpecification"]
        for logical_id, resource in resources.items()
        if resource["Type"] == "AWS::DynamoDB::Table"
    }


def create_tables(
    client: Any, prefix: str, path: Path = TEMPLATE_PATH, warn: Callable[[str], None] | None = None
) -> dict[str, str]:
    """Make every table of the template named ``{prefix}{LogicalId}`` ready, idempotently.

    A table that is missing is created; the template's TTL is applied to every table, new or
    existing (a DynamoDB without ``UpdateTimeToLive``, such as dynalite, gets one warning line and
    works without TTL: reads treat expired items as absent anyway). If anything fails, the tables
    this call created are deleted again, so a failed start leaves nothing half-made.
    Returns the handlers' environment variables naming the tables (``SESSIONS_TABLE`` ...).
    """
    warn = warn or (lambda line: print(line, file=sys.stderr, flush=True))
    existing = set(_table_names(client))
    created: list[str] = []
    environment = {}
    try:
        for logical_id, arguments in table_definitions(path).items():
            name = f"{prefix}{logical_id}"
            if name not in existing:
                client.create_table(TableName=name, **arguments)
                created.append(name)
            client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1})
            _enable_stream(client, name, arguments.get("StreamSpecification"))
            _apply_ttl(client, name, ttl_specifications(path)[logical_id], warn)
            if logical_id in TABLE_ENVIRONMENT:  # a table no handler reads by name needs no variable
                environment[TABLE_ENVIRONMENT[logical_id]] = name
    except BaseException:
        for name in created:
            with contextlib.suppress(Exception):  # best effort: the first error is the one to see
                client.delete_table(TableName=name)
        raise
    return environment


def _enable_stream(client: Any, name: str, specification: dict[str, Any] | None) -> None:
    """Turn on the template's stream on a table that exists without it (an external DynamoDB's)."""
    if specification is None:
        return
    current = client.describe_table(TableName=name)["Table"].get("StreamSpecification") or {}
    if current.get("StreamEnabled") and current.get("StreamViewType") == specification["StreamViewType"]:
        return
    if current.get("StreamEnabled"):  # another view type: a stream is replaced by disabling it first
        client.update_table(TableName=name, StreamSpecification={"StreamEnabled": False})
    client.update_table(TableName=name, StreamSpecification=specification)


def stream_arns(client: Any, tables: dict[str, str]) -> dict[str, str]:
    """Table logical id -> its stream's ARN, for the tables (logical id -> name) that have one."""
    arns = {}
    for logical_id, name in tables.items():
        arn = client.describe_table(TableName=name)["Table"].get("LatestStreamArn")
        if arn:
            arns[logical_id] = arn
    return arns


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


def _table_names(client: Any) -> Iterator[str]:
    request: dict[str, Any] = {}
    while True:
        page = client.list_tables(**request)
        yield from page["TableNames"]
        if "LastEvaluatedTableName" not in page:
            return
        request["ExclusiveStartTableName"] = page["LastEvaluatedTableName"]


def _apply_ttl(client: Any, name: str, specification: dict[str, Any], warn: Callable[[str], None]) -> None:
    """Enable the template's TTL on a table unless it already has it (UpdateTimeToLive refuses to
    enable TTL that is already enabled)."""
    try:
        current = client.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        if (
            current.get("TimeToLiveStatus") in ("ENABLED", "ENABLING")
            and current.get("AttributeName") == specification["AttributeName"]
        ):
            return
        client.update_time_to_live(TableName=name, TimeToLiveSpecification=specification)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code not in _UNSUPPORTED:
            raise
        warn(f"warning: this DynamoDB does not support TTL ({code}); {name} keeps expired items")


# What a DynamoDB that lacks an operation answers (dynalite: UnknownOperationException).
_UNSUPPORTED = frozenset({"UnknownOperationException", "NotImplemented"})
