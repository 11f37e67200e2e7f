"""The layer ships without ``pydantic.v1`` (layers/common/Makefile): the REST API must start and
answer without it, as it does in Lambda. The development environment has it, so these probes make
it unimportable in a fresh interpreter, import the REST function's entry module, and call the app."""

import json

from support.processes import entry_module, run_fresh

_PROBE = """
import importlib.abc, importlib.util, json, sys

class NoPydanticV1(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "pydantic.v1" or name.startswith("pydantic.v1."):
            raise ModuleNotFoundError(name)

sys.meta_path.insert(0, NoPydanticV1())
spec = importlib.util.spec_from_file_location("app", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
from fastapi.testclient import TestClient
from session_relay.api.main import app

client = TestClient(app)
answers = {
    "openapi": client.get("/openapi.json").status_code,
    "paths": len(client.get("/openapi.json").json()["paths"]),
    "docs": client.get("/docs").status_code,
    "no key": client.post("/sessions/message", json={}).status_code,
    "wrong method": client.put("/sessions").status_code,
}
print(json.dumps({"answers": answers, "v1 loaded": "pydantic.v1" in sys.modules}))
"""


def test_rest_api_starts_and_answers_without_pydantic_v1():
    completed = run_fresh(_PROBE, entry_module("rest_api"))
    assert completed.returncode == 0, completed.stderr[-3000:]
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    assert report["v1 loaded"] is False
    answers = report["answers"]
    assert answers["openapi"] == 200
    assert answers["paths"] >= 5
    assert answers["docs"] == 200
    assert answers["no key"] == 401
    assert answers["wrong method"] == 405
