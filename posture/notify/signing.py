"""Webhook signatures: Ed25519 with the platform's signing key (the `ed25519` key published at
/v1/passport-keys) over the timestamp, the delivery id and the exact body.

    message = "<Assure-Timestamp>.<Assure-Delivery>.".encode() + body
    Assure-Signature: ed25519=<standard base64 of the 64-byte signature>

A receiver verifies with the public key alone, refuses a timestamp outside its tolerance, and
remembers the delivery ids (and CloudEvent ids) it has accepted within that tolerance, so a
captured request replayed later, or resent with another body, is refused.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from pq_crypto.attestation import AttestationKeys

TIMESTAMP_HEADER = "Assure-Timestamp"
DELIVERY_HEADER = "Assure-Delivery"
SIGNATURE_HEADER = "Assure-Signature"
KEY_HEADER = "Assure-Key-Fingerprint"
EVENT_CONTENT_TYPE = "application/cloudevents+json; charset=utf-8"
ALGORITHM = "ed25519"
DEFAULT_TOLERANCE_SECONDS = 300


class SignatureRefused(ValueError):
    """The request is not one the platform signed, or is too old or too new to accept."""


def signed_message(timestamp: int, delivery_id: str, body: bytes) -> bytes:
    return f"{timestamp}.{delivery_id}.".encode() + body


def signature_headers(
    keys: AttestationKeys, timestamp: int, delivery_id: str, body: bytes
) -> dict[str, str]:
    signature = keys.ed25519.sign(signed_message(timestamp, delivery_id, body))
    return {
        "Content-Type": EVENT_CONTENT_TYPE,
        TIMESTAMP_HEADER: str(timestamp),
        DELIVERY_HEADER: delivery_id,
        SIGNATURE_HEADER: f"{ALGORITHM}={base64.b64encode(signature).decode('ascii')}",
        KEY_HEADER: keys.fingerprint,
    }


@dataclass(frozen=True)
class VerifiedRequest:
    timestamp: int
    delivery_id: str


def verify_request(
    public_key: bytes,
    headers: Mapping[str, str],
    body: bytes,
    now: float,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
) -> VerifiedRequest:
    """What a receiver runs (public key only): SignatureRefused unless the signature verifies
    and the timestamp is within the tolerance of `now` (seconds since the epoch). Replay
    protection beyond the window is the receiver's: remember accepted delivery ids."""
    lowered = {key.lower(): value for key, value in headers.items()}
    try:
        stamp_text = lowered[TIMESTAMP_HEADER.lower()]
        delivery_id = lowered[DELIVERY_HEADER.lower()]
        scheme, _, encoded = lowered[SIGNATURE_HEADER.lower()].partition("=")
    except KeyError as exc:
        raise SignatureRefused(f"missing header {exc.args[0]}") from None
    if scheme != ALGORITHM or not stamp_text.isascii() or not stamp_text.isdigit():
        raise SignatureRefused("not an Ed25519 signature with a numeric timestamp")
    timestamp = int(stamp_text)
    if abs(now - timestamp) > tolerance_seconds:
        raise SignatureRefused("the timestamp is outside the tolerance (a replay or a bad clock)")
    try:
        signature = base64.b64decode(encoded, validate=True)
        Ed25519PublicKey.from_public_bytes(public_key).verify(
            signature, signed_message(timestamp, delivery_id, body)
        )
    except (InvalidSignature, binascii.Error, ValueError):
        raise SignatureRefused("the signature does not verify") from None
    return VerifiedRequest(timestamp, delivery_id)
