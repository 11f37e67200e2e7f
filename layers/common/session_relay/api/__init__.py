"""The REST API (PROTOCOL.md section 1) as a FastAPI app; ``functions/rest_api`` wraps it in Mangum.

- ``main``: the FastAPI app: includes every router, owns the error mapping and the OpenAPI glue;
- ``dependencies``: request pieces every router shares (key, body, owned sessions, the messenger);
- ``responses``: answer shapes and the documented errors (for OpenAPI);
- ``routers/``: one ``APIRouter`` per resource (``health``, ``sessions``); a new resource is a new
  module there, included in ``main``.
"""

from session_relay.api.dependencies import get_messenger
from session_relay.api.main import app

__all__ = ["app", "get_messenger"]
