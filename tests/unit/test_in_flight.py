"""``calls.in_flight`` with a read beside it (``alongside``): the session a message goes to is read while
the key's slot is taken, and the outcome is what taking the slot first, then reading, would give."""

import threading

import pytest
from session_relay.errors import NotFound, TooManyCalls
from session_relay.service.access import Principal
from session_relay.service.calls import Call, in_flight
from session_relay.settings import settings_from_environment

TABLES = {"SESSIONS_TABLE": "sessions", "CONNECTIONS_TABLE": "connections", "AUTH_TABLE": "auth"}
CALLER = Principal(key_id="key_x", script_ids=frozenset({"s"}))
WAIT_S = 10  # a bound on waiting for the other thread, never reached when the code is right


class Leases:
    def __init__(self, granted: bool, read_started: threading.Event | None = None) -> None:
        self.granted, self.read_started = granted, read_started
        self.released: list[str] = []
        self.saw_read_start = False

    def acquire(self, key_id, cap, expires_ms):
        if self.read_started is not None:  # the read must begin while the slot is being taken
            self.saw_read_start = self.read_started.wait(WAIT_S)
        return "lease-1" if self.granted else None

    def release(self, key_id, lease):
        self.released.append(lease)


class Store:
    def __init__(self, leases: Leases) -> None:
        self.leases = leases


@pytest.fixture
def settings():
    return settings_from_environment(TABLES | {"MAX_CALLS_IN_FLIGHT": "2"})


def test_the_read_runs_while_the_slot_is_taken_and_its_result_is_yielded(settings):
    started = threading.Event()
    leases = Leases(granted=True, read_started=started)

    def read():
        started.set()
        return "the session"

    with in_flight(Store(leases), settings, CALLER, Call(), alongside=read) as record:
        assert record == "the session"
        assert leases.released == []
    assert leases.saw_read_start
    assert leases.released == ["lease-1"]


def _read_fails():
    raise NotFound("session not found")


@pytest.mark.parametrize(
    ("granted", "raised", "released"),
    [
        pytest.param(False, TooManyCalls, [], id="a call refused a slot is 429 even when its read fails"),
        pytest.param(True, NotFound, ["lease-1"], id="a failed read gives the slot back and raises"),
    ],
)
def test_a_read_that_fails(settings, granted, raised, released):
    leases = Leases(granted=granted)

    with pytest.raises(raised), in_flight(Store(leases), settings, CALLER, Call(), alongside=_read_fails):
        pytest.fail("a call refused a slot, or whose read failed, runs nothing")
    assert leases.released == released


def test_without_a_cap_the_read_runs_and_no_slot_is_taken():
    settings = settings_from_environment(TABLES | {"MAX_CALLS_IN_FLIGHT": "0"})

    class Untouchable:
        def __getattr__(self, name):
            raise AssertionError(f"the store was used ({name}) with no cap")

    with in_flight(Untouchable(), settings, CALLER, Call(), alongside=lambda: "the session") as record:
        assert record == "the session"
