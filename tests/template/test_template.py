"""The rules the deployed stack relies on, checked on what AWS's SAM translator makes of template.yaml.
Each test names the AWS documentation its rule comes from."""

import json
import re
import tomllib
from pathlib import Path

from tests.template.conftest import ROOT, of_type, sam_template, translate

LIMITS = "https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-execution-service-limits-table.html"
SAM_API = (
    "https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-resource-api.html"
)
LOGGING_CONFIG = "https://docs.aws.amazon.com/lambda/latest/api/API_LoggingConfig.html"
RETENTION = "https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html"
THROTTLING = (
    "https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html"
)
CONCURRENCY = "https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html"
WEBSOCKET_THROTTLING = (
    "https://docs.aws.amazon.com/apigateway/latest/developerguide/websocket-api-protect.html"
)
ACCOUNT_QUOTAS = "https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html"
ROUTE_SETTINGS = (
    "https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/"
    "aws-properties-apigatewayv2-stage-routesettings.html"
)
# Every account's throttle across all its APIs, per Region, by default (ACCOUNT_QUOTAS): a stage's
# route throttle is bounded by it (WEBSOCKET_THROTTLING).
ACCOUNT_RATE_PER_S, ACCOUNT_BURST = 10_000, 5_000
PITR = "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/PointInTimeRecovery_Howitworks.html"
# Every account accepts at most this REST integration timeout until its quota is raised (LIMITS).
DEFAULT_QUOTA_MS = 29_000
LAMBDA_LOG_LEVELS = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"]  # LOGGING_CONFIG
SYSTEM_LOG_LEVELS = {"DEBUG", "INFO", "WARN"}  # LOGGING_CONFIG
RETENTION_DAYS = {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557}
RETENTION_DAYS |= {2922, 3288, 3653}  # RETENTION


def _function_ids(translated):
    return sorted(of_type(translated, "AWS::Lambda::Function"))


def test_rest_api_is_regional_so_timeouts_above_29_s_are_possible(translated):
    # LIMITS: only Regional and private REST APIs take an integration timeout above 29 s.
    (api,) = of_type(translated, "AWS::ApiGateway::RestApi").values()
    assert api["Properties"]["EndpointConfiguration"]["Types"] == ["REGIONAL"]


def test_default_timeout_and_samconfig_need_no_quota_raise(translated):
    # LIMITS: 29000 ms is the default quota of every account.
    parameter = sam_template()["Parameters"]["IntegrationTimeoutMs"]
    assert parameter["Default"] <= DEFAULT_QUOTA_MS
    samconfig = tomllib.loads((ROOT / "samconfig.toml").read_text())
    overrides = samconfig["default"]["deploy"]["parameters"].get("parameter_overrides", "")
    asked = re.findall(r"IntegrationTimeoutMs=(\d+)", overrides)
    assert all(int(value) <= DEFAULT_QUOTA_MS for value in asked)
    (api,) = of_type(translated, "AWS::ApiGateway::RestApi").values()
    for path in ("/", "/{proxy+}"):
        integration = api["Properties"]["Body"]["paths"][path]["x-amazon-apigateway-any-method"]
        timeout = integration["x-amazon-apigateway-integration"]["timeoutInMillis"]
        assert timeout == {"Ref": "IntegrationTimeoutMs"}


def test_rest_function_derives_its_wait_from_the_integration_timeout(translated):
    function = translated["Resources"]["RestApiFunction"]["Properties"]
    assert function["Environment"]["Variables"]["INTEGRATION_TIMEOUT_MS"] == {"Ref": "IntegrationTimeoutMs"}
    # The function outlives the longest wait (60 s) plus the answer margin.
    assert function["Timeout"] > 62


def _deployment_ids(template):
    return sorted(of_type(template, "AWS::ApiGateway::Deployment"))


