"""The FastAPI app: every router included, every error mapped to the contract's shape, in one place.

Each route checks in the contract's order: route (404/405, by the router) -> key (401) ->
body (400/413/422) -> calls in flight (429) -> session (404).
"""

from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from session_relay.api.dependencies import describe
from session_relay.api.reading import publish_maximum_wait
from session_relay.api.responses import BODY_COMPONENTS, failure
from session_relay.api.routers import batches, docs, health, messages, sessions
from session_relay.dashboard import router as dashboard_router
from session_relay.errors import RelayError
from session_relay.observability import logger

app = FastAPI(
    title="Session Relay",
    version="1.0",
    description="Look up, message and disconnect live Roblox executor sessions.",
    # A trailing-slash redirect would point outside the API Gateway stage: answer 404 instead.
    redirect_slashes=False,
    # Served by routers.docs with relative URLs, so they work under the API Gateway stage path.
    docs_url=None,
    redoc_url=None,
)
app.include_router(docs.router)
app.include_router(health.router)
app.include_router(sessions.router)
app.include_router(messages.router)
app.include_router(batches.router)
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
    return failure(422, describe(exc.errors()))


@app.exception_handler(Exception)
async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    logger.exception("unexpected error")
    return failure(500, "internal error")


# ---------------------------------------------------------------- OpenAPI glue

_default_openapi = app.openapi


def _openapi() -> dict[str, Any]:
    """The generated document, plus the bearer scheme every route but ``/health`` requires."""
    document = _default_openapi()
    document.setdefault("components", {})["securitySchemes"] = {
        "ApiKey": {"type": "http", "scheme": "bearer", "description": "An owner API key"}
    }
    document["components"].setdefault("schemas", {}).update(BODY_COMPONENTS)
    publish_maximum_wait(document)
    return document


app.openapi = _openapi  # type: ignore[method-assign]


def _routes(routes: list[Any]) -> Iterator[Any]:
    """Every path route, also those inside included routers (FastAPI keeps an included router as one
    entry of ``app.routes``, its own routes under ``original_router``; no router here has a prefix)."""
    for route in routes:
        if hasattr(route, "original_router"):
            yield from _routes(route.original_router.routes)
        elif getattr(route, "path_regex", None):
            yield route
