"""template.yaml through AWS's own SAM translator: what CloudFormation would be asked to deploy."""

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_TEXT = (ROOT / "template.yaml").read_text()


class _NoManagedPolicies:
    """The translator asks IAM for managed policy ARNs only for policies named by name; none are."""

    def load(self) -> dict[str, str]:
        return {}


def sam_template() -> dict[str, Any]:
    """The template as ``sam deploy`` hands it over: local code folders already uploaded to S3."""
    template = yaml_parse(TEMPLATE_TEXT)
    for name, resource in template["Resources"].items():
        for key in ("CodeUri", "ContentUri"):
            if key in resource.get("Properties", {}):
                resource["Properties"][key] = f"s3://deployment-bucket/{name}.zip"
    return template


def translate(template: dict[str, Any] | None = None, **parameters: Any) -> dict[str, Any]:
    """CloudFormation resources SAM makes of the template (``parameters`` override the defaults)."""
    source = copy.deepcopy(template if template is not None else sam_template())
    return transform(source, dict(parameters), _NoManagedPolicies())


@pytest.fixture(autouse=True)
def _region(monkeypatch: pytest.MonkeyPatch) -> None:
    # The translator fills in AWS::Region from the default session.
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


@pytest.fixture(scope="session")
def translated() -> dict[str, Any]:
    import os

    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    return translate()


def of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == resource_type}


@pytest.fixture
def resources_of(translated: dict[str, Any]) -> Callable[[str], dict[str, dict[str, Any]]]:
    return lambda resource_type: of_type(translated, resource_type)
