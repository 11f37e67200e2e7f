"""What declared functions and bans rely on in the deployed stack, checked on the SAM translator's
output: the indexes they read and the rights each function has on the auth table."""

from tests.template.conftest import of_type

GSI = "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/GSI.html"
TTL = "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ttl-expired-items.html"
BATCH_GET = "https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchGetItem.html"
ROUTES = "https://docs.aws.amazon.com/apigateway/latest/developerguide/websocket-api-develop-routes.html"


def _index(table, name):
    (index,) = [i for i in table["Properties"]["GlobalSecondaryIndexes"] if i["IndexName"] == name]
    return index


def _actions(role, table):
    """Every DynamoDB action a role's inline policies allow on ``table`` itself (not its indexes)."""
    allowed = set()
    for policy in role["Properties"]["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            resources = statement["Resource"]
            resources = resources if isinstance(resources, list) else [resources]
            on_table = any(
                resource == {"Fn::GetAtt": [table, "Arn"]}
                or (
                    "Fn::Sub" in resource
                    and resource["Fn::Sub"][1] == {"tableName": {"Ref": table}}
                    and not resource["Fn::Sub"][0].endswith("/index/*")
                )
                for resource in resources
            )
            if on_table:
                actions = statement["Action"]
                allowed |= set(actions if isinstance(actions, list) else [actions])
    return allowed


def test_the_listing_index_projects_the_declared_functions(translated):
    # GSI: a filter on a query of an index reads only the attributes it projects; ALL keeps `functions`
    # in each index item, so function= costs no read per session.
    sessions = of_type(translated, "AWS::DynamoDB::Table")["SessionsTable"]
    assert _index(sessions, "by_script")["Projection"] == {"ProjectionType": "ALL"}


def test_bans_are_listed_through_a_sparse_index_of_the_auth_table_and_expire_by_ttl(translated):
    auth = of_type(translated, "AWS::DynamoDB::Table")["AuthTable"]
    index = _index(auth, "by_owner")
    assert index["KeySchema"] == [
        {"AttributeName": "ban_owner", "KeyType": "HASH"},
        {"AttributeName": "ban_listing", "KeyType": "RANGE"},
    ]
    assert index["Projection"] == {"ProjectionType": "ALL"}
    defined = {a["AttributeName"]: a["AttributeType"] for a in auth["Properties"]["AttributeDefinitions"]}
    assert defined == {"pk": "S", "ban_owner": "S", "ban_listing": "S"}
    # TTL: expires_at is the table's TTL attribute (deletion lags: reads check it themselves).
    assert auth["Properties"]["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}


def test_the_rest_function_writes_the_auth_table_only_as_bans_need(translated):
    role = of_type(translated, "AWS::IAM::Role")["RestApiFunctionRole"]
    writes = _actions(role, "AuthTable") - {
        "dynamodb:GetItem",
        "dynamodb:Scan",
        "dynamodb:Query",
        "dynamodb:BatchGetItem",
        "dynamodb:DescribeTable",
    }
    # Bans' BatchWriteItem and DeleteItem, and the webhook's PutItem and UpdateItem.
    assert writes == {
        "dynamodb:BatchWriteItem",
        "dynamodb:DeleteItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
    }
    for statement in role["Properties"]["Policies"]:
        for rule in statement["PolicyDocument"]["Statement"]:
            actions = set(rule["Action"] if isinstance(rule["Action"], list) else [rule["Action"]])
            if rule.get("Resource") == {"Fn::GetAtt": ["AuthTable", "Arn"]} and actions & writes:
                keys = rule["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
                assert set(keys) <= {"ban#*", "banid#*", "webhook#*"}, keys


def test_the_handshake_may_batch_get_the_auth_table_and_write_nothing_there(translated):
    # BATCH_GET: the script and both possible bans in one request.
    role = of_type(translated, "AWS::IAM::Role")["WsConnectFunctionRole"]
    allowed = _actions(role, "AuthTable")
    assert "dynamodb:BatchGetItem" in allowed
    assert not allowed & {"dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"}


def test_the_functions_action_reaches_default_with_no_route_of_its_own(translated):
    # ROUTES: a frame whose action matches no route key goes to $default, which handles functions.
    routes = {r["Properties"]["RouteKey"] for r in of_type(translated, "AWS::ApiGatewayV2::Route").values()}
    assert "$default" in routes
    assert "functions" not in routes
