"""A small PKI made on the fly (a root, an intermediate, leaves) and OpenSSL 4 servers on
loopback that send exactly the chain they are given, in the order given, and staple whatever
OCSP bytes they are given: a real response built with cryptography's OCSPResponseBuilder, one
edited byte by byte and signed again (content no builder writes, validly signed), or garbage;
and mutual-TLS endpoints that abort a handshake without a client certificate."""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID
from OpenSSL import SSL

from tests.peers import servers
from tests.peers.certificates import PrivateKey, write_key, write_pem
from tests.peers.processes import free_port

NOW = datetime.datetime.now(datetime.UTC)
DAY = datetime.timedelta(days=1)
OCSP_URL = "http://ocsp.assure-test.invalid/"  # named in leaves, never fetched


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Assure Test PKI"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


@dataclass(frozen=True)
class Issued:
    certificate: x509.Certificate
    key: PrivateKey


def _key() -> PrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def ca(
    common_name: str,
    issuer: Issued | None = None,
    not_before: datetime.datetime | None = None,
    not_after: datetime.datetime | None = None,
) -> Issued:
    """A CA certificate: self-signed (a root) without `issuer`."""
    key = _key()
    signer = issuer.key if issuer else key
    issuer_name = issuer.certificate.subject if issuer else _name(common_name)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or NOW - DAY)
        .not_valid_after(not_after or NOW + 365 * DAY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), False
        )
        .sign(signer, hashes.SHA256())
    )
    return Issued(certificate, key)


def responder(
    issuer: Issued, ocsp_signing: bool = True, not_after: datetime.datetime | None = None
) -> Issued:
    """A certificate `issuer` gives its OCSP responder (RFC 6960 4.2.2.2), or, without the
    id-kp-OCSPSigning usage, one that may not sign responses."""
    key = _key()
    usage = ExtendedKeyUsageOID.OCSP_SIGNING if ocsp_signing else ExtendedKeyUsageOID.SERVER_AUTH
    certificate = (
        x509.CertificateBuilder()
        .subject_name(_name("Assure Test OCSP Responder"))
        .issuer_name(issuer.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - 60 * DAY)
        .not_valid_after(not_after or NOW + 30 * DAY)
        .add_extension(x509.ExtendedKeyUsage([usage]), False)
        .sign(issuer.key, hashes.SHA256())
    )
    return Issued(certificate, key)


def cross_signed(subject: Issued, by: Issued) -> x509.Certificate:
    """`subject`'s CA (same name, same key) as another CA signs it: how a new root is carried
    to clients that only trust an older one."""
    original = subject.certificate
    return (
        x509.CertificateBuilder()
        .subject_name(original.subject)
        .issuer_name(by.certificate.subject)
        .public_key(subject.key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - DAY)
        .not_valid_after(NOW + 365 * DAY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(subject.key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(by.key.public_key()), False
        )
        .sign(by.key, hashes.SHA256())
    )


def leaf(
    issuer: Issued | None,
    names: Sequence[str] = ("localhost", "127.0.0.1"),
    ocsp_url: str | None = OCSP_URL,
) -> Issued:
    """A server certificate for `names` (DNS names, and addresses as IP SANs), issued by
    `issuer`, or self-signed without one."""
    key = _key()
    signer = issuer.key if issuer else key
    subject = _name(names[0] if names else "no-names")
    entries: list[x509.GeneralName] = []
    for name in names:
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            entries.append(x509.DNSName(name))
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.certificate.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - DAY)
        .not_valid_after(NOW + 90 * DAY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), False
        )
    )
    if entries:
        builder = builder.add_extension(x509.SubjectAlternativeName(entries), False)
    if ocsp_url:
        access = x509.AccessDescription(
            AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(ocsp_url)
        )
        builder = builder.add_extension(x509.AuthorityInformationAccess([access]), False)
    return Issued(builder.sign(signer, hashes.SHA256()), key)


@dataclass(frozen=True)
class Pki:
    root: Issued
    intermediate: Issued
    leaf: Issued

    def bundle(self, folder: Path) -> Path:
        """The trust store a test passes: the root alone."""
        return write_pem(folder / "trust.pem", self.root.certificate)


def pki(
    names: Sequence[str] = ("localhost", "127.0.0.1"),
    intermediate_not_after: datetime.datetime | None = None,
) -> Pki:
    root = ca("Assure Test Root")
    start = NOW - 400 * DAY if intermediate_not_after else None
    intermediate = ca("Assure Test Intermediate", root, start, intermediate_not_after)
    return Pki(root, intermediate, leaf(intermediate, names))


