"""The harness's virtual clock (tests/support/clock.py): time moves only when the code under test
sleeps, and simulated clients run at their own virtual wake-ups, in order."""

import threading

from session_relay import clock as product_clock
from session_relay.service import wiring
from support.clock import VirtualClock


def test_time_moves_only_when_the_code_sleeps():
    virtual = VirtualClock(start_epoch_s=1_800_000_000)
    started, epoch = virtual.now_us, virtual.epoch_s()

    assert virtual.since(started) == 0
    virtual.sleep(0.4)
    virtual.sleep(0)

    assert virtual.since(started) == 0.4
    assert virtual.now_ms() == 1_800_000_000_400
    assert round(virtual.epoch_s() - epoch, 6) == 0.4
    assert virtual.slept == [0.4, 0]


def test_a_parked_client_runs_when_time_reaches_its_wake_up():
    virtual = VirtualClock()
    started = virtual.now_us
    ran_at: list[float] = []

    def client(delay_s: float) -> None:
        with virtual.working():
            virtual.sleep(delay_s)  # on a client's thread: parked until then
            ran_at.append(virtual.since(started))

    threads = [threading.Thread(target=client, args=(delay,), daemon=True) for delay in (0.3, 0.1)]
    for thread in threads:
        virtual.began()
        thread.start()

    virtual.sleep(0.2)
    assert ran_at == [0.1]
    assert virtual.since(started) == 0.2
    virtual.sleep(1)
    assert ran_at == [0.1, 0.3]
    assert virtual.since(started) == 1.2
    for thread in threads:
        thread.join(5)


def test_run_until_idle_wakes_every_parked_client():
    virtual = VirtualClock()
    started = virtual.now_us
    done = threading.Event()

    def client() -> None:
        with virtual.working():
            virtual.sleep(5)
            done.set()

    virtual.began()
    threading.Thread(target=client, daemon=True).start()
    virtual.run_until_idle()

    assert done.is_set()
    assert virtual.since(started) == 5


def test_the_fixture_runs_the_product_on_the_virtual_clock(virtual_clock, gateway):
    messaging = wiring.get_messaging()

    assert product_clock.epoch_s() == virtual_clock.epoch_s()
    assert product_clock.now_ms() == virtual_clock.now_ms()
    assert messaging.core.clock == virtual_clock.monotonic
    assert messaging.core.sleep == virtual_clock.sleep
    assert gateway.clock is virtual_clock
