"""Routes documented on demand: a ``DocumentedRouter`` adds each route without what only the OpenAPI
document reads (response models, documented errors, body schemas), and ``document`` renders them the
first time ``/openapi.json`` or ``/docs`` is asked for, keeping that work out of every cold start
(docs/design.md, "Cold start").
"""

from collections.abc import Callable, Iterable
from typing import Any

from fastapi import APIRouter, FastAPI
from pydantic import BaseModel

# Models nested in request bodies (``SessionFilter``) go to the document's components (``document``):
# a ``$ref`` resolves from the document's root, not from inside a body.
_COMPONENT_REF = "#/components/schemas/{model}"

_DOCUMENTATION = ("response_model", "responses", "openapi_extra")


class DocumentedRouter(APIRouter):
    """An ``APIRouter`` whose routes get their documentation (``response_model``, ``responses``
    and ``openapi_extra``, where ``"requestBody"`` may be a pydantic model) only in ``document``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.documented: list[tuple[str, Callable[..., Any], dict[str, Any]]] = []

    def add_api_route(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        self.documented.append((path, endpoint, kwargs))
        live = {name: value for name, value in kwargs.items() if name not in _DOCUMENTATION}
        super().add_api_route(path, endpoint, **live)


def document(info: dict[str, Any], routers: Iterable[DocumentedRouter]) -> dict[str, Any]:
    """The OpenAPI document of these routers' routes, with all their documentation, for an app
    made with ``info`` (title, version, description); plus the schemas of models nested in
    request bodies, under ``components``."""
    twin = FastAPI(**info)
    components: dict[str, Any] = {}
    for router in routers:
        documented = APIRouter()
        for path, endpoint, kwargs in router.documented:
            extra = dict(kwargs.get("openapi_extra") or {})
            if isinstance(body := extra.get("requestBody"), type) and issubclass(body, BaseModel):
                extra["requestBody"] = _request_body(body, components)
            documented.add_api_route(path, endpoint, **{**kwargs, "openapi_extra": extra or None})
        twin.include_router(documented)
    result = twin.openapi()
    result.setdefault("components", {}).setdefault("schemas", {}).update(components)
    return result


def _request_body(model: type[BaseModel], components: dict[str, Any]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template=_COMPONENT_REF)
    components.update(schema.pop("$defs", {}))
    return {"required": True, "content": {"application/json": {"schema": schema}}}
