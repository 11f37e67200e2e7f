"""The Luau client's connection life without a server (a fake transport, in virtual time): declaring
its functions, backing off after refused handshakes, never retrying a 403, and rotating its
connection inside a window before API Gateway's 2-hour cap, the new one open before the old closes."""

import itertools
import re
from collections import Counter, defaultdict

import pytest

from luau.fake_transport import connect, fake_harness, log, sent

LOAD = "R = require(game:GetService('ReplicatedStorage').SessionRelay)\n"


# ---------------------------------------------------------------- declared functions


def test_functions_are_declared_sorted_right_after_each_handshake(luau):
    harness = fake_harness(luau)
    harness.exec("DECLARE = { zeta = print, alpha = print, mid = print }")
    harness.exec(
        """
        session = R.connect({ url = "wss://fake", script_id = "s", user_key = "u1",
            websocket_connect = FAKE.connect, functions = DECLARE })
        """
    )
    harness.advance(0)
    assert [frame["action"] for frame in sent(harness, 1)] == ["hello", "functions"]
    assert sent(harness, 1, "functions") == [{"action": "functions", "names": ["alpha", "mid", "zeta"]}]
    assert harness.eval("return session.declared_count") == 3
    assert harness.eval("return session.declared_functions") == ["alpha", "mid", "zeta"]
    # A dropped connection is replaced (after backoff) and the new one declares again.
    harness.eval("FAKE.sockets[1].drop()")
    harness.advance(1.0)
    assert harness.eval("return session.id") == "s2"
    assert sent(harness, 2, "functions") == [{"action": "functions", "names": ["alpha", "mid", "zeta"]}]


def test_a_client_with_no_functions_declares_none(luau):
    harness = fake_harness(luau)
    connect(harness)
    harness.advance(0)
    assert sent(harness, 1, "functions") == [{"action": "functions", "names": []}]


def test_a_burst_of_registrations_in_one_tick_is_declared_in_one_frame(luau):
    harness = fake_harness(luau)
    connect(harness)
    harness.advance(0)
    harness.exec(
        """
        for index = 1, 20 do
            session:register("f" .. string.format("%02d", index), function() end)
        end
        session:unregister("f20")
        """
    )
    harness.advance(1)
    declared = sent(harness, 1, "functions")
    assert len(declared) == 2  # the handshake's, then one for the burst
    assert declared[1]["names"] == [f"f{index:02d}" for index in range(1, 20)]


def test_registrations_spread_over_declare_delay_are_declared_in_one_frame(luau):
    harness = fake_harness(luau)
    connect(harness, declare_delay=0.5)
    harness.advance(0)
    harness.exec(
        """
        for index = 1, 5 do
            session:register("g" .. index, print)
            task.wait(0.05)
        end
        """
    )
    for _ in range(6):
        harness.advance(0.05)
    assert len(sent(harness, 1, "functions")) == 1  # only the handshake's: the window is still open
    harness.advance(0.5)
    declared = sent(harness, 1, "functions")
    assert len(declared) == 2
    assert declared[1]["names"] == ["g1", "g2", "g3", "g4", "g5"]


def test_a_change_that_ends_where_it_started_sends_nothing(luau):
    harness = fake_harness(luau)
    connect(harness)
    harness.exec("session:register('a', print)")
    harness.advance(0.2)
    assert len(sent(harness, 1, "functions")) == 2  # [] at the handshake, then ["a"]
    harness.exec("session:register('b', print) session:unregister('b') session:register('a', warn)")
    harness.advance(0.5)
    assert len(sent(harness, 1, "functions")) == 2  # the set is what was declared: nothing to say
    harness.exec("session:unregister('a')")
    harness.advance(0.2)
    assert sent(harness, 1, "functions")[-1] == {"action": "functions", "names": []}


