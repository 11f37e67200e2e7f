"""Each function runs in execution environments of its own, as Lambda runs it:

- an environment runs one invocation at a time; a request that finds every environment of its function
  busy gets a new one, an idle one is reused, and its module state (the handler's, the layer's) is its
  own: https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html ("Understanding Lambda
  function scaling"), https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html
  ("Understanding the Lambda execution environment lifecycle");
- environments are never shared between functions:
  https://docs.aws.amazon.com/lambda/latest/operatorguide/execution-environments.html
"""

import asyncio
import sys
import time
from pathlib import Path

import pytest
from session_relay import aws
from session_relay.websocket import floods

from session_relay_tools.local.functions import FunctionHost
from session_relay_tools.local.limits import Throttled

HANDLERS = Path(__file__).parent / "handlers"
LAYER = Path(__file__).resolve().parents[2] / "layers" / "common"
TEMPLATE = f"""
Resources:
  Api:
    Type: AWS::Serverless::Api
    Properties:
      DefinitionBody:
        paths:
          /{{proxy+}}:
            x-amazon-apigateway-any-method:
              x-amazon-apigateway-integration:
                uri: !Sub "arn:aws:lambda:path/functions/${{Counter.Arn}}/invocations"
  Counter:
    Type: AWS::Serverless::Function
    Properties: {{CodeUri: {HANDLERS}, Handler: counting.handler, Timeout: 30}}
  OtherCounter:
    Type: AWS::Serverless::Function
    Properties: {{CodeUri: {HANDLERS}, Handler: counting.handler, Timeout: 30}}
  Layered:
    Type: AWS::Serverless::Function
    Properties: {{CodeUri: {HANDLERS}, Handler: layered.handler, Timeout: 30, Layers: [!Ref Layer]}}
  Broken:
    Type: AWS::Serverless::Function
    Properties: {{CodeUri: {HANDLERS}, Handler: broken.handler, Timeout: 30}}
  Layer:
    Type: AWS::Serverless::LayerVersion
    Properties: {{ContentUri: {LAYER}}}
"""


@pytest.fixture
def host(tmp_path):
    path = tmp_path / "template.yaml"
    path.write_text(TEMPLATE)
    hosts: list[FunctionHost] = []

    def make(concurrency: int = 20) -> FunctionHost:
        hosts.append(FunctionHost(path, concurrency=concurrency))
        return hosts[-1]

    yield make
    for made in hosts:
        made.close()


def _invoke_together(host: FunctionHost, name: str, count: int, sleep_s: float = 0.3) -> list:
    async def together():
        calls = (host.invoke(host.function(name), {"sleep_s": sleep_s}) for _ in range(count))
        return await asyncio.gather(*calls, return_exceptions=True)

    return asyncio.run(together())


def test_sequential_invocations_reuse_one_environment(host):
    counter = host()

    async def one_after_another():
        return [await counter.invoke(counter.function("Counter"), {}) for _ in range(5)]

    answers = asyncio.run(one_after_another())

    assert len({answer["token"] for answer in answers}) == 1
    assert [answer["count"] for answer in answers] == [1, 2, 3, 4, 5]
    assert len(counter.environments["Counter"].all) == 1


def test_concurrent_invocations_land_on_distinct_environments(host):
    counter = host()

    answers = _invoke_together(counter, "Counter", 5)

    assert len({answer["token"] for answer in answers}) == 5
    assert [answer["count"] for answer in answers] == [1] * 5  # each environment counts only its own
    assert not any(answer["overlapped"] for answer in answers)
    environments = counter.environments["Counter"]
    assert len(environments.all) == 5
    assert environments.idle() == 5  # all kept, warm, once done


