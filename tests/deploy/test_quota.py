"""``make deploy``'s choice of integration timeout from the account's Service Quotas answer
(botocore Stubber: the real service-quotas client and its request validation, no AWS call)."""

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError
from botocore.stub import Stubber

from session_relay_tools import deploy

# The code is what the listing says; the test uses one no code table names, so nothing depends on it.
LISTED_CODE = "L-TEST0001"
LIST_REQUEST = {"ServiceCode": "apigateway", "MaxResults": 100}
GET_REQUEST = {"ServiceCode": "apigateway", "QuotaCode": LISTED_CODE}


@pytest.fixture
def service_quotas():
    client = boto3.client(
        "service-quotas",
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def _quota(code: str, name: str, value: float) -> dict:
    return {"ServiceCode": "apigateway", "QuotaCode": code, "QuotaName": name, "Value": value, "Unit": "None"}


def _list_two_pages(stubber, default: float = 29000.0, named: str = deploy.QUOTA_NAME) -> None:
    """The listing: page 1 has other quotas only, page 2 has the one named ``named``."""
    page_1 = [_quota("L-OTHER001", "Throttle rate", 10000.0), _quota("L-OTHER002", "Burst limit", 5000.0)]
    page_2 = [_quota("L-OTHER003", "Regional APIs per account", 600.0), _quota(LISTED_CODE, named, default)]
    stubber.add_response(
        "list_aws_default_service_quotas", {"Quotas": page_1, "NextToken": "p2"}, LIST_REQUEST
    )
    stubber.add_response(
        "list_aws_default_service_quotas", {"Quotas": page_2}, {**LIST_REQUEST, "NextToken": "p2"}
    )


def _applied(stubber, value: float) -> None:
    stubber.add_response(
        "get_service_quota", {"Quota": _quota(LISTED_CODE, deploy.QUOTA_NAME, value)}, GET_REQUEST
    )


def _assert_falls_back_naming_the_quota(choice: deploy.TimeoutChoice) -> None:
    assert choice.timeout_ms == 29000
    assert "IntegrationTimeoutMs=29000" in choice.sentence
    assert '"Maximum integration timeout in milliseconds"' in choice.sentence
    assert "raise" in choice.sentence
    assert choice.sentence.count(". ") == 0  # one sentence


@pytest.mark.parametrize("value", [62000.0, 300000.0])
def test_a_raised_quota_found_by_name_on_page_2_deploys_the_full_wait(service_quotas, value):
    client, stubber = service_quotas
    _list_two_pages(stubber)
    _applied(stubber, value)

    choice = deploy.choose_timeout(client)

    assert choice.timeout_ms == 62000
    assert f"({LISTED_CODE}) is {value:.0f} ms (applied)" in choice.sentence
    assert "full 60 s wait" in choice.sentence


@pytest.mark.parametrize("value", [29000.0, 61999.0])
def test_a_smaller_quota_deploys_29000_and_names_the_quota_to_raise(service_quotas, value):
    client, stubber = service_quotas
    _list_two_pages(stubber)
    _applied(stubber, value)

    choice = deploy.choose_timeout(client)

    _assert_falls_back_naming_the_quota(choice)
    assert f"is {value:.0f} ms (applied)" in choice.sentence


@pytest.mark.parametrize(("default", "timeout_ms"), [(29000.0, 29000), (62000.0, 62000)])
def test_no_applied_value_means_the_listed_default(service_quotas, default, timeout_ms):
    client, stubber = service_quotas
    _list_two_pages(stubber, default=default)
    stubber.add_client_error(
        "get_service_quota", "NoSuchResourceException", "no applied value", expected_params=GET_REQUEST
    )

    choice = deploy.choose_timeout(client)

    assert choice.timeout_ms == timeout_ms
    assert f"({LISTED_CODE}) is {default:.0f} ms (its default)" in choice.sentence


def test_an_applied_quota_without_a_value_falls_back(service_quotas):
    client, stubber = service_quotas
    _list_two_pages(stubber, default=62000.0)
    quota = {
        key: value for key, value in _quota(LISTED_CODE, deploy.QUOTA_NAME, 0.0).items() if key != "Value"
    }
    error = {"ErrorCode": "DEPENDENCY_THROTTLING_ERROR", "ErrorMessage": "slow down"}
    stubber.add_response("get_service_quota", {"Quota": {**quota, "ErrorReason": error}}, GET_REQUEST)

    choice = deploy.choose_timeout(client)

    _assert_falls_back_naming_the_quota(choice)
    assert choice.sentence.startswith("Service Quotas gave no value")


def test_a_listing_without_the_quota_name_falls_back_saying_so(service_quotas):
    client, stubber = service_quotas
    _list_two_pages(stubber, named="Maximum integration timeout")  # a near name is not the quota

    choice = deploy.choose_timeout(client)  # and no GetServiceQuota call is made

    _assert_falls_back_naming_the_quota(choice)
    assert choice.sentence.startswith("Service Quotas lists no API Gateway quota named")


@pytest.mark.parametrize(
    ("code", "status"),
    [("AccessDeniedException", 400), ("NoSuchResourceException", 400), ("ServiceException", 500)],
)
def test_an_error_on_the_listing_falls_back_to_29000_saying_why(service_quotas, code, status):
    client, stubber = service_quotas
    stubber.add_client_error(
        "list_aws_default_service_quotas",
        code,
        "not for you",
        http_status_code=status,
        expected_params=LIST_REQUEST,
    )

    choice = deploy.choose_timeout(client)

    _assert_falls_back_naming_the_quota(choice)
    assert "could not read the API Gateway quota" in choice.sentence
    assert f"({code}: not for you)" in choice.sentence


@pytest.mark.parametrize("code", ["AccessDeniedException", "TooManyRequestsException"])
def test_an_error_on_get_service_quota_other_than_no_such_resource_falls_back(service_quotas, code):
    client, stubber = service_quotas
    _list_two_pages(stubber, default=62000.0)  # even a large default is not taken on a real error
    stubber.add_client_error("get_service_quota", code, "no", expected_params=GET_REQUEST)

    choice = deploy.choose_timeout(client)

    _assert_falls_back_naming_the_quota(choice)
    assert f"({code}: no)" in choice.sentence


def test_a_botocore_error_falls_back_to_29000_saying_why(monkeypatch, service_quotas):
    client, _stubber = service_quotas

    def unreachable(**_kwargs):
        raise EndpointConnectionError(endpoint_url="https://servicequotas.us-east-1.amazonaws.com")

    monkeypatch.setattr(client, "list_aws_default_service_quotas", unreachable)

    choice = deploy.choose_timeout(client)

    _assert_falls_back_naming_the_quota(choice)
    assert "Could not connect to the endpoint URL" in choice.sentence


def test_no_region_falls_back_to_29000_saying_why(monkeypatch, capsys):
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")

    assert deploy.main(["--dry-run", "--sam", "sam"]) == 0

    sentence, command = capsys.readouterr().out.splitlines()
    assert sentence.startswith("could not reach Service Quotas")
    assert "IntegrationTimeoutMs=29000" in sentence
    assert command == "sam deploy --guided --parameter-overrides IntegrationTimeoutMs=29000"


def test_the_command_is_a_guided_deploy_with_the_chosen_timeout():
    command = deploy.deploy_command(".venv-tools/bin/sam", 62000, "eu-west-1", ["--stack-name", "x"])
    assert command == [
        ".venv-tools/bin/sam",
        "deploy",
        "--guided",
        "--parameter-overrides",
        "IntegrationTimeoutMs=62000",
        "--region",
        "eu-west-1",
        "--stack-name",
        "x",
    ]


def test_main_prints_the_sentence_then_the_command(monkeypatch, capsys):
    monkeypatch.setattr(deploy, "choose_timeout", lambda client: deploy.TimeoutChoice(29000, "Because."))

    assert deploy.main(["--dry-run", "--region", "us-east-1", "--sam", "sam"]) == 0

    out = capsys.readouterr().out.splitlines()
    assert out == [
        "Because.",
        "sam deploy --guided --parameter-overrides IntegrationTimeoutMs=29000 --region us-east-1",
    ]
