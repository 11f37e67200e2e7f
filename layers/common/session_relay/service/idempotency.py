"""Retries without repeats: a message call with an ``Idempotency-Key`` runs once per key for 15 minutes,
on Powertools' idempotency utility with its DynamoDB persistence. Records are keyed by the API key's id
and the header's value and hold a hash of the route and body; a repeat gets the first answer, 409 while
it runs. https://docs.powertools.aws.dev/lambda/python/latest/utilities/idempotency/
"""

import hashlib
import json
import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyPersistenceLayerError,
    IdempotencyValidationError,
)

from session_relay.aws import dynamodb_client
from session_relay.errors import Conflict, ServiceUnavailable, ValidationFailed
from session_relay.observability import logger
from session_relay.settings import get_settings

HEADER = "Idempotency-Key"
RETRY_WINDOW_S = 15 * 60
_VISIBLE_ASCII = re.compile(r"[\x21-\x7e]{1,128}")


def idempotency_key(value: str | None) -> str | None:
    """The header's value (None when absent); anything but 1..128 visible ASCII characters is a 422."""
    if value is None:
        return None
    if not _VISIBLE_ASCII.fullmatch(value):
        raise ValidationFailed(f"{HEADER}: must be 1 to 128 visible ASCII characters (no spaces)")
    return value


@lru_cache(maxsize=1)
def persistence() -> DynamoDBPersistenceLayer:
    """The container's persistence layer (on the shared DynamoDB client, so tests and the local
    stack reach the same endpoint as the store)."""
    table = get_settings().idempotency_table
    if not table:
        raise RuntimeError("IDEMPOTENCY_TABLE is not set: Idempotency-Key cannot be honoured")
    client = dynamodb_client()
    return DynamoDBPersistenceLayer(table_name=table, expiry_attr="expires_at", boto3_client=client)


def derived_id(scope: str, key: str, request: dict[str, Any]) -> str:
    """An id that every attempt of one idempotent call computes alike (32 hex digits): the same scope,
    key and request (as a JSON document: key order and spacing do not matter) give the same id."""
    document = json.dumps([scope, key, request], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(document.encode()).hexdigest()[:32]


def run_once(
    scope: str, key: str, request: dict[str, Any], run: Callable[[], dict[str, Any]], lambda_context: Any
) -> dict[str, Any]:
    """``run()`` once per (``scope``, ``key``): a repeat of the same ``request`` gets what the first
    run returned (a JSON document); another ``request`` under the same key is a 422."""
    config = IdempotencyConfig(
        event_key_jmespath="[scope, key]",
        payload_validation_jmespath="request",
        expires_after_seconds=RETRY_WINDOW_S,
        hash_function="sha256",
        raise_on_no_idempotency_key=True,
    )
    if lambda_context is not None:  # bounds how long a call that died mid-way keeps its key
        config.register_lambda_context(lambda_context)

    answered: list[dict[str, Any]] = []

    def first(call: dict[str, Any]) -> dict[str, Any]:
        answered.append(run())
        return answered[0]

    once = idempotent_function(
        first,
        data_keyword_argument="call",
        persistence_store=persistence(),
        config=config,
        key_prefix="calls",
    )
    try:
        return once(call={"scope": scope, "key": key, "request": request})
    except IdempotencyAlreadyInProgressError as exc:
        raise Conflict(f"a call with this {HEADER} is still running; retry once it has answered") from exc
    except IdempotencyValidationError as exc:
        raise ValidationFailed(f"{HEADER}: already used for another request (another route or body)") from exc
    except IdempotencyPersistenceLayerError as exc:
        logger.warning("idempotency store failed", extra={"error": str(exc)})
        if answered:  # it ran: its answer stands (a retry finds what it started by its derived id)
            return answered[0]
        raise ServiceUnavailable("the idempotency store is unavailable, try again shortly") from exc
