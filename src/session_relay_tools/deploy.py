"""``make deploy``: a guided ``sam deploy`` whose integration timeout fits the account.

API Gateway accepts a REST integration timeout above 29 s only on Regional (and private) REST APIs,
and only up to the account's quota "Maximum integration timeout in milliseconds", which is 29000 ms
until raised in Service Quotas:
https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-execution-service-limits-table.html
So the quota is read first (Service Quotas ``GetServiceQuota``, which returns the applied value:
https://docs.aws.amazon.com/servicequotas/2019-06-24/apireference/API_GetServiceQuota.html) and the
stack gets 62000 ms (the full 60 s wait plus 2 s to answer) where it allows, else 29000 ms.
"""

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
QUOTA_CODE = "L-E5AE38E3"
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


def choose_timeout(service_quotas: Any) -> TimeoutChoice:
    """62000 where the account's integration-timeout quota allows it, else 29000, with the reason."""
    try:
        quota = service_quotas.get_service_quota(ServiceCode=SERVICE_CODE, QuotaCode=QUOTA_CODE)["Quota"]
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code, message = error.get("Code", "error"), error.get("Message", "")
        return _fallback(f'could not read the API Gateway quota "{QUOTA_NAME}" ({code}: {message})')
    except BotoCoreError as exc:
        return _fallback(f'could not read the API Gateway quota "{QUOTA_NAME}" ({exc})')
    value = quota.get("Value")
    if not isinstance(value, int | float):
        return _fallback(f'Service Quotas gave no value for the API Gateway quota "{QUOTA_NAME}"')
    if value >= FULL_WAIT_TIMEOUT_MS:
        return TimeoutChoice(
            FULL_WAIT_TIMEOUT_MS,
            f'The API Gateway quota "{QUOTA_NAME}" is {value:.0f} ms: deploying with '
            f"IntegrationTimeoutMs={FULL_WAIT_TIMEOUT_MS} (the full 60 s wait).",
        )
    return _fallback(f'The API Gateway quota "{QUOTA_NAME}" is {value:.0f} ms')


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
