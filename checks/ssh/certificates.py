"""OpenSSH host certificates as a KEX reply carries them in place of a host key (OpenSSH
PROTOCOL.certkeys, the -cert-v01@openssh.com types): the certified key, the certificate's type,
principals and validity window, and the CA key with its signature over the certificate. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from checks.ssh.hostkeys import HostKey, parse_host_key, signature_verifies
from checks.ssh.wire import SshProtocolError, WireReader, string

CERT_SUFFIX = "-cert-v01@openssh.com"
USER_CERT, HOST_CERT = 1, 2
FOREVER = 2**64 - 1
# The key's own fields after the nonce, per plain key type: the certificate repeats them in the
# plain key's order, so the plain key blob is its name followed by these strings and mpints.
KEY_FIELDS = {b"ssh-rsa": 2, b"ssh-dss": 4, b"ssh-ed25519": 1, b"ssh-ed448": 1}
ECDSA_FIELDS = 2
MAX_PRINCIPALS = 256
# What an RSA CA key may sign a certificate with (RFC 8332; ssh-rsa is SHA-1, judged apart).
RSA_SIGNATURES = (b"rsa-sha2-512", b"rsa-sha2-256", b"ssh-rsa")


def is_certificate(algorithm: str) -> bool:
    return algorithm.endswith(CERT_SUFFIX)


def signature_algorithm(algorithm: str) -> str:
    """The algorithm a certificate's key signs the exchange hash with: the plain name
    (rsa-sha2-512-cert-v01@openssh.com signs with rsa-sha2-512)."""
    return algorithm.removesuffix(CERT_SUFFIX)


@dataclass(frozen=True)
class HostCertificate:
    key: HostKey  # the certified key
    cert_type: int  # 1 user, 2 host
    key_id: str
    principals: tuple[str, ...]
    valid_after: datetime | None  # None: from the beginning
    valid_before: datetime | None  # None: forever
    ca: HostKey
    ca_signature_algorithm: str
    ca_signature_verified: bool


LATEST = datetime.max.replace(tzinfo=UTC)


def _moment(seconds: int) -> datetime:
    """A certificate time; one past what a datetime holds (year 9999) is the latest there is, so
    a valid_after that far out stays "not yet valid" rather than reading as no bound at all."""
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return LATEST


def parse_certificate(blob: bytes) -> HostCertificate:
    """The certificate in a KEX reply's host key field; SshProtocolError when it is not one the
    check can read (an sk- type, truncated, garbage)."""
    reader = WireReader(blob, "host certificate")
    name = reader.string()
    if not name.endswith(CERT_SUFFIX.encode()):
        raise SshProtocolError("SSH-005", f"not a certificate: {name[:40]!r}")
    plain = name.removesuffix(CERT_SUFFIX.encode())
    reader.string()  # the nonce
    count = ECDSA_FIELDS if plain.startswith(b"ecdsa-sha2-") else KEY_FIELDS.get(plain)
    if count is None:
        raise SshProtocolError("SSH-005", f"a certificate of an unread key type {plain[:40]!r}")
    start = reader.offset
    for _ in range(count):
        reader.string()
    key = parse_host_key(string(plain) + blob[start : reader.offset])
    reader.uint64()  # the serial
    cert_type = reader.uint32()
    key_id = reader.string().decode("utf-8", errors="replace")[:200]
    principals_reader = WireReader(reader.string(), "certificate principals")
    principals = []
    while not principals_reader.at_end() and len(principals) < MAX_PRINCIPALS:
        principals.append(principals_reader.string().decode("utf-8", errors="replace")[:255])
    after, before = reader.uint64(), reader.uint64()
    for _ in range(3):  # critical options, extensions, reserved
        reader.string()
    ca_blob = reader.string()
    signed = blob[: reader.offset]
    signature = reader.string()
    ca = parse_host_key(ca_blob)
    ca_algorithm = WireReader(signature, "certificate signature").string()
    # The blob names its own algorithm, so it must be one the CA key's type signs with: else a
    # P-256 CA's signature labelled ecdsa-sha2-nistp521 would be checked over SHA-512.
    ca_type = WireReader(ca_blob, "CA key").string()
    allowed = RSA_SIGNATURES if ca_type == b"ssh-rsa" else (ca_type,)
    verified = ca_algorithm in allowed and signature_verifies(
        ca, ca_algorithm.decode("ascii", "replace"), signature, signed
    )
    return HostCertificate(
        key=key,
        cert_type=cert_type,
        key_id=key_id,
        principals=tuple(principals),
        valid_after=_moment(after) if after else None,
        valid_before=None if before == FOREVER or _moment(before) == LATEST else _moment(before),
        ca=ca,
        ca_signature_algorithm=ca_algorithm.decode("ascii", "replace")[:64],
        ca_signature_verified=verified,
    )