def test_an_environment_never_runs_two_invocations_and_the_counts_add_up(host):
    counter = host()

    answers = [answer for _ in range(3) for answer in _invoke_together(counter, "Counter", 4, 0.1)]

    assert not any(answer["overlapped"] for answer in answers)
    environments = counter.environments["Counter"].all
    assert all(environment.most_at_once == 1 for environment in environments)
    # Each environment's last count is how many it ran; together, every invocation once.
    last = {}
    for answer in answers:
        last[answer["token"]] = max(last.get(answer["token"], 0), answer["count"])
    assert sum(last.values()) == 12 == sum(environment.invocations for environment in environments)
    assert len(environments) == 4  # later rounds found the first round's environments idle


def test_a_burst_runs_on_the_first_environments_ready_one_invocation_at_a_time_each(host):
    counter = host(concurrency=50)

    async def burst():
        calls = [counter.invoke(counter.function("Counter"), {"sleep_s": 0.01 * (n % 3)}) for n in range(40)]
        return await asyncio.gather(*calls)

    answers = asyncio.run(burst())

    environments = counter.environments["Counter"].all
    assert not any(answer["overlapped"] for answer in answers)
    # Some environments made for the burst may have found every invocation served: none ran two.
    assert all(environment.most_at_once <= 1 for environment in environments)
    assert sum(environment.invocations for environment in environments) == 40
    assert len({answer["token"] for answer in answers}) <= len(environments) <= 40
    assert counter.concurrency.in_use() == 0
    # Inits the burst started and no invocation needed end with their environment kept, idle.
    deadline = time.monotonic() + 10
    while counter.environments["Counter"].idle() < len(environments) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert counter.environments["Counter"].idle() == len(environments)


def test_an_init_that_fails_fails_its_invocation_and_leaves_no_environment(host):
    broken = host()

    async def invoke():
        return await broken.invoke(broken.function("Broken"), {})

    with pytest.raises(RuntimeError, match="cannot be imported"):
        asyncio.run(invoke())
    assert broken.environments["Broken"].all == []
    assert broken.concurrency.in_use() == 0
    assert "counting" not in sys.modules  # the failed import left nothing behind either


def test_functions_never_share_environments(host):
    counters = host()

    async def both():
        return await asyncio.gather(
            counters.invoke(counters.function("Counter"), {}),
            counters.invoke(counters.function("OtherCounter"), {}),
        )

    first, other = asyncio.run(both())

    # The same code, each function in its own environment with its own count.
    assert first["token"] != other["token"]
    assert first["count"] == other["count"] == 1
    assert counters.function("Counter").entry == counters.function("OtherCounter").entry


def test_no_more_environments_than_the_concurrency_allows(host):
    counter = host(concurrency=3)

    answers = _invoke_together(counter, "Counter", 5)

    assert sum(isinstance(answer, Throttled) for answer in answers) == 2
    served = [answer for answer in answers if isinstance(answer, dict)]
    assert len({answer["token"] for answer in served}) == 3
    assert len(counter.environments["Counter"].all) == 3


def test_each_environment_has_its_own_copy_of_the_layers_module_state(host, monkeypatch):
    shared_client = object()
    monkeypatch.setattr(aws, "_make_dynamodb_client", aws._make_dynamodb_client)  # restored afterwards
    aws.use_dynamodb_client(lambda: shared_client)
    layered = host()

    answers = _invoke_together(layered, "Layered", 2)
    answers += _invoke_together(layered, "Layered", 2)

    environments = layered.environments["Layered"].all
    limiters = {answer["frame_rate"] for answer in answers}
    assert len(limiters) == len(environments) == 2  # one limiter per environment, kept while it lives
    assert id(floods.frame_rate) not in limiters  # and none is the host process's own
    assert len({answer["sessions_by_connection"] for answer in answers}) == len(environments)
    assert {answer["metrics"] for answer in answers} == {"ThreadSafeMetrics"}
    # The one thing environments share: the host's clients (the local stack's DynamoDB client).
    assert {answer["dynamodb_client"] for answer in answers} == {id(shared_client)}
    # No environment's copy of the layer is left in sys.modules: the host keeps its own.
    assert sys.modules["session_relay.websocket.floods"] is floods
