"""Room for many connections: every WebSocket is a file descriptor, on the local stack's side and on
the simulated clients' side, and many shells start a process with a soft limit of 1024 open files (256
on macOS), too few for a thousand sessions. A process may raise its soft limit up to its hard limit
without privileges (getrlimit(2)); the commands that hold many connections do so when they start."""

import contextlib
import resource

# macOS reports an unlimited hard limit but refuses a soft limit above OPEN_MAX (10240).
_CEILINGS = (1 << 16, 10240)


def allow_many_open_files() -> int:
    """Raise this process's soft limit on open files towards its hard limit; returns the limit now."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    for ceiling in _CEILINGS:
        wanted = ceiling if hard == resource.RLIM_INFINITY else min(hard, ceiling)
        if soft >= wanted:
            break
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            break
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]
