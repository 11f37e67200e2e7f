"""The FastAPI app: every router included, every error mapped to the contract's shape, in one place.

Each route checks in the contract's order: route (404/405, by the router) -> key (401) -> scope (403)
-> body (400/413/422, ``api.requests``) -> calls in flight (429) -> session (404), the last two in the
service.
"""

from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from session_relay.api.bodies import describe_errors
from session_relay.api.documented import document
from session_relay.api.responses import failure
from session_relay.api.routers import bans, broadcasts, docs, health, key, outcomes, sessions, webhooks
from session_relay.dashboard import router as dashboard_router
from session_relay.errors import RelayError
from session_relay.observability import logger
from session_relay.settings import DEFAULT_INTEGRATION_TIMEOUT_MS, get_settings, max_wait_for

INFO = {
    "title": "Session Relay",
    "version": "1.0",
    "description": "Look up, message and disconnect live Roblox executor sessions.",
}
# In the document, in this order; each a DocumentedRouter (session_relay.api.documented).
DOCUMENTED = (
    health.router,
    key.router,
    sessions.router,
    outcomes.router,
    broadcasts.router,
    webhooks.router,
    bans.router,
)

app = FastAPI(
    **INFO,
    # A trailing-slash redirect would point outside the API Gateway stage: answer 404 instead.
    redirect_slashes=False,
    # Served by routers.docs with relative URLs, so they work under the API Gateway stage path.
    docs_url=None,
    redoc_url=None,
)
app.include_router(docs.router)
for documented in DOCUMENTED:
    app.include_router(documented)
app.include_router(dashboard_router)


# ---------------------------------------------------------------- errors, in one place


@app.exception_handler(RelayError)
async def _relay_error(_: Request, exc: RelayError) -> JSONResponse:
    if exc.status >= 500:
        logger.warning("dependency unavailable", extra={"error": exc.message})
    return failure(exc.status, exc.message, exc.headers)


@app.exception_handler(StarletteHTTPException)
async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    if exc.status_code == 404:
        return failure(404, f"no route {request.method} {request.url.path}")
    if exc.status_code == 405:
        allow = {"Allow": _allowed_methods(request.url.path)} if request.url.path else exc.headers
        return failure(405, f"method {request.method} is not allowed on {request.url.path}", allow)
    return failure(exc.status_code, str(exc.detail))


def _allowed_methods(path: str) -> str:
    """The methods this path supports, for a 405's ``Allow`` header (RFC 9110). The router names only
    the first route that matched (``/sessions/message`` also matches ``/sessions/{session_id}``);
    a literal route is the resource the caller meant, so it wins over templated ones."""
    matching = [route for route in _routes(app.routes) if route.path_regex.match(path)]
    literal = [route for route in matching if "{" not in route.path]
    return ", ".join(sorted({method for route in literal or matching for method in route.methods or ()}))


@app.exception_handler(RequestValidationError)
async def _request_error(_: Request, exc: RequestValidationError) -> JSONResponse:
    return failure(422, describe_errors(exc.errors()))


@app.exception_handler(Exception)
async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    logger.exception("unexpected error")
    return failure(500, "internal error")


# ---------------------------------------------------------------- OpenAPI glue


def _openapi() -> dict[str, Any]:
    """The generated document (built once), plus the bearer scheme every route but ``/health``
    requires and the deployment's maximum wait."""
    if app.openapi_schema is None:
        generated = document(INFO, DOCUMENTED)
        generated["components"]["securitySchemes"] = {
            "ApiKey": {"type": "http", "scheme": "bearer", "description": "An owner API key"}
        }
        app.openapi_schema = generated
    publish_maximum_wait(app.openapi_schema)
    return app.openapi_schema


app.openapi = _openapi  # type: ignore[method-assign]


def publish_maximum_wait(document: dict[str, Any]) -> None:
    """Give the ``wait`` parameters of the OpenAPI document this deployment's maximum (the SDK reads
    it to long-poll in steps a deployment with a short integration timeout can serve)."""
    try:
        maximum = get_settings().max_wait_s
    except RuntimeError:  # a process without a deployment's environment documents the default
        maximum = max_wait_for(DEFAULT_INTEGRATION_TIMEOUT_MS)
    for path in document.get("paths", {}).values():
        for parameter in path.get("get", {}).get("parameters", []):
            if parameter.get("name") == "wait" and parameter.get("in") == "query":
                parameter["schema"] = {**parameter["schema"], "maximum": maximum}


def _routes(routes: list[Any]) -> Iterator[Any]:
    """Every path route, also those inside included routers (FastAPI keeps an included router as one
    entry of ``app.routes``, its own routes under ``original_router``; no router here has a prefix)."""
    for route in routes:
        if hasattr(route, "original_router"):
            yield from _routes(route.original_router.routes)
        elif getattr(route, "path_regex", None):
            yield route
