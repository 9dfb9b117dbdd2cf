"""pyOpenSSL (OpenSSL 4) as a real TLS client: the ClientHello a client configured like one of
tls_clients.yaml sends (for the raw probes to carry), and one full handshake offering classical
groups first: the group, protocol, cipher, certificate chain and stapled OCSP response the server
gives it."""

from __future__ import annotations

import contextlib
import select
import socket
import time
from dataclasses import dataclass, field, replace
from functools import cache

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
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


def _new_client_context(groups: bytes) -> SSL.Context:
    context = SSL.Context(SSL.TLS_CLIENT_METHOD)
    context.set_min_proto_version(SSL.TLS1_2_VERSION)
    # pyOpenSSL has no groups setter; SSL_CTX_set1_curves_list is the same call in OpenSSL 3+.
    if _openssl.SSL_CTX_set1_curves_list(context._context, groups) != 1:
        raise ValueError(f"the local OpenSSL rejected the group list {groups.decode()}")
    context.set_verify(SSL.VERIFY_NONE)  # we record the chain; trust is judged separately
    return context


@cache
def _client_context(groups: bytes) -> SSL.Context:
    return _new_client_context(groups)


# A stapled OCSP response is a few KiB (one response, perhaps a responder certificate). OpenSSL
# ends a handshake whose staple passes about 64 KiB itself ("excessive message size"); should a
# larger one ever get through, it is kept only one byte past this, which chain_ocsp.py refuses.
MAX_OCSP_BYTES = 64 * 1024


@dataclass
class _Staple:
    """What OpenSSL handed the status callback during one handshake."""

    data: bytes | None = None


def _keep_staple(connection: SSL.Connection, data: bytes, _userdata: object) -> bool:
    # Called by OpenSSL inside the handshake. It only records: trust and revocation are judged
    # afterwards, from everything seen, so a bad staple never aborts the one handshake we get.
    holder = connection.get_app_data()
    if isinstance(holder, _Staple):
        holder.data = bytes(data[: MAX_OCSP_BYTES + 1])
    return True


@cache
def _handshake_context(groups: bytes) -> SSL.Context:
    """The full handshake's context: the probes' one plus a status callback. Its own context,
    so the ClientHellos the probes carry stay exactly as they were."""
    context = _new_client_context(groups)
    context.set_ocsp_client_callback(_keep_staple)
    return context


# What a certificate field raises when its bytes, parsed only on first access, do not parse.
UNREADABLE = (ValueError, TypeError, UnsupportedAlgorithm, x509.InvalidVersion)


def readable(certificate: x509.Certificate) -> bool:
    """Every field the checks read parses. Loading a certificate parses little: a subject
    holding invalid UTF-8 in a UTF8String loads, then raises when first read, so each field is
    read once here and the judgement never meets an error later. The public key itself is
    not loaded: one the library cannot load is still classified (checks/certificates.py)."""
    try:
        for name in (certificate.subject, certificate.issuer):
            name.rfc4514_string()
        _ = (certificate.serial_number, certificate.version)
        _ = (certificate.not_valid_before_utc, certificate.not_valid_after_utc)
        _ = (certificate.public_key_algorithm_oid, certificate.signature_algorithm_oid)
        list(certificate.extensions)
    except UNREADABLE:
        return False
    return True


def _readable_chain(connection: SSL.Connection) -> tuple[list[x509.Certificate], int]:
    """The peer's certificates in the order sent, and how many of them are unreadable: one the
    library cannot read is left out and counted rather than failing the handshake. Without a
    readable leaf nothing is kept: the next certificate would be judged as the leaf."""
    sent = connection.get_peer_cert_chain() or []
    chain = []
    for position, certificate in enumerate(sent):
        try:
            converted = certificate.to_cryptography()
        except UNREADABLE:
            converted = None
        if converted is not None and readable(converted):
            chain.append(converted)
        elif position == 0:
            return [], len(sent)
    return chain, len(sent) - len(chain)


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
    # What the server sent, even when the handshake then failed: OpenSSL keeps the chain of a
    # Certificate message it read (TLS 1.2 sends it before CertificateRequest and
    # CertificateStatus), so a mutual-TLS endpoint or a bad staple cannot hide it.
    chain: list[x509.Certificate] = field(default_factory=list)
    error: str = ""
    attempts: int = 1
    # The stapled OCSP response (status_request was sent); None when the server stapled none.
    ocsp_staple: bytes | None = None
    unreadable_certificates: int = 0  # sent, but not readable as X.509
    # Why the handshake that asked for a staple failed when one without the request then
    # completed: the staple broke it (one over OpenSSL's size limit, say).
    staple_error: str = ""


