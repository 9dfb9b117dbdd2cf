"""One full TLS handshake with pyOpenSSL (OpenSSL 4): the group the server actually picks when a
client offers classical groups first, the protocol, the cipher and the certificate chain."""

from __future__ import annotations

import contextlib
import select
import socket
import time
from dataclasses import dataclass, field

from cryptography import x509
from OpenSSL import SSL
from OpenSSL._util import lib as _openssl

from checks.egress import Target

# Classical first on purpose: if the server still picks a hybrid group, it prefers post-quantum.
PREFERENCE_PROBE_GROUPS = (
    b"X25519:secp256r1:secp384r1:X25519MLKEM768:SecP256r1MLKEM768:SecP384r1MLKEM1024:"
    b"MLKEM768:MLKEM1024"
)


def _handshake_until(connection: SSL.Connection, sock: socket.socket, deadline: float) -> None:
    """pyOpenSSL cannot use socket timeouts; drive the handshake over a non-blocking socket."""
    sock.setblocking(False)
    while True:
        try:
            connection.do_handshake()
            return
        except SSL.WantReadError:
            ready = select.select([sock], [], [], max(0.0, deadline - time.monotonic()))[0]
        except SSL.WantWriteError:
            ready = select.select([], [sock], [], max(0.0, deadline - time.monotonic()))[1]
        if not ready:
            raise TimeoutError("no answer during the handshake")


@dataclass(frozen=True)
class HandshakeResult:
    ok: bool
    group: str | None = None
    protocol: str | None = None
    cipher: str | None = None
    chain: list[x509.Certificate] = field(default_factory=list)
    error: str = ""


def full_handshake(
    target: Target, server_name: str | None, timeout: float = 5.0
) -> HandshakeResult:
    context = SSL.Context(SSL.TLS_CLIENT_METHOD)
    context.set_min_proto_version(SSL.TLS1_2_VERSION)
    # pyOpenSSL has no groups setter; SSL_CTX_set1_curves_list is the same call in OpenSSL 3+.
    if _openssl.SSL_CTX_set1_curves_list(context._context, PREFERENCE_PROBE_GROUPS) != 1:
        return HandshakeResult(False, error="the local OpenSSL rejected the group list")
    context.set_verify(SSL.VERIFY_NONE)  # we record the chain; trust is judged separately
    try:
        with socket.socket(target.family, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect((target.address, target.port))
            connection = SSL.Connection(context, sock)
            if server_name:
                connection.set_tlsext_host_name(server_name.encode("idna"))
            connection.set_connect_state()
            _handshake_until(connection, sock, time.monotonic() + timeout)
            chain = connection.get_peer_cert_chain(as_cryptography=True) or []
            result = HandshakeResult(
                True,
                group=connection.get_group_name(),
                protocol=connection.get_protocol_version_name(),
                cipher=connection.get_cipher_name(),
                chain=list(chain),
            )
            with contextlib.suppress(SSL.Error):
                connection.shutdown()
            return result
    except (SSL.Error, OSError) as exc:
        return HandshakeResult(False, error=str(exc) or type(exc).__name__)