def test_a_changed_integration_timeout_gets_a_new_deployment():
    # SAM_API (AlwaysDeploy): a new AWS::ApiGateway::Deployment, so the stage serves the new timeout.
    # Two deploys, a second apart (SAM names the deployment after the second it translates in).
    short = translate(IntegrationTimeoutMs=29000, deployed_at=1_800_000_000)
    full = translate(IntegrationTimeoutMs=62000, deployed_at=1_800_000_001)
    assert len(_deployment_ids(short)) == len(_deployment_ids(full)) == 1
    assert _deployment_ids(short) != _deployment_ids(full)
    (stage,) = of_type(full, "AWS::ApiGateway::Stage").values()
    assert stage["Properties"]["DeploymentId"] == {"Ref": _deployment_ids(full)[0]}


def test_without_always_deploy_the_deployment_would_not_change():
    # The reason AlwaysDeploy is there: the body only holds a Ref, so SAM's content hash stays put.
    template = sam_template()
    del template["Resources"]["RestApi"]["Properties"]["AlwaysDeploy"]
    short = translate(template, IntegrationTimeoutMs=29000, deployed_at=1_800_000_000)
    full = translate(template, IntegrationTimeoutMs=62000, deployed_at=1_800_000_001)
    assert _deployment_ids(short) == _deployment_ids(full)


def test_exactly_one_rest_stage(translated):
    # SAM_API (OpenApiVersion): without it SAM adds a second stage named "Stage".
    stages = of_type(translated, "AWS::ApiGateway::Stage")
    assert len(stages) == 1
    (stage,) = stages.values()
    assert stage["Properties"]["StageName"] == {"Ref": "StageName"}


def test_log_level_parameter_takes_only_lambdas_levels():
    # LOGGING_CONFIG: ApplicationLogLevel is TRACE | DEBUG | INFO | WARN | ERROR | FATAL (no WARNING).
    parameter = sam_template()["Parameters"]["LogLevel"]
    assert parameter["AllowedValues"] == LAMBDA_LOG_LEVELS
    assert parameter["Default"] in LAMBDA_LOG_LEVELS


def test_every_function_logs_json_at_the_parameter_level_into_its_own_group(translated):
    # LOGGING_CONFIG: LogFormat JSON, ApplicationLogLevel, SystemLogLevel, LogGroup.
    groups = of_type(translated, "AWS::Logs::LogGroup")
    used = []
    for name in _function_ids(translated):
        properties = translated["Resources"][name]["Properties"]
        logging = properties["LoggingConfig"]
        assert logging["LogFormat"] == "JSON"
        assert logging["ApplicationLogLevel"] == {"Ref": "LogLevel"}
        assert logging["SystemLogLevel"] in SYSTEM_LOG_LEVELS
        assert logging["LogGroup"]["Ref"] in groups
        used.append(logging["LogGroup"]["Ref"])
        # Powertools follows Lambda's level (AWS_LAMBDA_LOG_LEVEL); a second level would disagree.
        assert "POWERTOOLS_LOG_LEVEL" not in properties["Environment"]["Variables"]
    # Four API functions, the broadcast worker, and the owner events: events and webhooks.
    assert len(used) == len(set(used)) == len(_function_ids(translated)) == 7


def test_every_log_group_keeps_events_for_an_allowed_number_of_days(translated):
    # RETENTION: RetentionInDays takes only these values.
    parameter = sam_template()["Parameters"]["LogRetentionDays"]
    assert set(parameter["AllowedValues"]) <= RETENTION_DAYS
    assert parameter["Default"] in parameter["AllowedValues"]
    groups = of_type(translated, "AWS::Logs::LogGroup")
    assert len(groups) >= 4
    for group in groups.values():
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_rest_stage_is_throttled_with_metrics_on(translated):
    # THROTTLING: stage-level method settings bound the request rate and burst.
    (stage,) = of_type(translated, "AWS::ApiGateway::Stage").values()
    (setting,) = stage["Properties"]["MethodSettings"]
    assert setting["ResourcePath"] == "/*"
    assert setting["HttpMethod"] == "*"
    assert setting["ThrottlingRateLimit"] == {"Ref": "RestThrottlingRateLimit"}
    assert setting["ThrottlingBurstLimit"] == {"Ref": "RestThrottlingBurstLimit"}
    assert setting["MetricsEnabled"] is True


