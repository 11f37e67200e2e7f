"""What a route reads from its request, in the contract's order of checks: the key (401) and its scope
(403), the query (422) and the body (400/413/422), and the invocation's own time (``Call``). Bodies
are parsed here, not by FastAPI, to keep that order and to refuse what ``json`` would otherwise accept
(NaN)."""

import re

from fastapi import Request
from pydantic import BaseModel, ValidationError

from session_relay.api.bodies import describe_errors
from session_relay.contract import shown
from session_relay.errors import MalformedBody, PayloadTooLarge, ValidationFailed
from session_relay.service.access import Principal, require
from session_relay.service.calls import Call
from session_relay.service.idempotency import HEADER
from session_relay.service.messaging import Retry
from session_relay.service.wiring import get_authenticator
from session_relay.settings import get_settings
from session_relay.wire import parse_json

MAX_BODY_BYTES = 1_048_576
# A plain decimal number (as any client prints a float: "2", "2.5", "1e-05"); no sign, no NaN.
_WAIT_ONLY = frozenset({"wait"})
_SECONDS = re.compile(r"[0-9]{1,20}(\.[0-9]{1,20})?([eE][-+]?[0-9]{1,3})?")


def principal(request: Request, scope: str | None) -> Principal:
    """The caller's key (401 when missing or unknown), allowed to do what ``scope`` covers (403
    otherwise; ``None``: any key). Every route calls this first, before reading its query or body."""
    caller = get_authenticator().authenticate(request.headers.get("authorization"))
    if scope is not None:
        require(caller, scope)
    return caller


def no_query(request: Request, allowed: frozenset[str] = frozenset()) -> None:
    """A query parameter the route does not take is a 422 (a typo must not be silently ignored)."""
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        takes = ", ".join(sorted(allowed)) or "none"
        raise ValidationFailed(f"{unknown[0]}: is not a query parameter of this route (it takes {takes})")


async def body[M: BaseModel](request: Request, model: type[M]) -> M:
    """The JSON body as ``model`` (400 not JSON, 413 too large, 422 naming the failing field)."""
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"the request body is over {MAX_BODY_BYTES} bytes")
    try:
        document = parse_json(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedBody(f"the request body is not valid JSON ({exc})") from exc
    if not isinstance(document, dict):
        raise ValidationFailed("body: must be a JSON object")
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        raise ValidationFailed(describe_errors(exc.errors(), model)) from exc


def wait_query(request: Request) -> float:
    """The ``wait`` query parameter in seconds: 0 <= wait <= the deployment's maximum wait, default 0.
    Any other parameter is a 422 (a typo must not silently mean "do not wait")."""
    no_query(request, _WAIT_ONLY)
    maximum = get_settings().max_wait_s
    values = request.query_params.getlist("wait")
    if not values:
        return 0.0
    if len(values) > 1 or not _SECONDS.fullmatch(values[0]) or float(values[0]) > maximum:
        wrong = f"{len(values)} values" if len(values) > 1 else shown(values[0])
        raise ValidationFailed(f"wait: must be a number of seconds from 0 to {maximum:g} (got {wrong})")
    return float(values[0])


def call(request: Request) -> Call:
    """The invocation's time: the Lambda's remaining milliseconds and when API Gateway received the
    request (``requestContext.requestTimeEpoch`` of the REST proxy event, epoch ms):
    https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html
    """
    context = request.scope.get("aws.context")
    event_context = (request.scope.get("aws.event") or {}).get("requestContext") or {}
    arrival = event_context.get("requestTimeEpoch")
    return Call(
        remaining_ms=context.get_remaining_time_in_millis() if context is not None else None,
        arrival_ms=arrival if isinstance(arrival, int) and not isinstance(arrival, bool) else None,
        lambda_context=context,
    )


async def retry(request: Request) -> Retry:
    """The ``Idempotency-Key`` header (checked by the service, 422) and what identifies this request:
    its route and its body as a JSON document (key order and spacing do not matter)."""
    header = request.headers.get(HEADER)
    if header is None:
        return Retry(None, {})
    route = f"{request.method} {request.url.path}"
    return Retry(header, {"route": route, "body": parse_json(await request.body())})
