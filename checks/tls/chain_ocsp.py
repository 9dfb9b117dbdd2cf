"""Judge the OCSP response a server stapled to its leaf certificate. Pure: the bytes, the leaf,
its issuer (when known) and a moment in, a verdict out. Every byte is the server's, so each step
refuses what it cannot prove rather than raising: a response is good only when it parses, is
about this very leaf, carries a signature of the leaf's issuer (or of a responder the issuer
delegated to, whose certificate is valid now), and is current.

Revocation is permanent (certificateHold aside), so a validly signed REVOKED wins over
everything else: over staleness, over a reason or time that does not parse, and over other
single responses about the same serial that say GOOD."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, SignatureAlgorithmOID

from checks.catalogue.tls_chain import OcspStaple
from checks.tls.handshake import MAX_OCSP_BYTES

# Clocks differ: a response issued a few minutes "in the future" is not suspicious.
CLOCK_SKEW = timedelta(minutes=5)
# A response without nextUpdate claims newer information is always available; past this age
# it is not fresh whatever it claims (a week, as CA/B Forum caps a response's validity at ten
# days).
MAX_AGE_WITHOUT_NEXT_UPDATE = timedelta(days=7)
MAX_RESPONSES = 20  # single responses looked at in one staple
MAX_RESPONDER_CERTIFICATES = 4  # certificates in the response tried as delegated responders
ERRORS = (ValueError, TypeError, UnsupportedAlgorithm, InvalidSignature)


@dataclass(frozen=True)
class StapleVerdict:
    status: OcspStaple
    detail: str = ""
    this_update: datetime | None = None
    next_update: datetime | None = None


def _verify_signature(
    public_key: object, signature: bytes, data: bytes, digest: hashes.HashAlgorithm | None
) -> bool:
    try:
        if isinstance(public_key, rsa.RSAPublicKey) and digest is not None:
            public_key.verify(signature, data, padding.PKCS1v15(), digest)
        elif isinstance(public_key, ec.EllipticCurvePublicKey) and digest is not None:
            public_key.verify(signature, data, ec.ECDSA(digest))
        elif isinstance(public_key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
            public_key.verify(signature, data)
        else:
            return False
    except ERRORS:
        return False
    return True


def _delegated(candidate: x509.Certificate, issuer: x509.Certificate, now: datetime) -> bool:
    """A responder certificate the issuer itself signed for OCSP signing (RFC 6960 4.2.2.2),
    valid now: an expired delegate's key may have been retired, or leaked, long ago."""
    try:
        candidate.verify_directly_issued_by(issuer)
        usage = candidate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        current = (
            candidate.not_valid_before_utc <= now + CLOCK_SKEW
            and candidate.not_valid_after_utc >= now - CLOCK_SKEW
        )
    except (*ERRORS, x509.ExtensionNotFound):
        return False
    return current and ExtendedKeyUsageOID.OCSP_SIGNING in usage


def signed_by_issuer(response: ocsp.OCSPResponse, issuer: x509.Certificate, now: datetime) -> bool:
    try:
        if response.signature_algorithm_oid == SignatureAlgorithmOID.RSASSA_PSS:
            return False  # its parameters are not exposed for a response; unproven, not good
        digest = response.signature_hash_algorithm
        signature, data = response.signature, response.tbs_response_bytes
        responders = list(response.certificates[:MAX_RESPONDER_CERTIFICATES])
    except ERRORS:
        return False
    signers = [issuer, *(c for c in responders if _delegated(c, issuer, now))]
    return any(_verify_signature(s.public_key(), signature, data, digest) for s in signers)


def _about_leaf(
    single: ocsp.OCSPSingleResponse, leaf: x509.Certificate, issuer: x509.Certificate | None
) -> bool:
    """The CertID names this leaf: its serial, its issuer's name and (when the issuer is known)
    its issuer's key."""
    try:
        if single.serial_number != leaf.serial_number:
            return False
        algorithm = single.hash_algorithm
        if issuer is not None:
            request = ocsp.OCSPRequestBuilder().add_certificate(leaf, issuer, algorithm).build()
            return (request.issuer_name_hash, request.issuer_key_hash) == (
                single.issuer_name_hash,
                single.issuer_key_hash,
            )
        name_hash = hashlib.new(algorithm.name, leaf.issuer.public_bytes()).digest()
    except ERRORS:
        return False
    return name_hash == single.issuer_name_hash


def _window(this_update: datetime, next_update: datetime | None, now: datetime) -> str:
    """Why the response is not current, or "" when it is."""
    if this_update > now + CLOCK_SKEW:
        return f"thisUpdate {this_update.isoformat()} is in the future"
    if next_update is not None and next_update < now - CLOCK_SKEW:
        return f"nextUpdate {next_update.isoformat()} has passed"
    if next_update is None and this_update < now - MAX_AGE_WITHOUT_NEXT_UPDATE:
        return f"thisUpdate {this_update.isoformat()} is old and no nextUpdate is given"
    return ""


