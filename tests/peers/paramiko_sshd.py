"""paramiko's SSH server on loopback: a second, independent SSH implementation, and the one whose
strict key exchange can be switched off (OpenSSH has no option for it). paramiko comes with
compliance-trestle; tests skip with that reason when it is missing."""

from __future__ import annotations

import contextlib
import logging
import socket
from collections.abc import Iterator
from pathlib import Path

from tests.peers import servers
from tests.peers.sshd import KeySpec, host_key


def paramiko_unavailable() -> str | None:
    try:
        import paramiko  # noqa: F401
    except ImportError:
        return "paramiko is not installed (compliance-trestle brings it)"
    return None


@contextlib.contextmanager
def paramiko_sshd(
    folder: Path, key: KeySpec, strict_kex: bool, disabled: dict[str, list[str]] | None = None
) -> Iterator[int]:
    """A paramiko server with one host key (made by ssh-keygen), its default algorithm lists
    less `disabled` (paramiko's disabled_algorithms), and strict key exchange on or off; yields
    its port."""
    import paramiko

    # Each probe connection ends after the KEX reply, which paramiko logs as an error.
    logging.getLogger("paramiko").setLevel(logging.CRITICAL)
    path = host_key(folder, key)
    loaders = {"rsa": paramiko.RSAKey, "ecdsa": paramiko.ECDSAKey, "ed25519": paramiko.Ed25519Key}
    server_key = loaders[key[0]].from_private_key_file(str(path))

    def handle(sock: socket.socket) -> None:
        transport = paramiko.Transport(sock, strict_kex=strict_kex, disabled_algorithms=disabled)
        transport.add_server_key(server_key)
        try:
            transport.start_server(server=paramiko.ServerInterface())
            transport.join(5)
        finally:
            transport.close()

    with servers.serving(handle) as server:
        yield server.port
