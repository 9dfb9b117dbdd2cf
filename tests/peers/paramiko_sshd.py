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
    folder: Path,
    key: KeySpec,
    strict_kex: bool,
    disabled: dict[str, list[str]] | None = None,
    ciphers: tuple[str, ...] | None = None,
    macs: tuple[str, ...] | None = None,
    moduli: Path | None = None,
    signing_key: KeySpec | None = None,
) -> Iterator[int]:
    """A paramiko server with one host key (made by ssh-keygen), its default algorithm lists
    less `disabled` (paramiko's disabled_algorithms), and strict key exchange on or off; yields
    its port.

    `ciphers` and `macs` replace the lists it offers, names paramiko does not implement
    included (chacha20-poly1305@openssh.com): it offers what it is told, as an older OpenSSH
    without strict key exchange would, and only fails if a client picks one. `moduli` is an
    OpenSSH moduli file for its group exchange, set on each transport rather than paramiko's
    class-wide load_server_moduli so that servers in one process do not share it.

    `signing_key` makes it lie: it presents `key` in its KEX reply but signs the exchange hash
    with this other key of the same type, as a server (or a man in the middle) that puts any key
    blob it likes in the reply would."""
    import paramiko
    from paramiko.primes import ModulusPack

    pack = None
    if moduli is not None:
        pack = ModulusPack()
        pack.read_file(str(moduli))

    # Each probe connection ends after the KEX reply, which paramiko logs as an error.
    logging.getLogger("paramiko").setLevel(logging.CRITICAL)
    path = host_key(folder, key)
    loaders = {"rsa": paramiko.RSAKey, "ecdsa": paramiko.ECDSAKey, "ed25519": paramiko.Ed25519Key}
    server_key = loaders[key[0]].from_private_key_file(str(path))
    if signing_key is not None:
        signer = loaders[signing_key[0]].from_private_key_file(str(host_key(folder, signing_key)))
        lying = type(
            "LyingKey",
            (loaders[key[0]],),
            {
                "sign_ssh_data": lambda self, data, algorithm=None: signer.sign_ssh_data(
                    data, algorithm
                )
            },
        )
        server_key = lying.from_private_key_file(str(path))

    def handle(sock: socket.socket) -> None:
        transport = paramiko.Transport(sock, strict_kex=strict_kex, disabled_algorithms=disabled)
        transport.add_server_key(server_key)
        if ciphers is not None:
            transport._preferred_ciphers = ciphers
        if macs is not None:
            transport._preferred_macs = macs
        if pack is not None:
            transport._modulus_pack = pack
        try:
            transport.start_server(server=paramiko.ServerInterface())
            transport.join(5)
        finally:
            transport.close()

    with servers.serving(handle) as server:
        yield server.port