def test_websocket_stage_throttle_is_two_parameters_within_the_accounts_throttle():
    # WEBSOCKET_THROTTLING, ACCOUNT_QUOTAS: a route throttle above the account's is bounded by it anyway;
    # ROUTE_SETTINGS: the burst is an integer, the rate a number.
    parameters = sam_template()["Parameters"]
    ranges = {
        "WebSocketThrottlingRateLimit": ACCOUNT_RATE_PER_S,
        "WebSocketThrottlingBurstLimit": ACCOUNT_BURST,
    }
    for name, ceiling in ranges.items():
        parameter = parameters[name]
        assert parameter["Type"] == "Number"
        assert 1 <= parameter["MinValue"] <= parameter["Default"] <= parameter["MaxValue"] <= ceiling
        assert isinstance(parameter["Default"], int)
        assert parameter["Description"]


def test_websocket_stage_throttle_parameters_reach_the_stages_default_route_settings():
    # WEBSOCKET_THROTTLING: DefaultRouteSettings throttles every route of the stage; no route of ours
    # overrides it (RouteSettings), so every client frame is held to the parameters.
    translated = translate(WebSocketThrottlingRateLimit=50, WebSocketThrottlingBurstLimit=100)
    (stage,) = of_type(translated, "AWS::ApiGatewayV2::Stage").values()
    settings = stage["Properties"]["DefaultRouteSettings"]
    assert settings["ThrottlingRateLimit"] == {"Ref": "WebSocketThrottlingRateLimit"}
    assert settings["ThrottlingBurstLimit"] == {"Ref": "WebSocketThrottlingBurstLimit"}
    assert "RouteSettings" not in stage["Properties"]


def test_rest_function_concurrency_is_a_parameter_zero_meaning_unreserved(translated):
    # CONCURRENCY: reserved concurrency caps the function and must leave 100 unreserved; 0 would
    # throttle every call, so 0 means "not reserved" here.
    parameters = sam_template()["Parameters"]
    assert parameters["RestReservedConcurrency"]["Default"] == 0
    reserved = translated["Resources"]["RestApiFunction"]["Properties"]["ReservedConcurrentExecutions"]
    condition, when_set, otherwise = reserved["Fn::If"]
    assert when_set == {"Ref": "RestReservedConcurrency"}
    assert otherwise == {"Ref": "AWS::NoValue"}
    assert translated["Conditions"][condition] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "RestReservedConcurrency"}, 0]}]
    }


