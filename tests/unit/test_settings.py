"""Settings and the wait budget: the deployment's integration timeout and the Lambda's remaining
time both bound how long a message call may wait."""

from dataclasses import FrozenInstanceError

import pytest
from session_relay import MAX_MESSAGE_TIMEOUT_S, settings
from session_relay.service import wiring
from session_relay.service.calls import wait_budget_s
from session_relay.service.deadlines import LAMBDA_MARGIN_S
from session_relay.settings import Settings, get_settings, settings_from_environment

TABLES = {"SESSIONS_TABLE": "sessions", "CONNECTIONS_TABLE": "connections", "AUTH_TABLE": "auth"}


def test_default_integration_timeout_gives_the_full_60_seconds():
    assert settings_from_environment(TABLES).max_wait_s == MAX_MESSAGE_TIMEOUT_S == 60


def test_29_second_integration_timeout_caps_waits_below_29_seconds(monkeypatch):
    monkeypatch.setenv("INTEGRATION_TIMEOUT_MS", "29000")
    settings.get_settings.cache_clear()
    wiring.get_messaging.cache_clear()

    deployed = wiring.get_messaging().settings

    assert get_settings().max_wait_s < 29
    assert wait_budget_s(deployed, 60, None) == get_settings().max_wait_s
    assert wait_budget_s(deployed, None, None) == get_settings().max_wait_s
    assert wait_budget_s(deployed, 5, None) == 5


def test_integration_timeout_above_62_seconds_still_caps_at_60():
    assert settings_from_environment(TABLES | {"INTEGRATION_TIMEOUT_MS": "300000"}).max_wait_s == 60


@pytest.mark.parametrize("missing", sorted(TABLES))
def test_missing_table_variable_fails_loudly_naming_it(missing):
    with pytest.raises(RuntimeError, match=missing):
        settings_from_environment({name: value for name, value in TABLES.items() if name != missing})


def test_empty_table_variable_counts_as_missing():
    with pytest.raises(RuntimeError, match="AUTH_TABLE"):
        settings_from_environment(TABLES | {"AUTH_TABLE": ""})


def test_missing_table_in_the_environment_fails_get_settings(monkeypatch):
    monkeypatch.delenv("SESSIONS_TABLE")
    settings.get_settings.cache_clear()

    with pytest.raises(RuntimeError, match="SESSIONS_TABLE"):
        get_settings()


@pytest.mark.parametrize(
    ("name", "value"),
    [("INTEGRATION_TIMEOUT_MS", "soon"), ("INTEGRATION_TIMEOUT_MS", "1000"), ("POST_WORKERS", "0")],
)
def test_invalid_setting_fails_loudly_naming_it(name, value):
    with pytest.raises(RuntimeError, match=name):
        settings_from_environment(TABLES | {name: value})


def test_rest_api_without_management_url_fails_loudly(monkeypatch):
    monkeypatch.delenv("MANAGEMENT_API_URL")
    settings.get_settings.cache_clear()
    wiring.get_messaging.cache_clear()

    with pytest.raises(RuntimeError, match="MANAGEMENT_API_URL"):
        wiring.get_messaging()


@pytest.mark.parametrize(
    ("timeout_s", "remaining_ms", "expected_s"),
    [
        (5, None, 5),
        (None, None, 60),
        (60, 10_000, 10 - LAMBDA_MARGIN_S),
        (None, 30_000, 30 - LAMBDA_MARGIN_S),
        (2, 30_000, 2),
        (60, 500, 0),  # less than the margin left: do not wait at all
    ],
)
def test_wait_budget_is_the_smallest_of_timeout_deployment_and_remaining_time(
    timeout_s, remaining_ms, expected_s
):
    deployed = wiring.get_messaging().settings

    assert wait_budget_s(deployed, timeout_s, remaining_ms) == pytest.approx(expected_s)


def test_settings_are_immutable():
    frozen = Settings(sessions_table="sessions", connections_table="connections", auth_table="auth")

    with pytest.raises(FrozenInstanceError):
        frozen.sessions_table = "other"
