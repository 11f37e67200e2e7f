"""Run the deployable Lambda entry points in-process, the way Lambda would invoke them.

The routes come from ``template.yaml`` itself: the REST API's OpenAPI integration and every
WebSocket route's integration name a function, whose ``CodeUri`` and ``Handler`` say which
``app.py`` to load. Each invocation runs in an execution environment of its function
(``environments``: one invocation at a time each, module state of its own, reused while idle) with a
context that counts down the function's configured timeout.
Invocations draw on one account-wide pool of concurrent executions (``limits``): beyond it they are
throttled, and a response over 6 MB fails the invocation, as in Lambda.
"""

import asyncio
import atexit
import functools
import importlib.util
import os
import re
import sys
import time
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from session_relay_tools.local import logs
from session_relay_tools.local.environments import Environment, Environments, close_worker_loops
from session_relay_tools.local.limits import (
    MAX_PAYLOAD_BYTES,
    ConcurrencyPool,
    FunctionError,
    RequestTooLarge,
    Throttled,
    account_concurrency,
    payload_size,
    resolve,
)
from session_relay_tools.template import TEMPLATE_PATH, load_template

# A function's ARN, or its alias's (the REST integration targets the alias SnapStart needs).
_FUNCTION_REFERENCE = re.compile(r"\$\{(\w+)\.(?:Arn|Alias)\}")


@dataclass
class LambdaContext:
    """The parts of the Lambda context object the handlers and Powertools read."""

    function_name: str
    timeout_s: float
    memory_limit_in_mb: int = 512
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:000000000000:function:{self.function_name}"

    @property
    def function_version(self) -> str:
        return "$LATEST"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_s - (time.monotonic() - self.started)) * 1000))


@dataclass(frozen=True)
class Function:
    """A function of the template: where its code is (``entry``, the handler ``attribute``), the
    folders whose modules each of its environments imports for itself (``roots``), and its limits."""

    name: str
    entry: Path
    attribute: str
    roots: tuple[str, ...]
    timeout_s: float
    memory_mb: int
    reserved: int | None = None

    def module_name(self, environment: int) -> str:
        """The entry module's name in environment number ``environment``."""
        return f"lambda_{self.name}_{environment}_{self.entry.stem}"


def _function_reference(value: Any) -> str:
    text = value["Fn::Sub"] if isinstance(value, dict) else str(value)
    match = _FUNCTION_REFERENCE.search(text if isinstance(text, str) else text[0])
    if match is None:
        raise ValueError(f"no function in integration URI {value!r}")
    return match.group(1)


def load_module(path: Path, module_name: str) -> ModuleType:
    """Import a function's entry module from its file (every function folder has an ``app.py``)."""
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    with warnings.catch_warnings():
        # Mangum probes for an event loop when built (Python 3.12 warns); Lambda prints the same.
        warnings.filterwarnings("ignore", "There is no current event loop", DeprecationWarning)
        spec.loader.exec_module(module)
    return module


def _roots(paths: list[Path]) -> tuple[str, ...]:
    """Folders as prefixes of absolute file names (each ending with a separator)."""
    found: set[str] = set()
    for path in paths:
        for form in (os.path.abspath(path), os.path.realpath(path)):
            found.add(form.rstrip(os.sep) + os.sep)
    return tuple(sorted(found))


