"""boto3 clients, created once per container and shared by every thread (boto3 clients are thread safe)."""

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


@lru_cache(maxsize=1)
def dynamodb_client() -> Any:
    """The container's DynamoDB client (the endpoint comes from settings for the local stack)."""
    return boto3.client("dynamodb", endpoint_url=get_settings().dynamodb_endpoint_url, config=DYNAMODB_CONFIG)


@lru_cache(maxsize=8)
def management_client(endpoint_url: str) -> Any:
    """A Management API (``@connections``) client for one WebSocket API stage URL."""
    return boto3.client("apigatewaymanagementapi", endpoint_url=endpoint_url, config=MANAGEMENT_CONFIG)
