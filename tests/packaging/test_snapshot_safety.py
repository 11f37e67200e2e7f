"""SnapStart snapshots what the REST function's init phase (importing its entry module) leaves
behind, and restores many execution environments from it: that state must hold no network
connection and no AWS client (clients are created at first use, after the restore).
https://docs.aws.amazon.com/lambda/latest/dg/snapstart-uniqueness.html
"""

import pytest
from support.processes import entry_module, run_fresh

FUNCTIONS = ("rest_api", "ws_connect", "ws_disconnect", "ws_default")

_PROBE = """
import importlib.util, socket, sys
import botocore.session

connected, clients = [], []
real_connect = socket.socket.connect
def connect(self, *args, **kwargs):
    connected.append(args)
    return real_connect(self, *args, **kwargs)
socket.socket.connect = connect
socket.socket.connect_ex = connect
real_create = botocore.session.Session.create_client
def create_client(self, *args, **kwargs):
    clients.append(args)
    return real_create(self, *args, **kwargs)
botocore.session.Session.create_client = create_client

spec = importlib.util.spec_from_file_location("app", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
assert callable(module.handler)
print(len(connected), len(clients), "aws_xray_sdk" in sys.modules)
"""

_MANAGEMENT_API_URL = "https://example.execute-api.us-east-1.amazonaws.com/prod"
# As in Lambda with tracing on (Tracing: Active), and with it switched off.
_TRACING_ON = {
    "LAMBDA_TASK_ROOT": "/var/task",
    "AWS_LAMBDA_FUNCTION_NAME": "fn",
    "POWERTOOLS_TRACE_DISABLED": "false",
}
_TRACING_OFF = {**_TRACING_ON, "POWERTOOLS_TRACE_DISABLED": "true"}


def _import(function: str, extra: dict[str, str]) -> tuple[int, int, bool]:
    completed = run_fresh(_PROBE, entry_module(function), MANAGEMENT_API_URL=_MANAGEMENT_API_URL, **extra)
    assert completed.returncode == 0, completed.stderr[-2000:]
    connected, clients, xray = completed.stdout.split()
    return int(connected), int(clients), xray == "True"


@pytest.mark.parametrize("function", FUNCTIONS)
def test_import_opens_no_connection_and_creates_no_client(function):
    connected, clients, xray = _import(function, _TRACING_OFF)
    assert (connected, clients) == (0, 0)
    assert not xray  # tracing off: the X-Ray SDK is not even imported


def test_rest_function_import_with_tracing_on_is_snapshot_safe_too():
    connected, clients, xray = _import("rest_api", _TRACING_ON)
    assert xray  # tracing on: Powertools' Tracer (and the X-Ray SDK) is really in use
    assert (connected, clients) == (0, 0)
