"""pyOpenSSL (OpenSSL 4) as a real TLS client: the ClientHello a client configured like one of
tls_clients.yaml sends (for the raw probes to carry), and one full handshake offering classical
groups first: the group, protocol, cipher and certificate chain the server gives it."""

from __future__ import annotations

import contextlib
import select
import socket
import time
from dataclasses import dataclass, field
from functools import cache

from cryptography import x509
from OpenSSL import SSL
from OpenSSL._util import lib as _openssl

from checks.egress import Target
from checks.tls.policy import Judge, TlsClient, judged_by
from pq_crypto.catalogue import algorithm_index


@cache
def _openssl_name(algorithm_id: str) -> str:
    """The name the local OpenSSL knows a catalogue group by: its id or one of its names."""
    algorithm = algorithm_index().get(algorithm_id)
    scratch = SSL.Context(SSL.TLS_CLIENT_METHOD)
    for candidate in (algorithm.id, *algorithm.names):
        if _openssl.SSL_CTX_set1_curves_list(scratch._context, candidate.encode()) == 1:
            return candidate
    raise ValueError(f"the local OpenSSL does not know the TLS group {algorithm_id}")


def openssl_groups(client: TlsClient) -> bytes:
    """The client's groups in OpenSSL's list syntax, in its order; `*` asks for a key share."""
    return ":".join(
        ("*" if group in client.key_shares else "") + _openssl_name(group)
        for group in client.groups
    ).encode()


@cache
def _client_context(groups: bytes) -> SSL.Context:
    context = SSL.Context(SSL.TLS_CLIENT_METHOD)
    context.set_min_proto_version(SSL.TLS1_2_VERSION)
    # pyOpenSSL has no groups setter; SSL_CTX_set1_curves_list is the same call in OpenSSL 3+.
    if _openssl.SSL_CTX_set1_curves_list(context._context, groups) != 1:
        raise ValueError(f"the local OpenSSL rejected the group list {groups.decode()}")
    context.set_verify(SSL.VERIFY_NONE)  # we record the chain; trust is judged separately
    return context


def client_hello(client: TlsClient, server_name: str | None) -> bytes:
    """The first flight OpenSSL sends as this client, key shares and all, without a socket."""
    connection = SSL.Connection(_client_context(openssl_groups(client)), None)
    if server_name:
        connection.set_tlsext_host_name(server_name.encode("idna"))
    connection.set_connect_state()
    with contextlib.suppress(SSL.WantReadError):
        connection.do_handshake()
    return connection.bio_read(65536)


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
    attempts: int = 1


def _once(target: Target, server_name: str | None, timeout: float) -> HandshakeResult:
    context = _client_context(openssl_groups(judged_by(Judge.CLASSICAL_FIRST)))
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


def full_handshake(
    target: Target,
    server_name: str | None,
    timeout: float = 5.0,
    retries: int = 0,
    retry_delay: float = 0.0,
) -> HandshakeResult:
    """One handshake offering classical groups first. A connection closed, reset, refused or
    timed out before the handshake ends is retried, as a connection limit can cause it; an
    answer in TLS (an alert) is the server's and is not."""
    error = ""
    for attempt in range(1, retries + 2):
        if attempt > 1:
            time.sleep(retry_delay * (attempt - 1))
        try:
            return _once(target, server_name, timeout)
        except (SSL.SysCallError, OSError) as exc:
            error = str(exc) or type(exc).__name__
        except SSL.Error as exc:
            return HandshakeResult(False, error=str(exc) or type(exc).__name__, attempts=attempt)
        except ValueError as exc:  # the local OpenSSL lacks a group of the client's list
            return HandshakeResult(False, error=str(exc))
    return HandshakeResult(False, error=error, attempts=retries + 1)
