"""The WebSocket functions check what they receive without pydantic (its import alone costs about a
third of ``import boto3``; docs/benchmarks.md): each imports, reads its settings, parses an event and
refuses a bad handshake with pydantic made unimportable."""

import pytest
from support.processes import entry_module, run_fresh

_PROBE = """
import importlib.util, json, sys
sys.modules["pydantic"] = sys.modules["pydantic_core"] = None  # any import of them fails

spec = importlib.util.spec_from_file_location("app", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)

from session_relay import contract
from session_relay.websocket import events, handshake
from session_relay.settings import get_settings

context = {"routeKey": "$connect", "connectionId": "c1=", "domainName": "d.example", "stage": "prod"}
event = events.WebSocketEvent.parse({"requestContext": context, "queryStringParameters": {"script_id": "s"}})
print(json.dumps({
    "tables": get_settings().sessions_table,
    "handshake": handshake.connect(event, store=object())["body"],
    "reply": contract.reply_outcome({"action": "reply", "processed": True, "response": 1}).as_contract(),
    "loaded": sorted(n for n, m in sys.modules.items() if m is not None and n.startswith("pydantic")),
}))
"""


@pytest.mark.parametrize("function", ["ws_connect", "ws_disconnect", "ws_default"])
def test_websocket_function_works_with_pydantic_unimportable(function):
    completed = run_fresh(_PROBE, entry_module(function), POWERTOOLS_TRACE_DISABLED="true")

    assert completed.returncode == 0, completed.stderr[-3000:]
    assert completed.stdout.strip() == (
        '{"tables": "t-sessions", '
        '"handshake": "user_key: must be a string of 1 to 128 characters (it is missing)", '
        '"reply": {"processed": true, "response": 1}, "loaded": []}'
    )
