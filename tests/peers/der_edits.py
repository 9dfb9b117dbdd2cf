"""Hand-edited DER for hostile-peer tests: an OCSP response re-signed after an edit no builder
would make (an unassigned revocation reason, several single responses), a certificate whose
subject fails only when read, and an OCSP envelope around garbage."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp
from cryptography.x509.oid import NameOID

if TYPE_CHECKING:
    from tests.peers.tls_chains import Issued


def _der(tag: int, content: bytes) -> bytes:
    size = len(content)
    if size < 0x80:
        return bytes([tag, size]) + content
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(length)]) + length + content


OCSP_BASIC = bytes.fromhex("06092b0601050507300101")  # id-pkix-ocsp-basic


def enveloped_garbage(inner: bytes = b"not a BasicOCSPResponse at all") -> bytes:
    """An OCSPResponse envelope (successful, basic) around bytes that are no BasicOCSPResponse:
    what a server that staples a file it never parsed sends, and what OpenSSL 3.0 passes on."""
    response_bytes = _der(0x30, OCSP_BASIC + _der(0x04, inner))
    return _der(0x30, b"\x0a\x01\x00" + _der(0xA0, response_bytes))


def _span(data: bytes, at: int) -> tuple[int, int]:
    """Where the content of the DER element starting at `at` begins and where the element ends."""
    size = data[at + 1]
    if size < 0x80:
        return at + 2, at + 2 + size
    count = size & 0x7F
    start = at + 2 + count
    return start, start + int.from_bytes(data[at + 2 : start], "big")


def _children(element: bytes) -> list[bytes]:
    """The elements inside one constructed DER element."""
    at, end = _span(element, 0)
    found = []
    while at < end:
        stop = _span(element, at)[1]
        found.append(element[at:stop])
        at = stop
    return found


def _ecdsa(signer: Issued, data: bytes) -> bytes:
    """An ECDSA-with-SHA256 signature as a DER BIT STRING (every key of this PKI is P-256)."""
    assert isinstance(signer.key, ec.EllipticCurvePrivateKey)
    return _der(0x03, b"\x00" + signer.key.sign(data, ec.ECDSA(hashes.SHA256())))


def resigned_staple(raw: bytes, response_data: bytes, signer: Issued) -> bytes:
    """`raw` (one of `staple`'s) with its ResponseData replaced and signed again by `signer`: a
    validly signed response carrying what no builder writes."""
    status, wrapped = _children(raw)
    (response_bytes,) = _children(wrapped)
    kind, octets = _children(response_bytes)
    _, algorithm, _, *certificates = _children(octets[_span(octets, 0)[0] :])
    signed = response_data + algorithm + _ecdsa(signer, response_data)
    basic = _der(0x30, signed + b"".join(certificates))
    return _der(0x30, status + _der(0xA0, _der(0x30, kind + _der(0x04, basic))))


def response_data(raw: bytes) -> bytes:
    return ocsp.load_der_ocsp_response(raw).tbs_response_bytes


def with_reason_code(raw: bytes, code: int, signer: Issued) -> bytes:
    """A REVOKED `staple` whose CRLReason is `code` (7 is unassigned: RFC 5280 skips it)."""
    data = response_data(raw)
    key_compromise = b"\xa0\x03\x0a\x01\x01"  # [0] EXPLICIT ENUMERATED 1
    assert data.count(key_compromise) == 1
    return resigned_staple(
        raw, data.replace(key_compromise, b"\xa0\x03\x0a\x01" + bytes([code])), signer
    )


def with_singles(raw: bytes, others: Sequence[bytes], signer: Issued) -> bytes:
    """`raw` carrying, after its own single response, those of `others` (all `staple`s)."""
    parts = _children(response_data(raw))
    at = next(i for i, part in enumerate(parts) if part[0] == 0x18) + 1  # after producedAt
    singles = [s for r in (raw, *others) for s in _children(_children(response_data(r))[at])]
    parts[at] = _der(0x30, b"".join(singles))
    return resigned_staple(raw, _der(0x30, b"".join(parts)), signer)


def with_unreadable_subject(issued: Issued, signer: Issued) -> x509.Certificate:
    """`issued`'s certificate with its subject's common name rewritten as an IA5String ending in
    a byte over 0x7F (same length), signed again by `signer`. OpenSSL 4 loads and sends it, and
    cryptography loads it as well: only reading the subject fails."""
    der = issued.certificate.public_bytes(serialization.Encoding.DER)
    tbs, algorithm, _ = _children(der)
    common_name = issued.certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0]
    text = str(common_name.value).encode()
    written = bytes([0x0C, len(text)]) + text  # the UTF8String the builder wrote
    assert tbs.count(written) == 1
    tbs = tbs.replace(written, bytes([0x16, len(text)]) + text[:-1] + b"\xff")
    edited = _der(0x30, tbs + algorithm + _ecdsa(signer, tbs))
    return x509.load_der_x509_certificate(edited)
