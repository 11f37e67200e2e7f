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
