"""session_relay.gateway.Gateway against a real ``apigatewaymanagementapi`` client under botocore's
Stubber: 410 GoneException is False, throttling is retried until the deadline, a refusal is
ServiceUnavailable at once (the retries themselves: test_gateway_retry.py)."""

import pytest
from botocore.exceptions import EndpointConnectionError
from botocore.stub import Stubber
from session_relay.aws import management_client
from session_relay.clock import now_ms
from session_relay.errors import ServiceUnavailable
from session_relay.gateway import Gateway, gateway_for
from support.environment import MANAGEMENT_API_URL


@pytest.fixture
def stubbed():
    client = management_client(MANAGEMENT_API_URL)
    with Stubber(client) as stubber:
        yield Gateway(client), stubber


def test_post_sends_the_frame_as_compact_utf8_json(stubbed):
    gateway, stubber = stubbed
    stubber.add_response(
        "post_to_connection",
        {},
        expected_params={"ConnectionId": "conn-1=", "Data": '{"type":"hello","name":"Zoë 🌍"}'.encode()},
    )

    assert gateway.post("conn-1=", {"type": "hello", "name": "Zoë 🌍"}) is True
    stubber.assert_no_pending_responses()


def test_post_to_a_gone_connection_returns_false(stubbed):
    gateway, stubber = stubbed
    stubber.add_client_error("post_to_connection", service_error_code="GoneException", http_status_code=410)

    assert gateway.post("conn-1=", {"type": "pong"}) is False
    stubber.assert_no_pending_responses()


def test_close_of_a_gone_connection_returns_false(stubbed):
    gateway, stubber = stubbed
    stubber.add_client_error("delete_connection", service_error_code="GoneException", http_status_code=410)

    assert gateway.close("conn-1=") is False


def test_close_of_a_live_connection_returns_true(stubbed):
    gateway, stubber = stubbed
    stubber.add_response("delete_connection", {}, expected_params={"ConnectionId": "conn-1="})

    assert gateway.close("conn-1=") is True
    stubber.assert_no_pending_responses()


def test_throttled_post_is_retried_until_it_succeeds(stubbed):
    gateway, stubber = stubbed
    for _ in range(2):
        stubber.add_client_error(
            "post_to_connection", service_error_code="LimitExceededException", http_status_code=429
        )
    stubber.add_response("post_to_connection", {})

    assert gateway.post("conn-1=", {"type": "pong"}) is True
    stubber.assert_no_pending_responses()


def test_throttling_that_persists_past_the_deadline_is_service_unavailable_never_gone(stubbed):
    gateway, stubber = stubbed
    for _ in range(50):
        stubber.add_client_error(
            "post_to_connection", service_error_code="LimitExceededException", http_status_code=429
        )

    with pytest.raises(ServiceUnavailable):  # not False: a throttled connection is not gone
        gateway.post("conn-1=", {"type": "pong"}, deadline_ms=now_ms() + 300)

    with pytest.raises(AssertionError):  # it stopped at the deadline, long before 50 attempts
        stubber.assert_no_pending_responses()


@pytest.mark.parametrize(
    ("code", "status"),
    [("ForbiddenException", 403), ("PayloadTooLargeException", 413)],
)
def test_other_errors_are_service_unavailable_without_retry(stubbed, code, status):
    gateway, stubber = stubbed
    stubber.add_client_error("post_to_connection", service_error_code=code, http_status_code=status)
    stubber.add_response("post_to_connection", {})

    with pytest.raises(ServiceUnavailable) as raised:
        gateway.post("conn-1=", {"type": "pong"})

    assert raised.value.status == 503
    with pytest.raises(AssertionError):
        stubber.assert_no_pending_responses()


def test_unreachable_endpoint_is_service_unavailable():
    real = management_client(MANAGEMENT_API_URL)

    class Unreachable:
        exceptions = real.exceptions

        def post_to_connection(self, **kwargs):
            raise EndpointConnectionError(endpoint_url=MANAGEMENT_API_URL)

    with pytest.raises(ServiceUnavailable):
        Gateway(Unreachable()).post("conn-1=", {"type": "pong"})


def test_gateway_for_reuses_one_client_per_stage_url():
    assert gateway_for(MANAGEMENT_API_URL).client is gateway_for(MANAGEMENT_API_URL).client
    assert gateway_for(MANAGEMENT_API_URL).client.meta.endpoint_url == MANAGEMENT_API_URL
