"""moto's ``UpdateItem`` with each update expression parsed once, each validator's map built once and
each condition expression's tokens kept (``moto_updates``) leaves the same items and answers the same
errors as moto's own path, request after request on the same expressions."""

import boto3
import pytest
from botocore.exceptions import ClientError

from session_relay_tools.local import moto_updates

CREDENTIALS = {"region_name": "us-east-1", "aws_access_key_id": "local", "aws_secret_access_key": "local"}
START = {
    "n": {"N": "1"},
    "l": {"L": [{"S": "a"}]},
    "ss": {"SS": ["x", "y"]},
    "m": {"M": {"deep": {"M": {"k": {"N": "2"}}}}},
    "gone": {"S": "soon"},
}
UPDATES = [
    ("SET n = n + :one, #r = :s", {"#r": "result"}, {":one": {"N": "1"}, ":s": {"S": "v"}}),
    ("SET c = if_not_exists(c, :zero) + :one", None, {":zero": {"N": "0"}, ":one": {"N": "1"}}),
    ("SET l = list_append(l, :more)", None, {":more": {"L": [{"S": "b"}]}}),
    (
        "SET m.deep.k = m.deep.k - :one, m.#new = :s",
        {"#new": "added"},
        {":one": {"N": "1"}, ":s": {"S": "w"}},
    ),
    ("REMOVE gone, l[0]", None, None),
    ("ADD ss :more, n :one", None, {":more": {"SS": ["z"]}, ":one": {"N": "5"}}),
    ("DELETE ss :less", None, {":less": {"SS": ["x"]}}),
]
BAD = [
    ("SET n = :missing", None, {":one": {"N": "1"}}),  # a value the expression names is not given
    ("SET = :one", None, {":one": {"N": "1"}}),  # no path
    ("SET n = :one REMOVE n", None, {":one": {"N": "1"}}),  # one path in two actions
    ("SET a = :one, a = :one", None, {":one": {"N": "1"}}),  # the same path twice
    ("SET m.inner = :one", None, {":one": {"N": "1"}}),  # a reserved word
]

# Conditions on "SET touched = :t": met, failed, and refused by the parser, in every shape the lexer cuts.
CONDITIONS = [
    ("attribute_exists(n) AND n > :zero", None, {":zero": {"N": "0"}}),
    ("#g = :soon OR attribute_not_exists(nothing)", {"#g": "gone"}, {":soon": {"S": "soon"}}),
    ("size(l) >= :one AND begins_with(#g, :s)", {"#g": "gone"}, {":one": {"N": "1"}, ":s": {"S": "so"}}),
    ("n BETWEEN :a AND :b", None, {":a": {"N": "0"}, ":b": {"N": "100"}}),
    ("n IN (:a, :b) AND NOT (n = :c)", None, {":a": {"N": "1"}, ":b": {"N": "2"}, ":c": {"N": "9"}}),
    ("m.deep.k <> :one AND contains(ss, :x)", None, {":one": {"N": "1"}, ":x": {"S": "x"}}),
    ("n < :zero", None, {":zero": {"N": "0"}}),  # not met: ConditionalCheckFailed
    ("n = = :one", None, {":one": {"N": "1"}}),  # not an expression
    ("nope(n)", None, None),  # no such function
    ("n = :missing", None, {":one": {"N": "1"}}),  # a value it names is not given
    ("size = :one", None, {":one": {"N": "1"}}),  # a reserved word
    ("n = :one $", None, {":one": {"N": "1"}}),  # a character the lexer refuses
]


@pytest.fixture
def client(in_process_database):
    endpoint = f"http://{in_process_database.host}:{in_process_database.port}"
    return boto3.client("dynamodb", endpoint_url=endpoint, **CREDENTIALS)


def _apply(client, table: str) -> tuple[list, list, dict]:
    client.create_table(
        TableName=table,
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    answers, errors = [], []
    conditional = [
        ("SET touched = :t", condition, names, {**(values or {}), ":t": {"N": "1"}})
        for condition, names, values in CONDITIONS
    ]
    for round_ in range(3):  # the same expressions again: a kept tree must not carry the last item
        key = {"id": {"S": f"i{round_}"}}
        client.put_item(TableName=table, Item={**key, **START})
        for expression, condition, names, values in [
            (e, None, n, v) for e, n, v in UPDATES + BAD
        ] + conditional:
            if condition:  # each condition is asked of the item as it started
                key = {"id": {"S": f"c{round_}"}}
                client.put_item(TableName=table, Item={**key, **START})
            request = {"TableName": table, "Key": key, "UpdateExpression": expression}
            request["ReturnValues"] = "ALL_NEW"
            if condition:
                request["ConditionExpression"] = condition
            if names:
                request["ExpressionAttributeNames"] = names
            if values:
                request["ExpressionAttributeValues"] = values
            try:
                answers.append(client.update_item(**request)["Attributes"])
            except ClientError as error:
                errors.append((error.response["Error"]["Code"], error.response["Error"]["Message"]))
    items = client.scan(TableName=table, ConsistentRead=True)["Items"]
    return answers, errors, {item["id"]["S"]: item for item in items}


def test_items_answers_and_errors_match_motos_own(client) -> None:
    moto_updates.uninstall()
    theirs = _apply(client, "theirs")
    moto_updates.install()
    ours = _apply(client, "ours")
    assert ours == theirs
    answers, errors, items = ours
    assert len(answers) == 3 * (len(UPDATES) + 6)  # the six conditions met
    assert len(errors) == 3 * (len(BAD) + len(CONDITIONS) - 6)
    assert ("ConditionalCheckFailedException", "The conditional request failed") in errors
    assert items["i2"]["c"] == {"N": "1"}
    assert items["i2"]["ss"] == {"SS": ["y", "z"]}


def test_an_expression_is_parsed_once_and_a_rejected_one_each_time(client, monkeypatch) -> None:
    from moto.dynamodb.parsing import expressions

    moto_updates.uninstall()
    parsed: list[str] = []
    original = expressions.ExpressionTokenizer.make_list
    monkeypatch.setattr(
        expressions.ExpressionTokenizer,
        "make_list",
        staticmethod(lambda text: parsed.append(text) or original(text)),
    )
    moto_updates.install()
    _apply(client, "counted")
    for expression, _, _ in UPDATES:
        assert parsed.count(expression) == 1, expression
    assert parsed.count("SET = :one") >= 3  # not kept: rejected again at every request


def test_a_conditions_tokens_are_cut_once_and_a_refused_ones_each_time(client, monkeypatch) -> None:
    from moto.dynamodb import comparisons

    moto_updates.uninstall()
    lexed: list[str] = []
    original = comparisons.ConditionExpressionParser._lex_condition_expression

    def counted(parser):
        lexed.append(parser.condition_expression)
        return original(parser)

    monkeypatch.setattr(comparisons.ConditionExpressionParser, "_lex_condition_expression", counted)
    moto_updates.install()
    try:
        _apply(client, "lexed")
    finally:  # the patches again on moto's own lexer, for the tests after this one
        moto_updates.uninstall()
        monkeypatch.undo()
        moto_updates.install()
    for condition, _, _ in CONDITIONS[:-1]:
        assert lexed.count(condition) == 1, condition
    assert lexed.count("n = :one $") >= 3  # not kept: refused again at every request
