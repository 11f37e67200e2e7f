"""The REST API (PROTOCOL.md section 1) as a FastAPI app; ``functions/rest_api`` wraps it in Mangum.

- ``main``: the app: includes every router, owns the error mapping and the OpenAPI glue;
- ``requests``: what a route reads from its request (key, query, body, the invocation's time);
- ``bodies``: the request bodies and queries as pydantic models, and the 422 sentence;
- ``responses``: answer shapes and documented errors (for OpenAPI), and ``answer`` for a service result;
- ``documented``: routes whose OpenAPI documentation is built only when the document is asked for;
- ``routers/``: one ``APIRouter`` per resource: ``health``, ``sessions``, ``outcomes`` (messages and
  batches answered later), ``docs``; the dashboard's router lives in ``session_relay.dashboard``.

A route parses, checks the key, makes one call to ``session_relay.service`` and answers its result;
no module here touches the store.
"""

from session_relay.api.main import app

__all__ = ["app"]