def staple(
    subject: x509.Certificate,
    issuer: Issued,
    status: ocsp.OCSPCertStatus = ocsp.OCSPCertStatus.GOOD,
    this_update: datetime.datetime | None = None,
    next_update: datetime.datetime | None = None,
    signer: Issued | None = None,
) -> bytes:
    """A DER OCSP response about `subject` from `issuer`, signed by `signer` (the issuer when
    none), whose certificate the response then carries: a delegated responder's proves itself
    that way, anyone else's is a forgery."""
    revoked = status is ocsp.OCSPCertStatus.REVOKED
    signing = signer or issuer
    this_update = this_update or NOW - datetime.timedelta(hours=1)
    builder = ocsp.OCSPResponseBuilder()
    if signer is not None:
        builder = builder.certificates([signer.certificate])
    response = (
        builder.add_response(
            cert=subject,
            issuer=issuer.certificate,
            algorithm=hashes.SHA1(),  # noqa: S303 (the CertID hash nearly every responder uses)
            cert_status=status,
            this_update=this_update,
            next_update=next_update or NOW + 3 * DAY,
            revocation_time=this_update - DAY if revoked else None,
            revocation_reason=x509.ReasonFlags.key_compromise if revoked else None,
        )
        .responder_id(ocsp.OCSPResponderEncoding.HASH, signing.certificate)
        .sign(signing.key, hashes.SHA256())
    )
    return response.public_bytes(serialization.Encoding.DER)


def chain_handler(
    served: Issued, sent_after_leaf: Sequence[x509.Certificate], stapled: bytes = b""
) -> servers.Handler:
    """OpenSSL 4 serving `served` with exactly `sent_after_leaf` after it, stapling `stapled`
    (nothing when empty) to every handshake whose client asks."""
    context = SSL.Context(SSL.TLS_SERVER_METHOD)
    context.use_certificate(served.certificate)
    context.use_privatekey(served.key)
    for extra in sent_after_leaf:
        context.add_extra_chain_cert(extra)
    context.set_ocsp_server_callback(lambda _connection, _data: stapled)
    return servers.handshaking(context)


def mutual_tls_handler(
    served: Issued, sent_after_leaf: Sequence[x509.Certificate], version: int
) -> servers.Handler:
    """An endpoint at one TLS version that requires a client certificate and aborts the
    handshake without one, as many police APIs do (VERIFY_PEER | VERIFY_FAIL_IF_NO_PEER_CERT)."""
    context = SSL.Context(SSL.TLS_SERVER_METHOD)
    context.set_min_proto_version(version)
    context.set_max_proto_version(version)
    context.use_certificate(served.certificate)
    context.use_privatekey(served.key)
    for extra in sent_after_leaf:
        context.add_extra_chain_cert(extra)
    context.set_verify(
        SSL.VERIFY_PEER | SSL.VERIFY_FAIL_IF_NO_PEER_CERT, lambda _c, _x, _e, _d, ok: bool(ok)
    )
    return servers.handshaking(context, shutdown=False)


def stall_after_certificate_handler(
    served: Issued, sent_after_leaf: Sequence[x509.Certificate]
) -> servers.Handler:
    """TLS 1.2 that sends its first flight (ServerHello, Certificate ... ServerHelloDone) and
    then never answers again, until the client hangs up (or 30 s pass)."""
    context = SSL.Context(SSL.TLS_SERVER_METHOD)
    context.set_max_proto_version(SSL.TLS1_2_VERSION)
    context.use_certificate(served.certificate)
    context.use_privatekey(served.key)
    for extra in sent_after_leaf:
        context.add_extra_chain_cert(extra)

    def handle(sock: socket.socket) -> None:
        sock.settimeout(30)
        connection = SSL.Connection(context, None)
        connection.set_accept_state()
        flight_sent = False
        while received := sock.recv(65536):
            if flight_sent:
                continue  # the client's answer is read and never acted on
            connection.bio_write(received)
            with contextlib.suppress(SSL.WantReadError):
                connection.do_handshake()
            with contextlib.suppress(SSL.WantReadError):
                sock.sendall(connection.bio_read(65536))
                flight_sent = True

    return handle


@contextlib.contextmanager
def serving_chain(
    served: Issued, sent_after_leaf: Sequence[x509.Certificate], stapled: bytes = b""
) -> Iterator[servers.LoopbackServer]:
    with servers.serving(chain_handler(served, sent_after_leaf, stapled)) as server:
        yield server


@contextlib.contextmanager
def s_server_stapling(
    folder: Path,
    served: Issued,
    sent_after_leaf: Sequence[x509.Certificate],
    stapled: bytes,
    *options: str,
) -> Iterator[int]:
    """The system's `openssl s_server` (OpenSSL 3.0) stapling `stapled` as it is: OpenSSL 4
    refuses to staple a response that is not about the certificate it serves, as careful servers
    do, but servers that staple a file (OpenSSL 3.0, some appliances) send whatever it holds.
    Yields its port; the process is killed when the block ends."""
    cert = write_pem(folder / "served.pem", served.certificate)
    chain = write_pem(folder / "chain.pem", *sent_after_leaf)
    key = write_key(folder / "served-key.pem", served.key)
    status = folder / "status.der"
    status.write_bytes(stapled)
    port = free_port()
    command = [
        "openssl", "s_server", "-accept", f"127.0.0.1:{port}", "-cert", str(cert),
        "-key", str(key), "-status_file", str(status), "-quiet",
    ]  # fmt: skip
    if sent_after_leaf:
        command += ["-cert_chain", str(chain)]
    command += options  # e.g. -no_tls1_3: a TLS 1.2 CertificateStatus may be larger than 64 KiB
    process = subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            with socket.socket() as attempt:
                if attempt.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("openssl s_server did not start listening")
            time.sleep(0.05)
        yield port
    finally:
        process.kill()
        process.wait(timeout=5)
