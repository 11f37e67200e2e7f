"""``admin --stack``: table names come from the CloudFormation stack's outputs (moto, in-process)."""

import json

import boto3
import pytest
from moto import mock_aws
from session_relay.service.access import hash_api_key
from session_relay.settings import Settings
from session_relay.store import Store
from typer.testing import CliRunner

from session_relay_tools.cli import app
from session_relay_tools.template import load_template

REGION = "eu-west-1"
TABLES = ["SessionsTable", "ConnectionsTable", "AuthTable"]
OUTPUTS = ["SessionsTableName", "ConnectionsTableName", "AuthTableName"]


@pytest.fixture
def aws(monkeypatch):
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")  # the CLI must use --region, not this
    with mock_aws():
        yield boto3.client("cloudformation", region_name=REGION)


def tiny_stack(cloudformation, name: str, outputs: list[str]) -> dict[str, str]:
    """A stack of the template's own three tables and the named outputs; returns every output."""
    template = load_template()
    body = {
        "Resources": {table: template["Resources"][table] for table in TABLES},
        "Outputs": {output: template["Outputs"][output] for output in outputs},
    }
    cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(body))
    found = cloudformation.describe_stacks(StackName=name)["Stacks"][0]["Outputs"]
    return {item["OutputKey"]: item["OutputValue"] for item in found}


def run(*args: str):
    return CliRunner().invoke(app, ["--json", *args], catch_exceptions=False)


def test_admin_writes_to_the_tables_the_stack_outputs_name(aws):
    outputs = tiny_stack(aws, "relay-prod", OUTPUTS)
    target = ["--stack", "relay-prod", "--region", REGION]

    created = run("admin", "scripts", "create", "game", *target)
    assert created.exit_code == 0, created.stderr
    script_id = json.loads(created.stdout)["script"]["script_id"]
    issued = run("admin", "keys", "create", "--script", script_id, *target)
    assert issued.exit_code == 0, issued.stderr
    api_key = json.loads(issued.stdout)["api_key"]

    client = boto3.client("dynamodb", region_name=REGION)
    settings = Settings(
        sessions_table=outputs["SessionsTableName"],
        connections_table=outputs["ConnectionsTableName"],
        auth_table=outputs["AuthTableName"],
    )
    store = Store(client, settings)
    assert [script.script_id for script in store.auth.list_scripts()] == [script_id]
    record = store.auth.get_api_key(hash_api_key(api_key))
    assert record is not None
    assert record.script_ids == (script_id,)
    assert api_key not in json.dumps(client.scan(TableName=outputs["AuthTableName"])["Items"])

    listed = run("admin", "scripts", "list", *target)
    assert [s["script_id"] for s in json.loads(listed.stdout)["scripts"]] == [script_id]


def test_a_stack_without_the_table_outputs_is_refused(aws):
    tiny_stack(aws, "not-relay", ["SessionsTableName"])
    result = run("admin", "scripts", "list", "--stack", "not-relay", "--region", REGION)
    assert result.exit_code == 1
    assert "has no output ConnectionsTableName, AuthTableName" in result.stderr


def test_an_unknown_stack_is_a_clear_error(aws):
    result = run("admin", "keys", "list", "--stack", "missing", "--region", REGION)
    assert result.exit_code == 1
    assert "reading stack 'missing' failed" in result.stderr
    assert "does not exist" in result.stderr
