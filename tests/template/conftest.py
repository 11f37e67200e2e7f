"""template.yaml through AWS's own SAM translator: what CloudFormation would be asked to deploy.

The translator runs in the tools environment (``.venv-tools``, next to the SAM CLI that pins it),
as ``sam deploy`` would run it, on the template as ``sam deploy`` hands it over."""

import copy
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from session_relay_tools.template import load_template

ROOT = Path(__file__).resolve().parents[2]
TOOLS_PYTHON = ROOT / ".venv-tools" / "bin" / "python"
TRANSLATE = Path(__file__).with_name("translate.py")


def sam_template() -> dict[str, Any]:
    """The template with its local code folders already uploaded to S3, as ``sam deploy`` does."""
    template = copy.deepcopy(load_template())
    for name, resource in template["Resources"].items():
        for key in ("CodeUri", "ContentUri"):
            if key in resource.get("Properties", {}):
                resource["Properties"][key] = f"s3://deployment-bucket/{name}.zip"
    return template


def translate(
    template: dict[str, Any] | None = None, *, deployed_at: int | None = None, **parameters: Any
) -> dict[str, Any]:
    """CloudFormation resources SAM makes of the template (``parameters`` override the defaults), as a
    deploy at ``deployed_at`` (epoch seconds; default: now) would."""
    if not TOOLS_PYTHON.exists():
        raise RuntimeError(f"{TOOLS_PYTHON} is missing: run `make install` first")
    request = {
        "template": template if template is not None else sam_template(),
        "parameters": parameters,
        "deployed_at": deployed_at,
    }
    done = subprocess.run(
        [str(TOOLS_PYTHON), str(TRANSLATE)],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "AWS_DEFAULT_REGION": "us-east-1"},  # the translator fills in AWS::Region
    )
    if done.returncode != 0:
        raise RuntimeError(f"the SAM translator failed:\n{done.stderr}")
    return json.loads(done.stdout)


@pytest.fixture(scope="session")
def translated() -> dict[str, Any]:
    return translate()


def of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == resource_type}
