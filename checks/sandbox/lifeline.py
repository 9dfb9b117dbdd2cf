"""A sandboxed process dies with the process that started it.

The child runs in its own session (so its whole group can be killed at a limit), which also
means a worker killed by SIGKILL would leave it running, unseen, beside the retried job.
PR_SET_PDEATHSIG asks the kernel to send SIGKILL when the parent goes; the parent check after
it closes the gap where the parent died before the request was made. (The signal follows the
parent thread; the thread that starts a child always waits for it, so the two end together.)
"""

from __future__ import annotations

import ctypes
import os
import signal

PR_SET_PDEATHSIG = 1


def die_with_parent(expected_parent: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != expected_parent:
        os._exit(70)
