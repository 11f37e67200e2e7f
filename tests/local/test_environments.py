"""Execution environments as Lambda keeps them: one invocation at a time in each, an idle one reused,
a new one started only when every one is busy, and what the entry module keeps is each one's own. The
function under test counts its own invocations in its module (``handlers/app.py``, ``count``)."""

import asyncio
import json
import logging

import pytest

from session_relay_tools.local import logs
from session_relay_tools.local.limits import Throttled


def _counted(host, sleep_s: float = 0.0) -> dict:
    """One invocation of the tests' REST function: what its module counted."""
    event = {"body": json.dumps({"count": True, "sleep_s": sleep_s})}
    answer = asyncio.run(host.invoke(host.rest_function, event))
    return json.loads(answer["body"])


async def _at_once(host, n: int, sleep_s: float) -> list:
    event = {"body": json.dumps({"count": True, "sleep_s": sleep_s})}
    answers = await asyncio.gather(
        *(host.invoke(host.rest_function, event) for _ in range(n)), return_exceptions=True
    )
    return [a if isinstance(a, Exception) else json.loads(a["body"]) for a in answers]


def test_invocations_one_after_another_reuse_one_warm_environment(make_host):
    host = make_host(concurrency=10)
    counted = [_counted(host) for _ in range(5)]
    assert [c["invocations"] for c in counted] == [1, 2, 3, 4, 5]
    assert len({c["environment"] for c in counted}) == 1
    assert len(host.environments(host.rest_function)) == 1


def test_a_new_environment_only_when_every_one_is_busy_each_keeping_its_own_count(make_host):
    host = make_host(concurrency=20)
    first = asyncio.run(_at_once(host, 8, sleep_s=0.3))
    assert len({c["environment"] for c in first}) == 8  # eight at once: eight environments
    assert all(c["invocations"] == 1 and c["at_once"] == 1 for c in first)

    second = asyncio.run(_at_once(host, 8, sleep_s=0.3))
    assert {c["environment"] for c in second} == {c["environment"] for c in first}  # all reused
    assert all(c["invocations"] == 2 and c["at_once"] == 1 for c in second)
    assert len(host.environments(host.rest_function)) == 8
    assert [e.invocations for e in host.environments(host.rest_function)] == [2] * 8


def test_environments_never_outnumber_the_concurrency_the_pool_grants(make_host):
    host = make_host(concurrency=3)
    answers = asyncio.run(_at_once(host, 6, sleep_s=0.3))
    throttled = [a for a in answers if isinstance(a, Throttled)]
    ran = [a for a in answers if isinstance(a, dict)]
    assert len(throttled) == 3
    assert len(ran) == 3
    assert all(c["at_once"] == 1 for c in ran)
    assert len(host.environments(host.rest_function)) == 3


def test_only_an_environments_first_invocation_logs_a_cold_start(make_host):
    host = make_host(concurrency=10)
    lines = []

    class Lines(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(json.loads(self.format(record)))

    handler = Lines()
    handler.setFormatter(logs.InvocationFormatter(text=False))
    logger = logging.getLogger("local.handlers")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        asyncio.run(_at_once(host, 2, sleep_s=0.2))  # two environments, each cold
        asyncio.run(_at_once(host, 2, sleep_s=0.2))  # the same two, warm
    finally:
        logger.removeHandler(handler)
    assert [line["cold_start"] for line in lines] == [True, True, False, False]
    assert len({line["function_request_id"] for line in lines}) == 4


def test_each_environment_of_the_rest_function_lends_its_own_event_loop_to_its_invocations(make_host):
    host = make_host(concurrency=10)
    first = asyncio.run(_at_once(host, 3, sleep_s=0.3))
    again = asyncio.run(_at_once(host, 3, sleep_s=0.3))
    loops = {c["environment"]: c["loop"] for c in first}
    assert len(set(loops.values())) == 3  # one loop per environment
    assert {c["environment"]: c["loop"] for c in again} == loops  # and the same one each time
    assert [e.loop is not None for e in host.environments(host.rest_function)] == [True] * 3


def test_the_hosts_threads_keep_no_event_loop_and_other_functions_get_none(make_host):
    host = make_host(concurrency=1)  # one thread: the one that ran the REST invocation
    _counted(host)
    with pytest.raises(RuntimeError, match="no current event loop"):
        host.pool.submit(asyncio.get_event_loop).result()
    websocket = host.websocket_routes["$default"]
    asyncio.run(host.invoke(websocket, {"body": "{}", "requestContext": {"routeKey": "$default"}}))
    assert [e.loop for e in host.environments(websocket)] == [None]
