"""The passport and the revocation list as signed documents, and their offline verification.

Both are canonical JSON (sorted keys, no spaces, ASCII) of `{"<kind>": body, "signature": ...}`,
the signature a hybrid Ed25519 + ML-DSA-65 bundle (pq_crypto.attestation) over the canonical
bytes of the body. A verifier needs nothing but the file and the platform's published public
keys: no database, no network. The file must be exactly its own canonical form, so any change to
any byte is refused, not only changes to what the signature covers.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from kernel.json_schema import inline_refs
from posture.storage.models.enums import PassportStatus
from pq_crypto.attestation import AttestationKeys, PublicKeys, sign_bytes, verify_bytes

PASSPORT_SCHEMA = "policetech-assure/passport/v1"
REVOCATIONS_SCHEMA = "policetech-assure/passport-revocations/v1"
REVOCATIONS_NAME = "passport-revocations"
NUMBER_PATTERN = r"^PP-[0-9A-F]{16}$"


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


# Bounded, as every field a verifier reads from a file someone hands it.
Id = Annotated[int, Field(ge=1, le=2_147_483_647)]
Short = Annotated[str, Field(max_length=64)]
Text = Annotated[str, Field(max_length=300)]
Moment = Annotated[str, Field(max_length=40)]
Digest = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
Percent = Annotated[float, Field(ge=0, le=100)]


class NamedRecord(_Part):
    id: Id
    name: Text


class ProductPart(_Part):
    id: Id
    name: Text
    version: Short | None = None
    category: Short
    deployment_model: Short


class FrameworkPart(_Part):
    id: Short
    version: Short
    content_sha256: Digest


class AssessmentPart(_Part):
    id: Id
    version: Id
    sha256: Digest
    accepted_at: Moment
    framework: FrameworkPart


class ProfilePart(_Part):
    id: Short
    title: Text
    why: Annotated[str, Field(max_length=4000)]


class OutcomePart(_Part):
    outcome: Short
    title: Text
    status: Short
    target: Short


class CheckRunPart(_Part):
    id: Id
    kind: Short
    target: Annotated[str, Field(max_length=2048)]
    finished_at: Moment | None
    status: Short
    score: Percent | None
    sha256: Digest
    certificate_not_after: Moment | None = None


class ExceptionPart(_Part):
    framework: Short
    outcome: Short
    expires_on: Moment


class PassportBody(_Part):
    """What a passport states. Times are ISO 8601 UTC to the second."""

    schema_: Literal["policetech-assure/passport/v1"] = Field(alias="schema")
    number: str = Field(pattern=NUMBER_PATTERN)
    issuer_fingerprint: Digest
    product: ProductPart
    supplier: NamedRecord
    assessment: AssessmentPart
    profile: ProfilePart
    outcomes: list[OutcomePart] = Field(max_length=1000)
    band: Short
    score: Percent
    confidence: Percent
    check_runs: list[CheckRunPart] = Field(max_length=100)
    exceptions: list[ExceptionPart] = Field(max_length=1000)
    issued_at: Moment
    expires_at: Moment
    expiry_reason: Literal["validity", "certificate"]

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, populate_by_name=True)

    def wire(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


def _key_and_signature(longest: int) -> dict[str, Any]:
    base64 = {"type": "string", "pattern": "^[A-Za-z0-9+/]*={0,2}$", "maxLength": longest}
    return {
        "type": "object",
        "required": ["public_key", "signature"],
        "properties": {"public_key": base64, "signature": base64},
        "additionalProperties": False,
    }


# The bundle pq_crypto.attestation.sign_bytes writes, as a JSON schema: what the public
# verification endpoint states it takes.
BUNDLE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": [
        "scheme",
        "name",
        "sha256",
        "signed_at",
        "ed25519",
        "ml_dsa_65",
        "key_fingerprint",
    ],
    "properties": {
        "scheme": {"type": "string", "maxLength": 64},
        "name": {"type": "string", "maxLength": 64},
        "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        "signed_at": {"type": "string", "maxLength": 40},
        "ed25519": _key_and_signature(200),
        "ml_dsa_65": _key_and_signature(8000),
        "key_fingerprint": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
    },
    "additionalProperties": False,
}
BUNDLE_FIELDS = frozenset(BUNDLE_SCHEMA["properties"])


def passport_file_schema() -> dict[str, Any]:
    """A signed passport file as a self-contained JSON schema (no references)."""
    body = PassportBody.model_json_schema(by_alias=True)
    return {
        "type": "object",
        "required": ["passport", "signature"],
        "properties": {"passport": inline_refs(body, body["$defs"]), "signature": BUNDLE_SCHEMA},
        "additionalProperties": False,
    }


class RevocationEntry(_Part):
    number: str = Field(pattern=NUMBER_PATTERN)
    status: PassportStatus = Field(strict=False)
    since: str
    reason: str

    @field_validator("status")
    @classmethod
    def _ended(cls, status: PassportStatus) -> PassportStatus:
        if status == PassportStatus.ISSUED:
            raise ValueError("a revocation list lists only passports no longer issued")
        return status


class RevocationBody(_Part):
    schema_: Literal["policetech-assure/passport-revocations/v1"] = Field(alias="schema")
    issuer_fingerprint: str = Field(pattern=r"^[0-9a-f]{64}$")
    issued_at: str
    next_update: str
    entries: list[RevocationEntry]

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, populate_by_name=True)

    def wire(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


def canonical(value: Any) -> bytes:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    ).encode("ascii")


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def seal(kind: str, body: dict[str, Any], name: str, keys: AttestationKeys) -> bytes:
    """The signed file: canonical JSON of the body and a hybrid signature over its bytes."""
    return canonical({kind: body, "signature": sign_bytes(canonical(body), name, keys)})


class DocumentRefused(ValueError):
    """The file is not a document the platform signed, as it was signed."""


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("a number too large to hold")
    return value


def open_sealed(raw: bytes, kind: str, trusted: PublicKeys, max_bytes: int) -> dict[str, Any]:
    """The body of a sealed document, once the file is proved to be exactly what the trusted keys
    signed; DocumentRefused says why not."""
    if len(raw) > max_bytes:
        raise DocumentRefused(f"the file is larger than {max_bytes:,} bytes")
    try:
        document = json.loads(
            raw.decode("ascii"), parse_constant=_refuse_constant, parse_float=_finite
        )
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise DocumentRefused(
            "the file is not a signed document (it is not canonical JSON)"
        ) from None
    if not isinstance(document, dict) or set(document) != {kind, "signature"}:
        raise DocumentRefused(f"the file is not a signed {kind} document")
    if canonical(document) != raw:
        raise DocumentRefused("the file is not exactly as signed: it was changed after signing")
    body, bundle = document[kind], document["signature"]
    if not isinstance(body, dict) or not isinstance(bundle, dict):
        raise DocumentRefused(f"the file is not a signed {kind} document")
    if set(bundle) != BUNDLE_FIELDS:
        raise DocumentRefused(
            "the signature is not a hybrid signature bundle as the platform writes"
        )
    # What was signed, named: a passport under its number, the list under its own name, so one
    # signed document is never read as the other.
    named = body.get("number") if kind == "passport" else REVOCATIONS_NAME
    if bundle.get("name") != named:
        raise DocumentRefused(f"the signature was made for another document than this {kind}")
    checked = verify_bytes(canonical(body), bundle)
    if not checked.valid:
        raise DocumentRefused(f"the signature does not hold: {checked.reason}")
    # The bundle's own statement of its fingerprint is not signed: it must be the keys' own.
    if bundle["key_fingerprint"] != checked.key_fingerprint:
        raise DocumentRefused("the signature names keys other than those that made it")
    if checked.key_fingerprint != trusted.fingerprint:
        raise DocumentRefused(
            f"signed by keys {checked.key_fingerprint}, not the platform's published keys "
            f"{trusted.fingerprint}"
        )
    if body.get("issuer_fingerprint") != trusted.fingerprint:
        raise DocumentRefused("the document names an issuer other than the keys that signed it")
    return body


def _moment(text: str, what: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise DocumentRefused(f"{what} is not a date and time") from None
    if moment.tzinfo is None:
        raise DocumentRefused(f"{what} has no time zone")
    return moment


def read_revocations(
    raw: bytes, trusted: PublicKeys, at: datetime, max_bytes: int
) -> RevocationBody:
    """A revocation list the trusted keys signed and that is current at `at`."""
    body = open_sealed(raw, "revocations", trusted, max_bytes)
    try:
        revocations = RevocationBody.model_validate(body)
    except ValidationError as exc:
        raise DocumentRefused(
            f"the revocation list is malformed: {exc.errors()[0]['msg']}"
        ) from None
    if at > _moment(revocations.next_update, "next_update"):
        raise DocumentRefused(
            f"the revocation list is out of date (it was due to be replaced at "
            f"{revocations.next_update}); fetch the current one"
        )
    if at < _moment(revocations.issued_at, "issued_at"):
        raise DocumentRefused("the revocation list was issued after the time of verification")
    return revocations


# A verdict is one of these, or the status (PassportStatus) that ended the passport.
VALID, INVALID, NOT_YET_VALID, EXPIRED = "valid", "invalid", "not yet valid", "expired"


@dataclass(frozen=True)
class PassportCheck:
    """A verdict on a passport file: `valid` only when every check held."""

    state: str
    reasons: list[str] = field(default_factory=list)
    passport: PassportBody | None = None
    # What the status was read from: the revocation list (and when it was issued) or the
    # platform's records.
    checked_against: str | None = None

    @property
    def valid(self) -> bool:
        return self.state == VALID

    def summary(self) -> dict[str, Any]:
        passport = self.passport
        return {
            "valid": self.valid,
            "state": self.state,
            "reasons": self.reasons,
            "number": passport.number if passport else None,
            "product": passport.product.name if passport else None,
            "supplier": passport.supplier.name if passport else None,
            "band": passport.band if passport else None,
            "profile": passport.profile.id if passport else None,
            "issued_at": passport.issued_at if passport else None,
            "expires_at": passport.expires_at if passport else None,
            "checked_against": self.checked_against,
        }


def verify_passport(
    raw: bytes,
    trusted: PublicKeys,
    status_of: Callable[[str], RevocationEntry | None],
    checked_against: str,
    at: datetime,
    max_bytes: int,
) -> PassportCheck:
    """Signatures (both), the trusted keys, the passport's dates, and its status: `status_of`
    gives a passport's entry on the revocation list (or the platform's records), None when it
    has none; `checked_against` names that source in the verdict."""
    try:
        body = PassportBody.model_validate(open_sealed(raw, "passport", trusted, max_bytes))
    except DocumentRefused as exc:
        return PassportCheck(INVALID, [str(exc)])
    except ValidationError as exc:
        return PassportCheck(INVALID, [f"the passport is malformed: {exc.errors()[0]['msg']}"])
    try:
        issued, expires = (
            _moment(body.issued_at, "issued_at"),
            _moment(body.expires_at, "expires_at"),
        )
    except DocumentRefused as exc:
        return PassportCheck(INVALID, [str(exc)], body)
    entry = status_of(body.number)
    if entry is not None:
        return PassportCheck(
            entry.status.value,
            [f"{entry.status.value} since {entry.since}: {entry.reason}"],
            body,
            checked_against,
        )
    if at < issued:
        return PassportCheck(NOT_YET_VALID, [f"issued at {body.issued_at}"], body, checked_against)
    if at >= expires:
        return PassportCheck(EXPIRED, [f"expired at {body.expires_at}"], body, checked_against)
    return PassportCheck(
        VALID,
        [
            "both signatures (Ed25519 and ML-DSA-65) verify with the platform's published keys",
            f"in date: issued {body.issued_at}, expires {body.expires_at}",
            f"neither suspended nor revoked: {checked_against}",
        ],
        body,
        checked_against,
    )


def verify_offline(
    raw: bytes,
    trusted: PublicKeys,
    revocations_raw: bytes,
    at: datetime,
    max_bytes: int,
    max_list_bytes: int,
) -> PassportCheck:
    """Everything a relying party can check with the published keys and revocation list."""
    try:
        revocations = read_revocations(revocations_raw, trusted, at, max_list_bytes)
    except DocumentRefused as exc:
        return PassportCheck(INVALID, [f"revocation list: {exc}"])
    listed = {entry.number: entry for entry in revocations.entries}
    return verify_passport(
        raw,
        trusted,
        listed.get,
        f"the revocation list issued {revocations.issued_at}",
        at,
        max_bytes,
    )
