"""What one write costs moto itself (``python -m bench.moto_update``): a reply-shaped conditional
``UpdateItem`` (``ReturnValues=ALL_OLD``, on an item in a global secondary index) and a ``PutItem`` on
the embedded database, answered without HTTP as the handlers' requests are, and where an ``UpdateItem``'s
time goes inside moto (cProfile's cumulative time of its stages). docs/benchmarks.md, section 8."""

import argparse
import cProfile
import os
import pstats
import time

from session_relay_tools.local.dynamodb import patient_dynamodb_client
from session_relay_tools.local.embedded_database import InProcessDatabase
from session_relay_tools.local.process import free_port

TABLE = "bench-moto-update"
# moto's stages, by the function cProfile names (file fragment, function).
STAGES = {
    "validating the update expression": ("parsing/validators.py", "validate"),
    "serializing the answer": ("core/serialize.py", "serialize"),
    "deep copies": ("copy.py", "deepcopy"),
}


def _client():
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(name, "local")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    database = InProcessDatabase("127.0.0.1", free_port())
    client = patient_dynamodb_client(f"http://127.0.0.1:{database.port}", embedded=database)
    client.create_table(
        TableName=TABLE,
        AttributeDefinitions=[
            {"AttributeName": name, "AttributeType": kind}
            for name, kind in (("pk", "S"), ("sk", "S"), ("batch", "S"), ("at", "N"))
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "answered",
                "KeySchema": [
                    {"AttributeName": "batch", "KeyType": "HASH"},
                    {"AttributeName": "at", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    return client


def _put(client, index: int) -> None:
    item = {"pk": {"S": f"c{index}"}, "sk": {"S": "m"}, "batch": {"S": "b#0"}, "data": {"S": "x" * 200}}
    client.put_item(TableName=TABLE, Item=item)


def _reply(client, index: int) -> None:
    client.update_item(
        TableName=TABLE,
        Key={"pk": {"S": f"c{index}"}, "sk": {"S": "m"}},
        UpdateExpression="SET #at = :at, #r = :r",
        ConditionExpression="attribute_exists(pk) AND attribute_not_exists(#at)",
        ExpressionAttributeNames={"#at": "at", "#r": "result"},
        ExpressionAttributeValues={":at": {"N": str(index)}, ":r": {"S": "y" * 50}},
        ReturnValues="ALL_OLD",
    )


def _median_ms(write, client, count: int) -> float:
    times = []
    for index in range(count):
        started = time.perf_counter()
        write(client, index)
        times.append((time.perf_counter() - started) * 1000)
    return round(sorted(times)[count // 2], 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1000, help="writes of each kind (default 1000)")
    count = parser.parse_args().count
    client = _client()
    put_ms = _median_ms(_put, client, count)
    update_ms = _median_ms(_reply, client, count)
    for index in range(count):  # the profiled run answers fresh items, as the timed one did
        _put(client, count + index)
    profile = cProfile.Profile()
    profile.enable()
    for index in range(count, 2 * count):
        _reply(client, index)
    profile.disable()
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    total_s = sum(tt for _, _, tt, _, _ in stats.values())
    print(f"PutItem, median: {put_ms} ms; conditional UpdateItem (ALL_OLD), median: {update_ms} ms")
    print(f"shares of an UpdateItem's time under cProfile ({total_s / count * 1000:.2f} ms each, profiled):")
    for stage, (fragment, function) in STAGES.items():
        spent = max(
            (
                ct
                for (path, _, name), (_, _, _, ct, _) in stats.items()
                if fragment in path and name == function
            ),
            default=0.0,
        )
        print(f"  {stage}: {100 * spent / total_s:.0f}%")


if __name__ == "__main__":
    main()