class FunctionHost:
    """Loads the template's functions and invokes them in their own execution environments
    (``environments``), within one pool of concurrent executions (``concurrency``: the account's,
    1000 unless ``SESSION_RELAY_CONCURRENCY`` lowers it).

    ``function(logical_id)`` is any function of the template by its logical id, for ``invoke``.
    One environment of each function the gateways route to is made at start (its Init imports the
    code, so a function that cannot load stops the stack at once); every other one when an invocation
    finds all of its function's busy."""

    def __init__(self, template_path: Path = TEMPLATE_PATH, concurrency: int | None = None) -> None:
        template = load_template(template_path)
        self.template = template
        self.root = template_path.parent
        self.resources = template["Resources"]
        self.globals = template.get("Globals", {}).get("Function", {})
        self.functions: dict[str, Function] = {}
        self.environments: dict[str, Environments] = {}
        self.rest_function = self._rest_function()
        self.websocket_routes = self._websocket_routes()
        total = account_concurrency() if concurrency is None else concurrency
        reserved = {f.name: f.reserved for f in self.functions.values() if f.reserved is not None}
        self.concurrency = ConcurrencyPool(total, reserved)
        for environments in self.environments.values():
            try:
                environments.prepare()
            except BaseException:
                self.close()
                raise

    def function(self, logical_id: str) -> Function:
        """The template's function ``logical_id`` (``KeyError`` if it has none of that name)."""
        if logical_id not in self.functions:
            props = self.resources[logical_id]["Properties"]
            module_name, _, attribute = props["Handler"].rpartition(".")
            code_uri = self.root / props["CodeUri"]
            self.functions[logical_id] = Function(
                name=logical_id,
                entry=code_uri / f"{module_name.replace('.', '/')}.py",
                attribute=attribute,
                roots=_roots([code_uri, *self._layer_folders(props)]),
                timeout_s=float(props.get("Timeout", self.globals.get("Timeout", 3))),
                memory_mb=int(props.get("MemorySize", self.globals.get("MemorySize", 128))),
                reserved=resolve(props.get("ReservedConcurrentExecutions"), self.template),
            )
            self.environments[logical_id] = Environments(self.functions[logical_id], load_module)
        return self.functions[logical_id]

    def _layer_folders(self, props: dict[str, Any]) -> list[Path]:
        """The ``ContentUri`` of each layer of the function (its own ``Layers``, else the Globals')."""
        folders = []
        for layer in props.get("Layers", self.globals.get("Layers", [])):
            resource = self.resources.get(layer.get("Ref")) if isinstance(layer, dict) else None
            if resource is not None and "ContentUri" in resource.get("Properties", {}):
                folders.append(self.root / resource["Properties"]["ContentUri"])
        return folders

    def _rest_function(self) -> Function:
        for resource in self.resources.values():
            if resource["Type"] == "AWS::Serverless::Api":
                for methods in resource["Properties"]["DefinitionBody"]["paths"].values():
                    for operation in methods.values():
                        integration = operation["x-amazon-apigateway-integration"]
                        return self.function(_function_reference(integration["uri"]))
        raise ValueError("template.yaml has no REST API")

    def _websocket_routes(self) -> dict[str, Function]:
        routes = {}
        for resource in self.resources.values():
            if resource["Type"] != "AWS::ApiGatewayV2::Route":
                continue
            target = resource["Properties"]["Target"]
            integration_id = re.search(r"\$\{(\w+)\}", target["Fn::Sub"]).group(1)
            integration = self.resources[integration_id]["Properties"]
            if integration.get("IntegrationType") == "MOCK":  # answered by the gateway itself
                continue
            routes[resource["Properties"]["RouteKey"]] = self.function(
                _function_reference(integration["IntegrationUri"])
            )
        return routes

    def environment_defaults(self) -> dict[str, str]:
        """Plain-string environment variables the template's Globals give every function."""
        variables = self.globals.get("Environment", {}).get("Variables", {})
        return {name: value for name, value in variables.items() if isinstance(value, str)}

    async def invoke(self, function: Function, event: dict[str, Any]) -> Any:
        """The handler's answer; ``Throttled``/``RequestTooLarge`` when Lambda would refuse the call,
        ``FunctionError`` or the handler's exception when the invocation fails."""
        if payload_size(event) > MAX_PAYLOAD_BYTES:
            raise RequestTooLarge(function.name)
        if not self.concurrency.acquire(function.name):
            raise Throttled(function.name)
        try:
            outcome = self.environments[function.name].run(functools.partial(_run, event))
        except BaseException:
            self.concurrency.release(function.name)
            raise
        # The execution is busy until the handler returns, even if the caller stopped waiting.
        outcome.add_done_callback(lambda _: self.concurrency.release(function.name))
        return await asyncio.wrap_future(outcome)

    def close(self) -> None:
        for environments in self.environments.values():
            environments.close()


def _run(event: dict[str, Any], environment: Environment) -> Any:
    function = environment.function
    context = LambdaContext(function.name, function.timeout_s, function.memory_mb)
    with logs.invocation(function.name, context.aws_request_id):
        try:
            result = environment.handler(event, context)
            size = payload_size(result)
        except Exception as exc:
            logs.log_failure(exc)
            raise
        if size > MAX_PAYLOAD_BYTES:
            error = FunctionError(
                f"Response payload size ({size} bytes) exceeded maximum allowed payload size "
                f"({MAX_PAYLOAD_BYTES} bytes)."
            )
            logs.log_failure(error)
            raise error
        return result


# Runs once the environments' threads are joined.
atexit.register(close_worker_loops)
