"""The local REST gateway hands the function the request path as the client sent it, percent-encoding
kept, as a REST API's proxy event carries it (``path``, ``pathParameters``, ``requestContext.path``);
the function's adapter decodes it once. AWS documents the fields:
https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html#api-gateway-simple-proxy-for-lambda-input-format
and a live capture shows the encoding kept (``"path": "/capture/space%20value"``):
https://gh.yyyyyyy.vvvv.ee/hotsock/voker/blob/main/vokerhttp/testdata/apigwv1-request.json
"""

import asyncio

import pytest


@pytest.mark.parametrize("path", ["/no%2541", "/sessions/%41bc", "/sessions/%2541bc", "/a%20b", "/plain"])
def test_the_event_path_is_the_request_path_as_sent(make_host, rest_client, path):
    host = make_host(concurrency=2)

    async def scenario():
        async with rest_client(host) as client:
            return await client.post(path, json={"echo_path": True})

    answer = asyncio.run(scenario())

    assert answer.status_code == 200
    assert answer.json() == {"path": path, "pathParameters": {"proxy": path.lstrip("/")}}
