"""``make deploy``: a guided ``sam deploy`` whose integration timeout fits the account.

API Gateway accepts a REST integration timeout above 29 s only on Regional (and private) REST APIs,
and only up to the account's quota "Maximum integration timeout in milliseconds", which is 29000 ms
until raised in Service Quotas:
https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-execution-service-limits-table.html
The quota is found by its name, not by a quota code written down here: ``ListAWSDefaultServiceQuotas``
lists every API Gateway quota with its code and default value, page by page while a ``NextToken``
comes back (a page may hold fewer than ``MaxResults`` even when more follow):
https://docs.aws.amazon.com/servicequotas/2019-06-24/apireference/API_ListAWSDefaultServiceQuotas.html
Then ``GetServiceQuota`` for that code returns the applied value; "for some quotas, only the default
values are available", and then the quota "is not retrieved": the error for that is
``NoSuchResourceException`` ("the specified resource does not exist"), and the listed default is then
the account's value (a quota without an applied value has never been raised):
https://docs.aws.amazon.com/servicequotas/2019-06-24/apireference/API_GetServiceQuota.html
The stack gets 62000 ms (the full 60 s wait plus 2 s to answer) where the quota allows, else 29000 ms."""

import argparse
import os
import shlex
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

SERVICE_CODE = "apigateway"
QUOTA_NAME = "Maximum integration timeout in milliseconds"
FULL_WAIT_TIMEOUT_MS = 62_000
DEFAULT_TIMEOUT_MS = 29_000


@dataclass(frozen=True)
class TimeoutChoice:
    timeout_ms: int
    sentence: str


def _fallback(why: str) -> TimeoutChoice:
    return TimeoutChoice(
        DEFAULT_TIMEOUT_MS,
        f"{why}: deploying with IntegrationTimeoutMs={DEFAULT_TIMEOUT_MS} (waits capped at 27 s), which "
        f'every account accepts; for the full 60 s wait, raise the API Gateway quota "{QUOTA_NAME}" '
        f"to {FULL_WAIT_TIMEOUT_MS} in Service Quotas and deploy again.",
    )


def _listed_quota(service_quotas: Any) -> dict[str, Any] | None:
    """The quota named QUOTA_NAME in API Gateway's default-quota listing (all pages), or None."""
    # The paginator follows NextToken until it is absent; MaxResults is 1..100:
    # https://docs.aws.amazon.com/servicequotas/2019-06-24/apireference/API_ListAWSDefaultServiceQuotas.html
    pages = service_quotas.get_paginator("list_aws_default_service_quotas").paginate(
        ServiceCode=SERVICE_CODE, PaginationConfig={"PageSize": 100}
    )
    for page in pages:
        for quota in page.get("Quotas", []):
            if quota.get("QuotaName") == QUOTA_NAME and quota.get("QuotaCode"):
                return quota
    return None


def _applied_quota(service_quotas: Any, listed: dict[str, Any]) -> tuple[Any, str]:
    """The account's value of the listed quota, and where it comes from."""
    try:
        quota = service_quotas.get_service_quota(ServiceCode=SERVICE_CODE, QuotaCode=listed["QuotaCode"])
    except ClientError as exc:
        # No applied value (a quota never raised): the default is the account's value.
        # https://docs.aws.amazon.com/servicequotas/2019-06-24/apireference/API_GetServiceQuota.html
        if exc.response.get("Error", {}).get("Code") != "NoSuchResourceException":
            raise
        return listed.get("Value"), "its default"
    return quota["Quota"].get("Value"), "applied"


def choose_timeout(service_quotas: Any) -> TimeoutChoice:
    """62000 where the account's integration-timeout quota allows it, else 29000, with the reason."""
    try:
        listed = _listed_quota(service_quotas)
        if listed is None:
            return _fallback(f'Service Quotas lists no API Gateway quota named "{QUOTA_NAME}"')
        value, source = _applied_quota(service_quotas, listed)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code, message = error.get("Code", "error"), error.get("Message", "")
        return _fallback(f'could not read the API Gateway quota "{QUOTA_NAME}" ({code}: {message})')
    except BotoCoreError as exc:
        return _fallback(f'could not read the API Gateway quota "{QUOTA_NAME}" ({exc})')
    if not isinstance(value, int | float):
        return _fallback(f'Service Quotas gave no value for the API Gateway quota "{QUOTA_NAME}"')
    quota = f'The API Gateway quota "{QUOTA_NAME}" ({listed["QuotaCode"]}) is {value:.0f} ms ({source})'
    if value >= FULL_WAIT_TIMEOUT_MS:
        return TimeoutChoice(
            FULL_WAIT_TIMEOUT_MS,
            f"{quota}: deploying with IntegrationTimeoutMs={FULL_WAIT_TIMEOUT_MS} (the full 60 s wait).",
        )
    return _fallback(quota)


def deploy_command(sam: str, timeout_ms: int, region: str | None, extra: list[str]) -> list[str]:
    command = [sam, "deploy", "--guided", "--parameter-overrides", f"IntegrationTimeoutMs={timeout_ms}"]
    if region:
        command += ["--region", region]
    return command + extra


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m session_relay_tools.deploy",
        description="Guided sam deploy with the integration timeout the account's quota allows.",
    )
    parser.add_argument("--sam", default="sam", help="the sam executable (default: sam on PATH)")
    parser.add_argument("--region", default=os.environ.get("AWS_REGION"), help="AWS Region to deploy to")
    parser.add_argument("--dry-run", action="store_true", help="print the sam command instead of running it")
    args, extra = parser.parse_known_args(argv)
    try:
        client = boto3.client("service-quotas", region_name=args.region)
    except BotoCoreError as exc:  # no Region configured at all
        choice = _fallback(f'could not reach Service Quotas to read "{QUOTA_NAME}" ({exc})')
    else:
        choice = choose_timeout(client)
    print(choice.sentence, flush=True)
    command = deploy_command(args.sam, choice.timeout_ms, args.region, extra)
    if args.dry_run:
        print(shlex.join(command))
        return 0
    return subprocess.call(command)  # noqa: S603 - sam, with arguments built above


if __name__ == "__main__":
    sys.exit(main())
