"""Stop signals taken by a thread of their own in ``sigwait``, never by a Python handler.

A Python handler runs in the main thread between two bytecodes, and that has failed twice here: in the
embedded database's child a second SIGTERM (the stack's own, then its death signal) ran the handler
again inside itself while the first held a lock, and the child deadlocked with no parent left to stop
it; and in ``session-relay luau`` a SIGINT was caught but its handler never ran while the VM's socket
threads were busy, so Ctrl-C left the client connected. A signal that is blocked is never handled: the
waiting thread takes it, once, and whatever the main thread is doing does not matter.
"""

import signal
import threading
from collections.abc import Callable, Iterable


def take_signals(signals: Iterable[int], action: Callable[[], None], name: str) -> Callable[[], None]:
    """Block ``signals`` in this thread, and so in every thread it starts from now on (call it before
    starting any), and start a thread named ``name`` that takes the first of them to arrive and runs
    ``action``. Returns what undoes it: the waiter ends without running ``action``, and this thread's
    mask is as it was (a process that ends with the signals still blocked need not call it)."""
    wanted = set(signals)
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, wanted)
    releasing = threading.Event()

    def wait() -> None:
        signal.sigwait(wanted)
        if not releasing.is_set():
            action()

    waiter = threading.Thread(target=wait, name=name, daemon=True)
    waiter.start()

    def release() -> None:
        releasing.set()
        if waiter.is_alive():  # woken by a signal only it takes, which then does nothing
            signal.pthread_kill(waiter.ident, min(wanted))
            waiter.join()
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)

    return release
