"""The OpenAPI viewers, with URLs relative to themselves so they work under an API Gateway stage path
(behind ``https://…/prod/docs`` the viewer loads ``https://…/prod/openapi.json``). Like ``/health``,
``/openapi.json`` (FastAPI's own route, api/main.py) and ``/dashboard``, they ignore the query string
(PROTOCOL.md section 1, "Errors"): caches and link checkers add parameters of their own."""

from fastapi import APIRouter
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)
TITLE = "Session Relay - docs"


@router.get("/docs")
def docs() -> HTMLResponse:
    return get_swagger_ui_html(openapi_url="openapi.json", title=TITLE)


@router.get("/redoc")
def redoc() -> HTMLResponse:
    return get_redoc_html(openapi_url="openapi.json", title=TITLE)
