"""boto3 clients, created once per container and shared by every thread (boto3 clients are thread safe).

``use_dynamodb_client`` and ``use_management_client`` are where tests and the local stack put their
own clients: the factory given makes the client from then on (``None``: the default again).
"""

from collections.abc import Callable
from functools import lru_cache
from typing import Any

import boto3
from botocore.config import Config

from session_relay.settings import get_settings

# Standard mode retries throttling and transient errors with exponential backoff and jitter.
DYNAMODB_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 6},
    connect_timeout=2,
    read_timeout=5,
    max_pool_connections=64,
)
# One attempt per call: session_relay.gateway owns every retry of the Management API. botocore's standard
# mode counts LimitExceededException as throttling and backs off from it for up to a second, then two
# (rand * 2**i s, up to 20 s), unaware of the caller's deadline; under the gateway's own retries its
# attempts would multiply with them. "Retries", boto3's guide (standard mode: throttling and transient
# errors, 3 attempts unless max_attempts says otherwise): https://docs.aws.amazon.com/boto3/latest/guide/retries.html
MANAGEMENT_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 1},  # the request alone, no retry
    connect_timeout=2,
    read_timeout=5,
    max_pool_connections=64,
)


def default_dynamodb_client() -> Any:
    """A DynamoDB client with ``DYNAMODB_CONFIG`` (the endpoint comes from settings when one is set)."""
    return boto3.client("dynamodb", endpoint_url=get_settings().dynamodb_endpoint_url, config=DYNAMODB_CONFIG)


def default_management_client(endpoint_url: str) -> Any:
    """A Management API (``@connections``) client with ``MANAGEMENT_CONFIG`` for one stage URL."""
    return boto3.client("apigatewaymanagementapi", endpoint_url=endpoint_url, config=MANAGEMENT_CONFIG)


_make_dynamodb_client: Callable[[], Any] = default_dynamodb_client
_make_management_client: Callable[[str], Any] = default_management_client


def use_dynamodb_client(factory: Callable[[], Any] | None) -> None:
    """Make the container's DynamoDB client with ``factory()`` from now on (``None``: the default)."""
    global _make_dynamodb_client
    _make_dynamodb_client = factory or default_dynamodb_client
    dynamodb_client.cache_clear()


def use_management_client(factory: Callable[[str], Any] | None) -> None:
    """Make Management API clients with ``factory(endpoint_url)`` from now on (``None``: the default)."""
    global _make_management_client
    _make_management_client = factory or default_management_client
    management_client.cache_clear()


@lru_cache(maxsize=1)
def dynamodb_client() -> Any:
    """The container's DynamoDB client (cached; ``dynamodb_client.cache_clear()`` makes a new one)."""
    return _make_dynamodb_client()


@lru_cache(maxsize=8)
def management_client(endpoint_url: str) -> Any:
    """A Management API (``@connections``) client for one WebSocket API stage URL (cached per URL)."""
    return _make_management_client(endpoint_url)
