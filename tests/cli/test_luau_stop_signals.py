"""``session-relay luau`` stops on Ctrl-C (SIGINT) or SIGTERM however busy its other threads are: the
signals are taken by a thread in ``sigwait`` (``session_relay_tools.signals.take_signals``, which the
embedded database's children use too), not by a Python handler that runs only when the main
thread next checks for signals. Run in a program of its own, as the command runs, with threads that
keep the interpreter lock busy beside a main thread that waits on a queue as the VM's loop does."""

import signal
import subprocess
import sys
import textwrap
import threading

import pytest

from session_relay_tools.signals import take_signals

PROGRAM = textwrap.dedent(
    """
    import queue, signal, sys, threading
    from session_relay_tools.luau.command import stop_on_signals

    before = signal.pthread_sigmask(signal.SIG_BLOCK, set())
    with stop_on_signals() as stop:
        def busy():
            while not stop.is_set():
                sum(range(1000))
        for _ in range(3):
            threading.Thread(target=busy, daemon=True).start()
        events = queue.Queue()
        print("ready", flush=True)
        while not stop.is_set():
            try:
                events.get(timeout=0.01)
            except queue.Empty:
                pass
        print("stopped", flush=True)
    after = signal.pthread_sigmask(signal.SIG_BLOCK, set())
    print("mask restored" if after == before else f"mask left {after}", flush=True)
    print("waiters left:", [t.name for t in threading.enumerate() if t.name == "stop-signals"], flush=True)
    """
)
WAIT_S = 20  # far more than a stop takes; reached only when the signal is never seen


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_sets_stop_while_other_threads_run(signum):
    for _ in range(5):
        process = subprocess.Popen(
            [sys.executable, "-c", PROGRAM], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        try:
            assert process.stdout.readline() == "ready\n"
            process.send_signal(signum)
            out, err = process.communicate(timeout=WAIT_S)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        assert process.returncode == 0, err
        assert out.splitlines() == ["stopped", "mask restored", "waiters left: []"], (out, err)


def _waiters(name: str) -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == name]


def test_the_waiter_runs_the_action_once_its_signal_arrives_and_release_restores_the_mask():
    ran = []
    before = signal.pthread_sigmask(signal.SIG_BLOCK, set())
    release = take_signals({signal.SIGUSR1}, lambda: ran.append("stop"), "test-waiter")
    try:
        assert signal.SIGUSR1 in signal.pthread_sigmask(signal.SIG_BLOCK, set())
        [waiter] = _waiters("test-waiter")
        signal.pthread_kill(waiter.ident, signal.SIGUSR1)  # to that thread alone, never the process
        waiter.join(WAIT_S)
        assert ran == ["stop"]
    finally:
        release()
    assert signal.pthread_sigmask(signal.SIG_BLOCK, set()) == before


def test_release_ends_the_waiter_without_running_the_action():
    ran = []
    before = signal.pthread_sigmask(signal.SIG_BLOCK, set())
    release = take_signals({signal.SIGUSR1}, lambda: ran.append("stop"), "test-waiter")

    release()

    assert ran == []
    assert _waiters("test-waiter") == []
    assert signal.pthread_sigmask(signal.SIG_BLOCK, set()) == before