class _Unfinished(Exception):
    """A handshake that failed after the connection was made, with what the server had sent."""

    def __init__(
        self,
        cause: Exception,
        chain: list[x509.Certificate],
        unreadable: int,
        staple: bytes | None = None,
    ) -> None:
        super().__init__(str(cause) or type(cause).__name__)
        # A connection closed, reset or timed out: perhaps a connection limit, so retried; an
        # alert or a message OpenSSL refused is the server's answer.
        self.retryable = isinstance(cause, SSL.SysCallError | OSError)
        self.chain = chain
        self.unreadable = unreadable
        self.staple = staple


def _once(
    target: Target, server_name: str | None, timeout: float, ask_staple: bool = True
) -> HandshakeResult:
    context = _handshake_context(openssl_groups(judged_by(Judge.CLASSICAL_FIRST)))
    staple = _Staple()
    with socket.socket(target.family, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect((target.address, target.port))
        connection = SSL.Connection(context, sock)
        connection.set_app_data(staple)
        if ask_staple:
            connection.request_ocsp()
        if server_name:
            connection.set_tlsext_host_name(server_name.encode("idna"))
        connection.set_connect_state()
        try:
            _handshake_until(connection, sock, time.monotonic() + timeout)
        except (SSL.Error, OSError) as exc:
            chain, unreadable = _readable_chain(connection)
            raise _Unfinished(exc, chain, unreadable, staple.data or None) from exc
        chain, unreadable = _readable_chain(connection)
        result = HandshakeResult(
            True,
            group=connection.get_group_name(),
            protocol=connection.get_protocol_version_name(),
            cipher=connection.get_cipher_name(),
            chain=chain,
            ocsp_staple=staple.data or None,
            unreadable_certificates=unreadable,
        )
        with contextlib.suppress(SSL.Error):
            connection.shutdown()
        return result


def _more_seen(kept: _Unfinished | None, new: _Unfinished) -> _Unfinished:
    if kept is None or len(new.chain) + new.unreadable > len(kept.chain) + kept.unreadable:
        return new
    return kept


def _failed(error: str, attempts: int, seen: _Unfinished | None) -> HandshakeResult:
    if seen is None:
        return HandshakeResult(False, error=error, attempts=attempts)
    return HandshakeResult(
        False,
        error=error,
        attempts=attempts,
        chain=seen.chain,
        unreadable_certificates=seen.unreadable,
        ocsp_staple=seen.staple,
    )


def _without_staple(
    target: Target, server_name: str | None, timeout: float, first: _Unfinished, attempt: int
) -> HandshakeResult:
    # `first` is the attempt that got a TLS answer, and what was seen most by any attempt.
    """Once more without status_request: when that completes, the staple ended the first
    handshake, and the chain is judged all the same (the staple as unusable)."""
    try:
        result = _once(target, server_name, timeout, ask_staple=False)
    except _Unfinished as exc:
        return _failed(str(first), attempt + 1, _more_seen(first, exc))
    except (OSError, ValueError):
        return _failed(str(first), attempt + 1, first)
    return replace(result, attempts=attempt + 1, staple_error=str(first))


def full_handshake(
    target: Target,
    server_name: str | None,
    timeout: float = 5.0,
    retries: int = 0,
    retry_delay: float = 0.0,
) -> HandshakeResult:
    """One handshake offering classical groups first. A connection closed, reset, refused or
    timed out before the handshake ends is retried, as a connection limit can cause it; an
    answer in TLS (an alert) is the server's and is not, except once without asking for a
    staple. A failed handshake still carries the certificates the server sent before it."""
    error, seen = "", None
    for attempt in range(1, retries + 2):
        if attempt > 1:
            time.sleep(retry_delay * (attempt - 1))
        try:
            return _once(target, server_name, timeout)
        except _Unfinished as exc:
            seen = _more_seen(seen, exc)
            if not exc.retryable:
                first = _Unfinished(exc, seen.chain, seen.unreadable, seen.staple)
                return _without_staple(target, server_name, timeout, first, attempt)
            error = str(exc)
        except OSError as exc:
            error = str(exc) or type(exc).__name__
        except ValueError as exc:  # the local OpenSSL lacks a group of the client's list
            return HandshakeResult(False, error=str(exc))
    return _failed(error, retries + 1, seen)
