"""moto's ``Query`` reading one partition (``moto_queries``) answers exactly as moto's own ``Query``,
without reading the rest of the table."""

import boto3
import pytest
from moto import mock_aws

from session_relay_tools.local import moto_queries

SESSIONS = {
    "AttributeDefinitions": [
        {"AttributeName": "id", "AttributeType": "S"},
        {"AttributeName": "script_id", "AttributeType": "S"},
        {"AttributeName": "listing_key", "AttributeType": "S"},
    ],
    "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
    "GlobalSecondaryIndexes": [
        {
            "IndexName": "by_script",
            "KeySchema": [
                {"AttributeName": "script_id", "KeyType": "HASH"},
                {"AttributeName": "listing_key", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "ALL"},
        },
        {
            "IndexName": "by_user",
            "KeySchema": [{"AttributeName": "user", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "KEYS_ONLY"},
        },
    ],
}
CONNECTIONS = {
    "AttributeDefinitions": [
        {"AttributeName": "connection_id", "AttributeType": "S"},
        {"AttributeName": "item", "AttributeType": "S"},
    ],
    "KeySchema": [
        {"AttributeName": "connection_id", "KeyType": "HASH"},
        {"AttributeName": "item", "KeyType": "RANGE"},
    ],
}
SESSIONS["AttributeDefinitions"].append({"AttributeName": "user", "AttributeType": "S"})


def _query_pages(client, **request):
    pages = []
    while len(pages) < 100:  # a wrong order could page forever
        page = client.query(**request)
        pages.append((page["Items"], page.get("LastEvaluatedKey"), page["Count"], page["ScannedCount"]))
        if "LastEvaluatedKey" not in page:
            return pages
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return pages


QUERIES = [
    {"TableName": "sessions", "IndexName": "by_script", "KeyConditionExpression": "script_id = :s"},
    {
        "TableName": "sessions",
        "IndexName": "by_script",
        "KeyConditionExpression": "script_id = :s",
        "Limit": 7,
    },
    {
        "TableName": "sessions",
        "IndexName": "by_script",
        "KeyConditionExpression": "script_id = :s AND listing_key > :after",
        "FilterExpression": "expires_at > :now",
        "ScanIndexForward": False,
        "Limit": 5,
    },
    {"TableName": "sessions", "IndexName": "by_user", "KeyConditionExpression": "#u = :u", "Limit": 3},
    {"TableName": "connections", "KeyConditionExpression": "connection_id = :c", "ConsistentRead": True},
    {
        "TableName": "connections",
        "KeyConditionExpression": "connection_id = :c AND begins_with(#i, :m)",
        "ProjectionExpression": "#i, #st",
        "Limit": 2,
    },
]
VALUES = {":s": {"S": "script-b"}, ":after": {"S": "0017"}, ":now": {"N": "50"}, ":u": {"S": "u1"}}
VALUES.update({":c": {"S": "conn-3"}, ":m": {"S": "message#"}})


def _names(query):
    text = query["KeyConditionExpression"] + query.get("ProjectionExpression", "")
    names = {"#u": "user", "#i": "item", "#st": "status"}
    return {name: value for name, value in names.items() if name in text}


@pytest.fixture
def client():
    moto_queries.uninstall()  # moto's own Query first, whatever ran before in this process
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        for name, definition in (("sessions", SESSIONS), ("connections", CONNECTIONS)):
            dynamodb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST", **definition)
        for n in range(60):
            item = {"id": {"S": f"id-{n:03d}"}, "listing_key": {"S": f"{(n * 7) % 40:04d}"}}
            item["expires_at"] = {"N": str(n)}
            if n % 4:  # a quarter of the items are not in the index at all (no script_id)
                item["script_id"] = {"S": f"script-{'abc'[n % 3]}"}
            if n % 2:
                item["user"] = {"S": f"u{n % 3}"}
            dynamodb.put_item(TableName="sessions", Item=item)
            for kind in ("session", f"message#{n:02d}", f"message#{n + 1:02d}"):
                entry = {"connection_id": {"S": f"conn-{n % 6}"}, "item": {"S": kind}, "status": {"S": "p"}}
                dynamodb.put_item(TableName="connections", Item=entry)
        yield dynamodb
    moto_queries.uninstall()


def _answers(client):
    answers = []
    for query in QUERIES:
        text = " ".join(str(v) for v in query.values())
        values = {name: value for name, value in VALUES.items() if name in text}
        names = {"ExpressionAttributeNames": _names(query)} if _names(query) else {}
        answers.append(_query_pages(client, **query, ExpressionAttributeValues=values, **names))
    return answers


def test_every_query_shape_answers_as_moto_itself_page_by_page(client):
    expected = _answers(client)
    assert sum(len(pages) for pages in expected) > len(QUERIES)  # some queries take several pages
    moto_queries.install()
    assert _answers(client) == expected


def test_a_query_does_not_sort_the_whole_table(client, monkeypatch):
    moto_queries.install()
    whole_table_reads = []

    def all_items(table):
        whole_table_reads.append(table.name)
        return []

    monkeypatch.setitem(moto_queries._originals, "all_items", all_items)
    assert [len(pages[0][0]) > 0 for pages in _answers(client)] == [True] * len(QUERIES)
    assert whole_table_reads == []
    client.scan(TableName="connections")  # a Scan still reads every item, as it must
    assert whole_table_reads == ["connections"]


def _listing(client):
    page = client.query(
        TableName="sessions",
        IndexName="by_script",
        KeyConditionExpression="script_id = :s",
        ExpressionAttributeValues={":s": {"S": "script-b"}},
        Limit=3,
    )
    return [item["id"]["S"] for item in page["Items"]]


def test_a_cached_partition_follows_every_write(client):
    moto_queries.install()
    moto_queries.track_writes()  # as the embedded server does: every request is noted
    client.meta.events.register(
        "before-call.dynamodb", lambda model, **_: moto_queries.note_request(model.name)
    )
    first = _listing(client)
    assert _listing(client) == first  # read from the cache: no write in between
    client.put_item(
        TableName="sessions",
        Item={"id": {"S": "new"}, "script_id": {"S": "script-b"}, "listing_key": {"S": "0"}},
    )
    assert _listing(client) == ["new", *first[:2]]
    client.update_item(
        TableName="sessions",
        Key={"id": {"S": "new"}},
        UpdateExpression="SET listing_key = :last",
        ExpressionAttributeValues={":last": {"S": "9999"}},
    )
    assert _listing(client) == first
    client.delete_item(TableName="sessions", Key={"id": {"S": first[0]}})
    assert _listing(client)[:2] == first[1:]


def test_the_index_orders_strings_by_utf8_bytes_and_leaves_out_items_without_its_keys(client):
    moto_queries.install()
    keys = ["z", "\u00e9", "A", "\U0001f600", "\uffef", "a"]
    for number, key in enumerate(keys):
        item = {"id": {"S": f"u-{number}"}, "script_id": {"S": "script-utf8"}, "listing_key": {"S": key}}
        client.put_item(TableName="sessions", Item=item)
    client.put_item(TableName="sessions", Item={"id": {"S": "no-key"}, "script_id": {"S": "script-utf8"}})
    page = client.query(
        TableName="sessions",
        IndexName="by_script",
        KeyConditionExpression="script_id = :s",
        ExpressionAttributeValues={":s": {"S": "script-utf8"}},
    )
    listed = [item["listing_key"]["S"] for item in page["Items"]]
    assert listed == sorted(keys, key=lambda key: key.encode("utf-8"))
    assert "no-key" not in [item["id"]["S"] for item in page["Items"]]
