"""Bodies of the post-quantum proof operations: a challenge issued for a product, the supplier's
answer (public key and signature in base64, bounded as the service bounds the bytes) and the
verdict."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from partner_api.models import In, Out
from supplier_portal.pq_proof import (
    ACCEPTED_ALGORITHMS,
    MAX_PUBLIC_KEY_BYTES,
    MAX_SIGNATURE_BYTES,
)

# Padded base64 (RFC 4648 section 4) and nothing else: no line breaks, no URL-safe alphabet, so
# every string the schema allows decodes, and a decoder never has to guess.
BASE64 = r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"


def _base64(limit: int, what: str) -> object:
    # The length bounds the text a request may carry; the exact byte limit is the service's
    # (a padded length cannot say "4096 bytes" exactly), which refuses a larger value with 409.
    return Field(
        min_length=4,
        max_length=4 * math.ceil(limit / 3),
        pattern=BASE64,
        description=f"{what}, base64; at most {limit} bytes decoded.",
        json_schema_extra={"contentEncoding": "base64"},
    )


Algorithm = Literal[ACCEPTED_ALGORITHMS]  # type: ignore[valid-type]


class PqChallengeIn(In):
    """The ML-DSA parameter set the supplier's key uses."""

    algorithm: Algorithm = "ML-DSA-65"


class PqChallengeOut(Out):
    """Sign `message` (decoded from base64: those exact bytes) with the ML-DSA private key and
    answer before `expires_at`. The message binds the nonce to this platform and the product."""

    id: int
    product_id: int
    algorithm: Algorithm
    nonce: str
    message: Annotated[str, Field(json_schema_extra={"contentEncoding": "base64"})]
    issued_at: datetime
    expires_at: datetime


class PqAnswerIn(In):
    public_key: Annotated[str, _base64(MAX_PUBLIC_KEY_BYTES, "The ML-DSA public key")]
    signature: Annotated[str, _base64(MAX_SIGNATURE_BYTES, "The signature over the message")]


class PqProofOut(Out):
    """A signature that verified, and the automated-check evidence recorded for it. An answer
    that does not verify is a 409 problem whose detail says why; the challenge stays open."""

    challenge_id: int
    product_id: int | None
    verdict: Literal["verified"]
    algorithm: Algorithm
    public_key_sha256: str
    evidence_id: int
    verified_at: datetime
