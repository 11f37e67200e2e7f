"""The local stack's throughput against its floor: the embedded DynamoDB serves one request at a
time, so a bulk message is compared with the same number of sequential writes to it."""

import statistics
import time
from typing import Any
from urllib.parse import urlencode

from bench.stats import all_processed
from session_relay_tools.simulate import RawClient, raw_identity


def sequential_writes(dynamodb: Any, table: str, count: int = 1000) -> dict[str, Any]:
    """Wall time of ``count`` PutItem calls one after another (items the size of a message), made by
    ``dynamodb`` (a client on the handlers' own path: ``bench.floor.handlers_path``)."""
    item = {
        "connection_id": {"S": "floor-bench"},
        "status": {"S": "pending"},
        "session_id": {"S": "0" * 32},
        "deadline_ms": {"N": "1"},
        "expires_at": {"N": "1"},
    }
    dynamodb.put_item(TableName=table, Item={**item, "item": {"S": "message#warm"}})
    started = time.perf_counter()
    for index in range(count):
        dynamodb.put_item(TableName=table, Item={**item, "item": {"S": f"message#{index:022d}"}})
    return {"count": count, "wall_s": round(time.perf_counter() - started, 3)}


def slow_bulk(api: Any, session_ids: list[str], seconds: float = 1.0, turns: int = 1) -> dict[str, Any]:
    """A bulk message running a ``seconds``-long function on every session, ``turns`` times one after
    another (each call ends only once every function has answered): the median wall time, and each
    turn's when there are several."""
    walls, processed = [], True
    for _ in range(turns):
        started = time.perf_counter()
        body = {"session_ids": session_ids, "key": "sleep", "data": seconds, "timeout": 30}
        answer = api.post("/sessions/message", json=body)
        walls.append(round(time.perf_counter() - started, 3))
        responses = answer.json().get("responses", []) if answer.status_code == 200 else []
        processed = processed and all_processed(responses, len(session_ids))
    return {
        "sessions": len(session_ids),
        "function_s": seconds,
        "wall_s": round(statistics.median(walls), 3),
        **({"turns_wall_s": walls} if turns > 1 else {}),
        "all_processed": processed,
    }


def ping_cost(bench: Any, pings: int = 20) -> dict[str, Any]:
    """What ``pings`` pings cost the backend: DynamoDB requests and Management API calls (a ping
    that reached a function would cost at least one of each: a write and the posted pong)."""
    client = RawClient.open(bench.stack.ws_url, urlencode(raw_identity(bench.stack.script_id)))
    try:
        client.hello()
        time.sleep(0.3)  # the hello's own handler finishes
        bench.calls(reset=True)
        pongs = 0
        for _ in range(pings):
            pongs += client.ping() == {"type": "pong"}
        counts = bench.calls()
    finally:
        client.close()
    return {
        "pings": pings,
        "pongs": pongs,
        "dynamodb_requests": sum(counts.get("dynamodb", {}).values()),
        "management_api_calls": sum(counts.get("apigatewaymanagementapi", {}).values()),
    }