STATUSES = {
    ocsp.OCSPCertStatus.GOOD: OcspStaple.GOOD,
    ocsp.OCSPCertStatus.REVOKED: OcspStaple.REVOKED,
    ocsp.OCSPCertStatus.UNKNOWN: OcspStaple.UNKNOWN,
}


@dataclass(frozen=True)
class _Single:
    """One single response's fields, read once: each is parsed from the server's bytes only
    when first asked for, and any of them can fail then (a reason code outside CRLReason)."""

    status: OcspStaple | None  # None: the status itself does not parse
    this_update: datetime | None
    next_update: datetime | None


def _read(single: ocsp.OCSPSingleResponse) -> _Single:
    try:
        status: OcspStaple | None = STATUSES.get(single.certificate_status)
    except ERRORS:
        status = None
    try:
        this_update, next_update = single.this_update_utc, single.next_update_utc
    except ERRORS:
        this_update = next_update = None
    return _Single(status, this_update, next_update)


def _revocation(single: ocsp.OCSPSingleResponse) -> str:
    """The revocation's time and reason as far as they parse: an unreadable reason or time
    takes nothing from the revocation itself."""
    try:
        when = str(single.revocation_time_utc)
    except ERRORS:
        when = "(a revocation time that does not parse)"
    try:
        reason = single.revocation_reason
        why = f" ({reason.name})" if reason else ""
    except ERRORS as exc:
        why = f" (a reason that does not parse: {exc})"[:120]
    return f"revoked {when}{why}"


def _serial(single: ocsp.OCSPSingleResponse) -> str:
    try:
        return hex(single.serial_number)
    except ERRORS:
        return "(unreadable)"


def _judge_single(single: ocsp.OCSPSingleResponse, now: datetime) -> StapleVerdict:
    """A single response about the leaf, in a response already proven signed."""
    read = _read(single)
    if read.status is OcspStaple.REVOKED:
        # Out of window or not, a signed REVOKED is never good news for the server to hide.
        stale = _window(read.this_update, read.next_update, now) if read.this_update else ""
        detail = _revocation(single) + (f"; the response is stale: {stale}" if stale else "")
        return StapleVerdict(OcspStaple.REVOKED, detail, read.this_update, read.next_update)
    if read.status is None or read.this_update is None:
        return StapleVerdict(OcspStaple.MALFORMED, "its status or validity window does not parse")
    stale = _window(read.this_update, read.next_update, now)
    if stale:
        return StapleVerdict(OcspStaple.OUT_OF_WINDOW, stale, read.this_update, read.next_update)
    return StapleVerdict(read.status, "", read.this_update, read.next_update)


def _worst(verdicts: list[StapleVerdict]) -> StapleVerdict:
    """Several single responses about one serial: any REVOKED wins, then any other fault; GOOD
    only when every one of them is good and current."""
    revoked = next((v for v in verdicts if v.status is OcspStaple.REVOKED), None)
    faulty = next((v for v in verdicts if v.status is not OcspStaple.GOOD), None)
    return revoked or faulty or verdicts[0]


def judge_staple(
    raw: bytes | None, leaf: x509.Certificate, issuer: x509.Certificate | None, now: datetime
) -> StapleVerdict:
    if not raw:
        return StapleVerdict(OcspStaple.ABSENT)
    if len(raw) > MAX_OCSP_BYTES:
        return StapleVerdict(OcspStaple.MALFORMED, f"larger than {MAX_OCSP_BYTES} bytes")
    try:
        response = ocsp.load_der_ocsp_response(raw)
        status = response.response_status
        if status is not ocsp.OCSPResponseStatus.SUCCESSFUL:
            return StapleVerdict(OcspStaple.MALFORMED, f"the responder answered {status.name}")
        singles = list(response.responses)[:MAX_RESPONSES]
    except ERRORS as exc:
        return StapleVerdict(OcspStaple.MALFORMED, f"not an OCSP response: {exc}"[:300])
    about = [s for s in singles if _about_leaf(s, leaf, issuer)]
    if not about:
        serials = [_serial(s) for s in singles[:3]]
        detail = f"about serial {', '.join(serials)}, not the leaf's {hex(leaf.serial_number)}"
        return StapleVerdict(OcspStaple.OTHER_CERTIFICATE, detail)
    first = _read(about[0])
    window = (first.this_update, first.next_update)
    if issuer is None:
        detail = "the leaf's issuer was not sent and is no anchor, so its signature is unproven"
        return StapleVerdict(OcspStaple.UNVERIFIED, detail, *window)
    if not signed_by_issuer(response, issuer, now):
        detail = "not signed by the leaf's issuer nor by a responder it delegated to"
        return StapleVerdict(OcspStaple.UNVERIFIED, detail, *window)
    return _worst([_judge_single(single, now) for single in about])
