"""``SESSION_RELAY_BULK_POLL`` (benchmarks only): ``by-key`` makes every poll read the pending
messages by key, ignoring the answered index's shards; ``answered`` or unset changes nothing; anything
else stops the stack with a sentence."""

import pytest
from session_relay.service.delivery import DeliveryCore

from session_relay_tools.local import poll_lever


@pytest.fixture
def seen(monkeypatch):
    """What the delivery core's collect was called with, restored afterwards."""
    calls = []
    monkeypatch.setattr(DeliveryCore, "collect", lambda self, waiting, until, *a, **kw: calls.append(kw))
    return calls


def test_by_key_drops_the_shards_and_keeps_every_other_argument(monkeypatch, seen):
    monkeypatch.setenv(poll_lever.ENV, "by-key")
    poll_lever.apply()
    DeliveryCore.collect(object(), {}, 1.0, shards={("c", "m"): "b#0"}, poll_first=True)
    assert seen == [{"shards": None, "poll_first": True}]


@pytest.mark.parametrize("value", ["answered", None])
def test_answered_or_unset_changes_nothing(monkeypatch, seen, value):
    if value is None:
        monkeypatch.delenv(poll_lever.ENV, raising=False)
    else:
        monkeypatch.setenv(poll_lever.ENV, value)
    poll_lever.apply()
    DeliveryCore.collect(object(), {}, 1.0, shards={("c", "m"): "b#0"})
    assert seen == [{"shards": {("c", "m"): "b#0"}}]


def test_another_value_stops_with_a_sentence(monkeypatch):
    monkeypatch.setenv(poll_lever.ENV, "sometimes")
    with pytest.raises(SystemExit, match="SESSION_RELAY_BULK_POLL must be one of answered, by-key"):
        poll_lever.apply()
