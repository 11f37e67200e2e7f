"""Run the deployable Lambda entry points in-process, the way Lambda would invoke them.

The routes come from ``template.yaml`` itself: the REST API's OpenAPI integration and every
WebSocket route's integration name a function, whose ``CodeUri`` and ``Handler`` say which
``app.py`` to load. Each invocation runs on a worker thread with a context that counts down the
function's configured timeout (``metrics`` makes the handlers' one Powertools metric set safe for
threads), in one of the function's execution environments (``environments``): one invocation at a time
in each, a new one started when all are busy, and the entry module loaded anew for each, so whatever
it keeps (the ``$default`` function's flood counts) is that environment's alone, as on AWS.
Invocations draw on one account-wide pool of concurrent executions (``limits``): beyond it they are
throttled, and a response over 6 MB fails the invocation, as in Lambda.
"""

import asyncio
import atexit
import re
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from session_relay_tools.local import logs, metrics
from session_relay_tools.local.environments import Environment, Environments
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
    name: str
    entry: Path  # the entry module's file (``CodeUri`` and ``Handler``)
    attribute: str  # the handler's name in it
    timeout_s: float
    memory_mb: int
    reserved: int | None = None


def _function_reference(value: Any) -> str:
    text = value["Fn::Sub"] if isinstance(value, dict) else str(value)
    match = _FUNCTION_REFERENCE.search(text if isinstance(text, str) else text[0])
    if match is None:
        raise ValueError(f"no function in integration URI {value!r}")
    return match.group(1)


def _entry(code_uri: Path, handler: str) -> tuple[Path, str]:
    module_name, _, attribute = handler.rpartition(".")
    return code_uri / f"{module_name.replace('.', '/')}.py", attribute


class FunctionHost:
    """Loads the template's functions and invokes them within one pool of concurrent executions
    (``concurrency``: the account's, 1000 unless ``SESSION_RELAY_CONCURRENCY`` lowers it)."""

    def __init__(self, template_path: Path = TEMPLATE_PATH, concurrency: int | None = None) -> None:
        metrics.install()  # the handlers' one metric set, shared by the invocations' threads
        template = load_template(template_path)
        self.template = template
        self.root = template_path.parent
        self.resources = template["Resources"]
        self.globals = template.get("Globals", {}).get("Function", {})
        self.functions: dict[str, Function] = {}
        self._environments: dict[str, Environments] = {}
        total = account_concurrency() if concurrency is None else concurrency
        # A thread per concurrent execution: nothing admitted by the pool waits for a worker. The
        # threads have no event loop of their own: an environment that needs one lends it its own.
        self.pool = ThreadPoolExecutor(max_workers=total, thread_name_prefix="lambda")
        self.rest_function = self._rest_function()
        self.websocket_routes = self._websocket_routes()
        reserved = {f.name: f.reserved for f in self.functions.values() if f.reserved is not None}
        self.concurrency = ConcurrencyPool(total, reserved)

    def _function(self, logical_id: str, event_loop: bool = False) -> Function:
        if logical_id not in self.functions:
            props = self.resources[logical_id]["Properties"]
            entry, attribute = _entry(self.root / props["CodeUri"], props["Handler"])
            self.functions[logical_id] = Function(
                name=logical_id,
                entry=entry,
                attribute=attribute,
                timeout_s=float(props.get("Timeout", self.globals.get("Timeout", 3))),
                memory_mb=int(props.get("MemorySize", self.globals.get("MemorySize", 128))),
                reserved=resolve(props.get("ReservedConcurrentExecutions"), self.template),
            )
            environments = Environments(logical_id, entry, attribute, event_loop)
            self._environments[logical_id] = environments
            # Its first environment, so a bad entry fails here; started on a host thread, as every
            # environment is (the calling thread's event loop, if it has one, stays untouched).
            self.pool.submit(environments.warm).result()
        return self.functions[logical_id]

    def environments(self, function: Function) -> list[Environment]:
        """Every execution environment ``function`` has had, in the order they started."""
        return self._environments[function.name].started()

    def function(self, logical_id: str) -> Function:
        """The template's function ``logical_id`` (loaded on first use), for ``invoke``."""
        return self._function(logical_id)

    def _rest_function(self) -> Function:
        for resource in self.resources.values():
            if resource["Type"] == "AWS::Serverless::Api":
                for methods in resource["Properties"]["DefinitionBody"]["paths"].values():
                    for operation in methods.values():
                        integration = operation["x-amazon-apigateway-integration"]
                        # An ASGI app under Mangum, which runs it on an event loop
                        return self._function(_function_reference(integration["uri"]), event_loop=True)
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
            routes[resource["Properties"]["RouteKey"]] = self._function(
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
        context = LambdaContext(function.name, function.timeout_s, function.memory_mb)
        try:
            running = self.pool.submit(_run, self._environments[function.name], event, context)
        except RuntimeError:  # the pool is shut down: the stack is stopping
            self.concurrency.release(function.name)
            raise
        # The execution is busy until the handler returns, even if the caller stopped waiting.
        running.add_done_callback(lambda _: self.concurrency.release(function.name))
        return await asyncio.wrap_future(running)

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
        _CLOSING.extend(self._environments.values())


def _run(environments: Environments, event: dict[str, Any], context: LambdaContext) -> Any:
    with environments.take() as environment:
        cold = environment.invocations == 1
        with logs.invocation(context.function_name, context.aws_request_id, context, cold):
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


# The environments of the hosts closed so far: their event loops are closed at exit.
_CLOSING: list[Environments] = []


@atexit.register
def _close_event_loops() -> None:
    # Runs once the pool's threads are joined: a loop left to the garbage collector at exit can
    # fail in __del__ ("Invalid file descriptor: -1") after the stack printed "stopped".
    for environments in _CLOSING:
        environments.close()
