"""``make deploy``'s choice of integration timeout from the account's Service Quotas answer
(botocore Stubber: the real service-quotas client and its request validation, no AWS call)."""

import boto3
import pytest
from botocore.stub import Stubber

from session_relay_tools import deploy

EXPECTED_REQUEST = {"ServiceCode": "apigateway", "QuotaCode": deploy.QUOTA_CODE}


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


def _quota(value: float) -> dict:
    return {
        "Quota": {
            "ServiceCode": "apigateway",
            "QuotaCode": deploy.QUOTA_CODE,
            "QuotaName": deploy.QUOTA_NAME,
            "Value": value,
            "Unit": "None",
        }
    }


@pytest.mark.parametrize("value", [62000.0, 300000.0])
def test_a_quota_that_allows_62000_deploys_the_full_wait(service_quotas, value):
    client, stubber = service_quotas
    stubber.add_response("get_service_quota", _quota(value), EXPECTED_REQUEST)

    choice = deploy.choose_timeout(client)

    assert choice.timeout_ms == 62000
    assert "full 60 s wait" in choice.sentence


@pytest.mark.parametrize("value", [29000.0, 61999.0])
def test_a_smaller_quota_deploys_29000_and_names_the_quota_to_raise(service_quotas, value):
    client, stubber = service_quotas
    stubber.add_response("get_service_quota", _quota(value), EXPECTED_REQUEST)

    choice = deploy.choose_timeout(client)

    assert choice.timeout_ms == 29000
    assert f"is {value:.0f} ms" in choice.sentence
    assert '"Maximum integration timeout in milliseconds"' in choice.sentence
    assert "raise" in choice.sentence
    assert choice.sentence.count(". ") == 0  # one sentence


@pytest.mark.parametrize(
    ("code", "status"),
    [("AccessDeniedException", 400), ("NoSuchResourceException", 400), ("ServiceException", 500)],
)
def test_a_service_quotas_error_falls_back_to_29000_saying_why(service_quotas, code, status):
    client, stubber = service_quotas
    stubber.add_client_error(
        "get_service_quota", code, "not for you", http_status_code=status, expected_params=EXPECTED_REQUEST
    )

    choice = deploy.choose_timeout(client)

    assert choice.timeout_ms == 29000
    assert "could not read the API Gateway quota" in choice.sentence
    assert code in choice.sentence
    assert "IntegrationTimeoutMs=29000" in choice.sentence


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