def test_one_declaration_at_a_time_is_on_its_way(luau):
    """The server runs each frame in its own invocation: a second declaration waits for the first's
    answer, so the two cannot be stored in the wrong order."""
    harness = fake_harness(luau)
    connect(harness)
    harness.advance(0)
    harness.eval("FAKE.answer_functions = false")
    harness.exec("session:register('a', print)")
    harness.advance(1)
    harness.exec("session:register('b', print)")
    harness.advance(1)
    assert [frame["names"] for frame in sent(harness, 1, "functions")] == [[], ["a"]]
    harness.eval('FAKE.sockets[1].deliver(\'{"type":"functions","count":1}\')')
    harness.advance(0)
    assert [frame["names"] for frame in sent(harness, 1, "functions")] == [[], ["a"], ["a", "b"]]
    # An answer that never comes holds the next declaration 10 s at most.
    harness.exec("session:unregister('a')")
    harness.advance(5)
    assert len(sent(harness, 1, "functions")) == 3
    harness.advance(5)
    assert sent(harness, 1, "functions")[-1]["names"] == ["b"]


def test_registering_past_the_declared_limit_raises_at_the_callers_line(luau):
    harness = fake_harness(luau)
    connect(harness)
    ok, error = harness.eval(
        """
        for index = 1, 256 do
            session:register("f" .. index, print)
        end
        local ok, err = pcall(function()
            session:register("one-too-many", print)
        end)
        return { ok, err, session:is_registered("one-too-many") }
        """
    )[:2]
    assert ok is False
    assert "more than 256 functions" in error
    assert error.startswith("eval:6: ")
    assert harness.eval("return session:is_registered('one-too-many')") is False


def test_declaring_can_be_turned_off(luau):
    harness = fake_harness(luau)
    connect(harness, declare_functions=False)
    harness.exec("session:register('a', print)")
    harness.advance(1)
    assert sent(harness, 1, "functions") == []
    assert [frame["action"] for frame in sent(harness, 1)] == ["hello"]


# ---------------------------------------------------------------- refused handshakes


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("WebSocket connection failed: server rejected WebSocket connection: HTTP 403", 403),
        ("Handshake failed with status 429", 429),
        ("HTTP/1.1 503 Service Unavailable", 503),
        ("connect to ws://127.0.0.1:3001 failed: 500 Internal Server Error", 500),
        ("the WebSocket connect did not finish within 30 s", None),
        ("connection refused (127.0.0.1:3001)", None),
    ],
)
def test_the_status_of_a_refused_handshake_is_read_from_the_error_text(luau, text, status):
    assert luau().eval(LOAD + "return R._internal.refused_status(TEXT)", TEXT=text) == status


def reconnect_delays(harness, count: int) -> list[float]:
    """The logged delays before attempts 1..count, advancing the clock past each."""
    delays = []
    for attempt in range(1, count + 1):
        pattern = re.compile(rf"reconnecting in ([0-9.]+) s \(attempt {attempt}\)")
        match = next((m for line in harness.logs() if (m := pattern.search(line))), None)
        assert match is not None, (attempt, harness.logs()[-5:])
        delays.append(float(match.group(1)))
        harness.advance(delays[-1] + 0.001)
    return delays


@pytest.mark.parametrize(
    "refusal",
    [
        "server rejected WebSocket connection: HTTP 429",
        "server rejected WebSocket connection: HTTP 503",
        "server rejected WebSocket connection: HTTP 500",
    ],
)
def test_a_throttled_or_failing_handshake_is_retried_with_growing_capped_full_jitter(luau, refusal):
    harness = fake_harness(luau)
    harness.eval("FAKE.refuse = REFUSAL", REFUSAL=refusal)
    connect(harness, backoff_initial=1, backoff_max=8)
    delays = reconnect_delays(harness, 8)
    for attempt, delay in enumerate(delays, start=1):
        assert 0 <= delay <= min(8, 2 ** (attempt - 1)), (attempt, delays)
    assert harness.eval("return #FAKE.sockets") == 9  # the first try and eight retries
    assert refusal[-3:] in harness.eval("return session.last_error")
    harness.eval("FAKE.refuse = nil")
    harness.advance(8)
    assert harness.eval("return session.id") == "s10"
    harness.exec("session:close()")


