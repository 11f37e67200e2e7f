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
# Throttling (LimitExceededException) is also retried by the gateway itself: keep the product small.
MANAGEMENT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 2},
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
