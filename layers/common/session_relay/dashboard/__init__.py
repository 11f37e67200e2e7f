"""The owner dashboard (PROTOCOL.md section 4): ``GET /dashboard`` and its static files.

The page is plain HTML, CSS and JavaScript modules shipped in ``static/`` beside this module, so nothing
is built at deploy time and nothing is loaded from another host. Every URL in it is relative: under an
API Gateway stage (``https://…/prod/dashboard``) the page loads ``…/prod/dashboard/app.js`` and calls
``…/prod/sessions``. No key is needed to load it; the page sends the key the owner types with each call.
The page and its files ignore the query string (PROTOCOL.md section 1, "Errors"): a cache or a link
checker may add parameters of its own.
"""

from functools import lru_cache
from importlib.resources import files

from fastapi import APIRouter
from fastapi.responses import Response

# Strict: only this page's own files may run or style it, it may talk only to its own API, and no
# inline script, inline style, plugin, form submission, <base> or framing is allowed. Trusted Types
# with no policy make any HTML-string sink (innerHTML and friends) throw, so data is only ever text.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        # Only the empty inline icon (which stops a browser asking the host's root for /favicon.ico).
        "img-src data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
        "require-trusted-types-for 'script'",
        "trusted-types 'none'",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    # Small files that change with each deploy: revalidate rather than serve a stale page.
    "Cache-Control": "no-cache",
}

# Path under /dashboard -> (file in static/, media type). Only these are served, and only text: the REST
# API has no binaryMediaTypes, so API Gateway would pass a base64-encoded (binary) answer through as its
# base64 text (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-payload-encodings.html).
# Mangum encodes anything but text/* and a few JSON/XML types, so every file here is text/*.
PAGE = ("index.html", "text/html; charset=utf-8")
ASSETS = {
    "style.css": ("style.css", "text/css; charset=utf-8"),
    "app.js": ("app.js", "text/javascript; charset=utf-8"),
    "api.js": ("api.js", "text/javascript; charset=utf-8"),
    "table.js": ("table.js", "text/javascript; charset=utf-8"),
    "chart.js": ("chart.js", "text/javascript; charset=utf-8"),
    "broadcasts.js": ("broadcasts.js", "text/javascript; charset=utf-8"),
    "webhook.js": ("webhook.js", "text/javascript; charset=utf-8"),
}

router = APIRouter(include_in_schema=False)


@lru_cache(maxsize=len(ASSETS) + 1)
def static_file(name: str) -> bytes:
    """The bytes of one file in ``static/``, read once per container."""
    return (files(__package__) / "static" / name).read_bytes()


def _serve(name: str, media_type: str) -> Response:
    return Response(static_file(name), media_type=media_type, headers=SECURITY_HEADERS)


@router.get("/dashboard")
async def dashboard() -> Response:
    return _serve(*PAGE)


def _asset_route(path: str, name: str, media_type: str) -> None:
    async def asset() -> Response:
        return _serve(name, media_type)

    router.add_api_route(f"/dashboard/{path}", asset, methods=["GET"], name=f"dashboard {path}")


for _path, (_name, _media_type) in ASSETS.items():
    _asset_route(_path, _name, _media_type)
