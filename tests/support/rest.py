"""The REST API through its Lambda entry point (Mangum in front of the FastAPI app, as deployed),
called with API Gateway REST proxy events."""

import asyncio
import base64
import json
from dataclasses import dataclass
from typing import Any

from session_relay_tools.local import functions
from support.events import rest_event
from support.functions import Handler, LambdaContext


@dataclass
class RestResponse:
    """What API Gateway would hand back to the caller."""

    status_code: int
    text: str
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.text)


class RestCaller:
    """Calls the REST handler with events built by ``support.events.rest_event``.

    Call it from the test's own thread: Mangum runs the app on that thread's event loop.
    """

    def __init__(self, handler: Handler) -> None:
        self.handler = handler

    def request(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
        json_body: Any = None,
        content: str | bytes | None = None,
        context: functions.LambdaContext | None = None,
        arrival_ms: int | None = None,
    ) -> RestResponse:
        if json_body is not None:
            content = json.dumps(json_body)
        event = rest_event(
            method, path, headers=headers, params=params, content=content, arrival_ms=arrival_ms
        )
        return self.invoke(event, context)

    def invoke(self, event: dict[str, Any], context: functions.LambdaContext | None = None) -> RestResponse:
        _give_the_thread_an_event_loop()
        answer = self.handler(event, context or LambdaContext())
        body = answer["body"]
        if answer.get("isBase64Encoded"):
            body = base64.b64decode(body).decode()
        return RestResponse(answer["statusCode"], body, dict(answer.get("headers") or {}))

    def get(self, path: str, **kwargs: Any) -> RestResponse:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any) -> RestResponse:
        return self.request("POST", path, json_body=json, **kwargs)


def _give_the_thread_an_event_loop() -> None:
    """Mangum runs the app on the calling thread's event loop (``asyncio.get_event_loop``), which a
    Lambda process's thread has; an earlier test's ``asyncio.run`` leaves this thread without one."""
    policy = asyncio.get_event_loop_policy()
    try:
        policy.get_event_loop()
    except RuntimeError:
        policy.set_event_loop(policy.new_event_loop())
