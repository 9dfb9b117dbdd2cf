"""Who holds a job: a worker identity names the host, the process and one start of it.

The start token is what makes the name certain: a pid is reused once its process is gone, so
"host:pid" alone could match a later, unrelated worker. Whoever starts a worker (`assure
serve`) chooses the token and passes it down, so it can name the worker's claims after it exits.
"""

from __future__ import annotations

import os
import secrets
import socket


def new_token() -> str:
    return secrets.token_hex(6)


def worker_identity(token: str, pid: int | None = None) -> str:
    """This process's identity, or that of child `pid` on this host started with `token`."""
    return f"{socket.gethostname()}:{os.getpid() if pid is None else pid}:{token}"


def audit_name(identity: str | None) -> str | None:
    """How a worker is named in the audit trail, which tenants' admins read: by its start
    token alone, since the host name and pid describe the platform's own servers."""
    if identity is None:
        return None
    return f"worker-{identity.rsplit(':', 1)[-1]}"