def test_max_calls_in_flight_is_a_parameter_zero_meaning_no_cap():
    # No AWS rule: the project's own (docs/PROTOCOL.md, "Calls in flight"): 0 is no cap, no lease.
    # The parameter's MinValue must let 0 through, and the translator takes a stack deployed with it.
    parameter = sam_template()["Parameters"]["MaxCallsInFlightPerKey"]
    assert parameter["Type"] == "Number"
    assert parameter["MinValue"] == 0 < parameter["Default"] == 50 <= parameter["MaxValue"]
    assert "0 means no cap" in parameter["Description"]
    translated = translate(MaxCallsInFlightPerKey=0)
    variables = translated["Resources"]["RestApiFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["MAX_CALLS_IN_FLIGHT"] == {"Ref": "MaxCallsInFlightPerKey"}


def test_access_logs_on_both_apis_behind_one_parameter(translated):
    (rest_stage,) = of_type(translated, "AWS::ApiGateway::Stage").values()
    (ws_stage,) = of_type(translated, "AWS::ApiGatewayV2::Stage").values()
    settings = (rest_stage["Properties"]["AccessLogSetting"], ws_stage["Properties"]["AccessLogSettings"])
    for setting in settings:
        condition, enabled, disabled = setting["Fn::If"]
        assert condition == "HasAccessLogs"
        assert disabled == {"Ref": "AWS::NoValue"}
        assert "DestinationArn" in enabled
        assert "$context.requestId" in enabled["Format"]
    assert translated["Conditions"]["HasAccessLogs"] == {"Fn::Equals": [{"Ref": "AccessLogs"}, "Enabled"]}


def test_every_function_gets_the_management_api_url_the_same_way(translated):
    urls = [
        translated["Resources"][name]["Properties"]["Environment"]["Variables"]["MANAGEMENT_API_URL"]
        for name in _function_ids(translated)
    ]
    assert len(urls) == 7  # four API functions, the broadcast worker, events and webhooks
    assert all(url == urls[0] for url in urls)
    assert "${WebSocketApi}.execute-api" in urls[0]["Fn::Sub"]


def test_alarms_watch_5xx_latency_throttles_and_websocket_errors(translated):
    alarms = of_type(translated, "AWS::CloudWatch::Alarm")
    watched = set()
    for alarm in alarms.values():
        properties = alarm["Properties"]
        if "MetricName" in properties:
            watched.add(properties["MetricName"])
        for metric in properties.get("Metrics", []):
            if "MetricStat" in metric:
                watched.add(metric["MetricStat"]["Metric"]["MetricName"])
    assert {"5XXError", "IntegrationLatency", "Throttles", "Errors"} <= watched
    latency = alarms["RestLatencyNearTimeoutAlarm"]["Properties"]
    expression = next(metric["Expression"] for metric in latency["Metrics"] if "Expression" in metric)
    assert "${IntegrationTimeoutMs}" in expression["Fn::Sub"]
    assert latency["Threshold"] < 1


def _published_metrics() -> set[str]:
    source = "".join(path.read_text() for path in Path(ROOT / "layers/common/session_relay").rglob("*.py"))
    return set(re.findall(r'count\(\s*"(\w+)"', source)) | set(re.findall(r'"(Messages\w+)"', source))


def test_dashboard_draws_the_metrics_the_handlers_publish(translated):
    (dashboard,) = of_type(translated, "AWS::CloudWatch::Dashboard").values()
    body = json.loads(re.sub(r"\$\{[^}]+\}", "x", dashboard["Properties"]["DashboardBody"]["Fn::Sub"]))
    drawn = {}
    for widget in body["widgets"]:
        for metric in widget["properties"]["metrics"]:
            if metric[0] == "SessionRelay":
                options = metric[4] if len(metric) > 4 else {}
                drawn.setdefault(metric[1], set()).add(options.get("stat", widget["properties"].get("stat")))
                assert metric[2:4] == ["service", "session-relay"]  # Powertools' service dimension
    expected = {"SessionsConnected", "MessagesSent", "MessagesProcessed", "MessagesTimedOut", "ReplyLatency"}
    assert expected <= set(drawn)
    assert set(drawn) <= _published_metrics()
    assert {"p50", "p99"} <= drawn["ReplyLatency"]


def test_only_the_retained_auth_table_has_point_in_time_recovery(translated):
    # PITR (checkov CKV_AWS_28): continuous backups of the one table that holds what cannot come back by
    # itself (scripts, key hashes, scopes), which a stack delete keeps; the other tables hold sessions
    # and messages that clients recreate, so backups of them would only cost.
    tables = of_type(translated, "AWS::DynamoDB::Table")
    recovered = {
        name
        for name, table in tables.items()
        if table["Properties"].get("PointInTimeRecoverySpecification", {}).get("PointInTimeRecoveryEnabled")
    }
    assert recovered == {"AuthTable"}
    assert tables["AuthTable"]["Properties"]["PointInTimeRecoverySpecification"] == {
        "PointInTimeRecoveryEnabled": True
    }
    assert tables["AuthTable"]["DeletionPolicy"] == "Retain"
    assert tables["AuthTable"]["UpdateReplacePolicy"] == "Retain"
    assert {table["DeletionPolicy"] for name, table in tables.items() if name != "AuthTable"} == {"Delete"}