def test_backoff_delays_are_full_jitter_growing_to_the_cap(luau):
    samples = luau().eval(
        LOAD
        + """
        local delays = {}
        for attempt = 1, 9 do
            local row = {}
            for _ = 1, 400 do
                table.insert(row, R._internal.backoff_delay(attempt, 1, 60))
            end
            table.insert(delays, row)
        end
        return delays
        """
    )
    means = []
    for attempt, row in enumerate(samples, start=1):
        ceiling = min(60, 2 ** (attempt - 1))
        assert all(0 <= delay <= ceiling for delay in row)
        # full jitter: the whole range [0, ceiling] is used, the lower half included
        assert sum(delay < ceiling / 4 for delay in row) > 40, attempt
        assert sum(delay > ceiling * 3 / 4 for delay in row) > 40, attempt
        means.append(sum(row) / len(row))
    assert all(later > earlier * 1.5 for earlier, later in itertools.pairwise(means[:7])), means
    assert means[7] == pytest.approx(30, rel=0.2)  # capped at 60: half of it on average
    assert means[8] == pytest.approx(30, rel=0.2)


def test_a_403_is_never_retried(luau):
    harness = fake_harness(luau)
    harness.eval("FAKE.refuse = 'server rejected WebSocket connection: HTTP 403'")
    connect(harness)
    harness.advance(3600)
    assert harness.eval("return #FAKE.sockets") == 1
    assert harness.eval("return { session.closed, session.connected }") == [True, False]
    assert "403" in harness.eval("return session.last_error")
    assert any("not reconnecting" in line for line in harness.logs())
    assert harness.eval("return session:wait_connected(1)") is None


def test_a_server_disconnect_frame_is_never_followed_by_a_reconnect(luau):
    harness = fake_harness(luau)
    connect(harness)
    harness.advance(0)
    harness.eval('FAKE.sockets[1].deliver(\'{"type":"disconnect","reason":"banned"}\')')
    harness.advance(3600)
    assert harness.eval("return #FAKE.sockets") == 1
    assert harness.eval("return session.closed") is True


# ---------------------------------------------------------------- rotation before the 2-hour cap


def test_rotation_options_must_leave_a_ten_minute_window_before_the_cap(luau):
    harness = luau()
    for options, message in [
        ("rotate_window = 599", "rotate_window must be at least 600"),
        ("rotate_after = 6500, rotate_window = 600", "at most 7080 seconds"),
    ]:
        error = harness.eval(
            LOAD + "local ok, err = pcall(R.connect, { url = 'wss://x', script_id = 's', user_key = 'u', "
            f"websocket_connect = print, {options} }}) return err"
        )
        assert message in error


def test_a_fleet_rotates_at_moments_spread_over_the_window_new_before_old(luau):
    harness = fake_harness(luau)
    fleet = 200
    for index in range(fleet):
        connect(harness, name=f"S{index}", user=f"u{index}")
    harness.advance(0)
    started = harness.now()
    harness.advance(5990)
    assert harness.eval("return #FAKE.sockets") == fleet  # nobody before rotate_after (6000 s)
    while harness.now() - started < 6915:
        harness.advance(5)
    events = log(harness)
    moments = [at - started for at, kind, _index, _user, *_ in events if kind == "connect"][fleet:]
    assert len(moments) == fleet  # each rotated exactly once
    assert all(6000 <= moment <= 6905 for moment in moments)
    bins = Counter(int((moment - 6000) // 100) for moment in moments)
    assert len(bins) >= 8, bins
    assert max(bins.values()) <= 50, bins  # about 22 per 100 s, none in step
    # New before old: each user's second connection said hello before its first was closed.
    order = defaultdict(list)
    for _at, kind, index, user, *_ in events:
        order[user].append((kind, index))
    for user, steps in order.items():
        second = max(index for kind, index in steps if kind == "connect")
        assert steps.index(("hello", second)) < steps.index(("closed", steps[0][1])), (user, steps)
    assert harness.eval("return #FAKE.sockets") == 2 * fleet


def test_rotation_is_never_a_gap_a_session_stays_reachable(luau):
    harness = fake_harness(luau)
    connect(harness)
    harness.advance(0)
    harness.advance(6900)
    harness.advance(10)
    events = [event for event in log(harness) if event[1] in ("hello", "closed", "dropped")]
    reachable = 0
    for _at, kind, *_ in events:
        reachable += 1 if kind == "hello" else -1
        assert reachable >= 1, events
    assert [kind for _at, kind, *_ in events] == ["hello", "hello", "closed"]
    assert harness.eval("return session.id") == "s2"
