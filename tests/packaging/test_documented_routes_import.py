"""The OpenAPI document is built on demand (session_relay.api.documented): importing the app, as the
REST function's init phase does, renders no schema (tests/unit/test_documented_routes.py checks the
document itself). Only a fresh interpreter shows what the import alone did."""

import json

from support.processes import run_fresh
from unit.test_documented_routes import OPERATIONS  # the documented operations, listed once


def test_importing_the_app_renders_no_schema():
    """A fresh interpreter imports the app without FastAPI building one response field or pydantic
    rendering one JSON schema; asking for the document then does both."""
    probe = (
        "import json, fastapi.dependencies.utils, fastapi.routing, fastapi.utils, pydantic\n"
        "calls = {'fields': 0, 'schemas': 0}\n"
        "create = fastapi.utils.create_model_field\n"
        "def counted_field(*a, **k):\n"
        "    calls['fields'] += 1\n"
        "    return create(*a, **k)\n"
        "fastapi.utils.create_model_field = counted_field\n"
        "fastapi.routing.create_model_field = fastapi.dependencies.utils.create_model_field = counted_field\n"
        "render = pydantic.BaseModel.model_json_schema.__func__\n"
        "def counted_schema(cls, *a, **k):\n"
        "    calls['schemas'] += 1\n"
        "    return render(cls, *a, **k)\n"
        "pydantic.BaseModel.model_json_schema = classmethod(counted_schema)\n"
        "from session_relay.api.main import app\n"
        "at_import = dict(calls)\n"
        "app.openapi()\n"
        "print(json.dumps([at_import, calls]))\n"
    )
    done = run_fresh(probe)
    assert done.returncode == 0, done.stderr[-3000:]
    at_import, after_document = json.loads(done.stdout)

    # Path parameters are parsed at request time, so their fields are built at import: one per
    # templated route. Answers and bodies get none.
    templated = sum("{" in path for _, path in OPERATIONS)
    assert at_import == {"fields": templated, "schemas": 0}
    assert after_document["fields"] > at_import["fields"] + len(OPERATIONS)
    assert after_document["schemas"] == 7  # three message bodies, two broadcast ones, the webhook, the ban
