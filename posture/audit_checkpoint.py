"""Signed checkpoints of the audit trail: what the hash chain alone cannot show.

The chain finds an edited, deleted or reordered event, but not one missing from its end, nor a
chain edited and re-hashed from that point on: both leave a chain that links perfectly. A
checkpoint signs where the chain ended at a moment (how many events, the tip's id and hash, the
first event) with the platform's hybrid Ed25519 + ML-DSA-65 keys, and is appended to a file in
the data folder, out of reach of anyone who can only rewrite the database. Verification
(posture.audit_checkpoint_verify) compares the chain with every checkpoint in the file, and with
an exported copy kept elsewhere; docs/audit.md says what that does and does not prove.

Writing a checkpoint is deliberately not an audit event. An "audit.checkpoint" event would move
the tip the moment after it was signed, so no checkpoint would ever cover the whole chain and the
hourly writer would never find the chain unchanged (each checkpoint would cause the next). The
checkpoint file is itself the record of every checkpoint written, with who wrote it and when.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy.orm import Session, sessionmaker

from kernel.data_dir import CHECKPOINT_FILE, KEYS_FOLDER
from kernel.errors import ValidationFailed
from posture.audit import canonical_bytes, chain_tip
from posture.audit_checkpoint_file import CheckpointFileError, JsonLinesFile
from pq_crypto.attestation import AttestationKeys, load_or_create_keys, sign_bytes, verify_bytes

log = logging.getLogger("assure.audit")

CHECKPOINT_FORMAT = "policetech-assure/audit-checkpoint/v2"
# Signed before migration 0020 re-sealed the trail with personal data apart: such a checkpoint
# names hashes the re-seal replaced (posture/audit_reseal.py).
LEGACY_CHECKPOINT_FORMAT = "policetech-assure/audit-checkpoint/v1"
EXPORT_FORMAT = "policetech-assure/audit-checkpoint-export/v1"
# The name inside every checkpoint signature, so no other signed file passes for a checkpoint.
SIGNED_NAME = "audit-checkpoint"
# Where the platform's attestation keys live (as supplier_portal.check_exports.signing_keys has
# it); posture cannot import the portal, so the folder is named here too.
KEYS_FILE = "attestation-keys.json"
SHA256_HEX = r"^[0-9a-f]{64}$"


class AuditCheckpoint(BaseModel):
    """Where the chain ended when this was signed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: Literal[
        "policetech-assure/audit-checkpoint/v2", "policetech-assure/audit-checkpoint/v1"
    ] = CHECKPOINT_FORMAT
    event_count: int = Field(ge=0)
    tip_event_id: int | None
    tip_hash: str = Field(pattern=SHA256_HEX)
    first_event_id: int | None
    first_hash: str | None = Field(pattern=SHA256_HEX)
    created_at: datetime
    written_by: str = Field(min_length=1, max_length=64)

    @property
    def names_legacy_hashes(self) -> bool:
        return self.format == LEGACY_CHECKPOINT_FORMAT

    @model_validator(mode="after")
    def _empty_means_no_tip(self) -> AuditCheckpoint:
        if (self.event_count == 0) != (self.tip_event_id is None):
            raise ValueError("an empty chain has no tip, and a chain with events has one")
        return self


class CheckpointExport(BaseModel):
    """A checkpoint copied out of the data folder, verifiable with the keys inside it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: Literal["policetech-assure/audit-checkpoint-export/v1"] = EXPORT_FORMAT
    exported_at: datetime
    key_fingerprint: str
    checkpoint: dict[str, Any]
    signature: dict[str, Any]
    how_to_verify: str


@dataclass(frozen=True)
class SignedCheckpoint:
    checkpoint: AuditCheckpoint
    # The checkpoint exactly as signed: verification hashes these fields, not a re-encoding.
    signed: dict[str, Any]
    signature: dict[str, Any]

    def line(self) -> bytes:
        document = {"checkpoint": self.signed, "signature": self.signature}
        return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()

    def verify(self) -> tuple[bool, str, str | None]:
        """(both signatures hold, why not, the signing keys' fingerprint)."""
        if self.signature.get("name") != SIGNED_NAME:
            return False, "the signature is not for an audit checkpoint", None
        result = verify_bytes(canonical_bytes(self.signed), self.signature)
        return result.valid, result.reason, result.key_fingerprint


def parse_signed(checkpoint: Any, signature: Any) -> SignedCheckpoint:
    """Raises ValueError saying what is wrong with the record."""
    if not isinstance(checkpoint, dict) or not isinstance(signature, dict):
        raise ValueError("a checkpoint record has a checkpoint object and a signature object")
    try:
        return SignedCheckpoint(AuditCheckpoint.model_validate(checkpoint), checkpoint, signature)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(map(str, first["loc"])) or "checkpoint"
        raise ValueError(f"{where}: {first['msg']}") from None


def parse_line(line: bytes) -> SignedCheckpoint:
    try:
        document = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"not JSON ({exc})") from None
    if not isinstance(document, dict) or set(document) != {"checkpoint", "signature"}:
        raise ValueError("a checkpoint line has exactly a checkpoint and a signature")
    return parse_signed(document["checkpoint"], document["signature"])


def sign_checkpoint(checkpoint: AuditCheckpoint, keys: AttestationKeys) -> SignedCheckpoint:
    signed = checkpoint.model_dump(mode="json")
    return SignedCheckpoint(
        checkpoint, signed, sign_bytes(canonical_bytes(signed), SIGNED_NAME, keys)
    )


def checkpoint_path(data_dir: Path) -> Path:
    return data_dir / CHECKPOINT_FILE


def signing_keys(data_dir: Path) -> AttestationKeys:
    """The platform's attestation keys, created on first use (see check_exports)."""
    try:
        return load_or_create_keys(data_dir / KEYS_FOLDER)
    except (OSError, ValueError, KeyError) as exc:
        raise CheckpointFileError(
            f"cannot use the platform's signing keys in {data_dir / KEYS_FOLDER}: {exc}"
        ) from None


def platform_fingerprint(data_dir: Path) -> str | None:
    """The fingerprint of the platform's keys, or None when there are none; never creates keys,
    since keys made by a verifier would only make every existing checkpoint look foreign."""
    if not (data_dir / KEYS_FOLDER / KEYS_FILE).exists():
        return None
    return signing_keys(data_dir).fingerprint


@dataclass(frozen=True)
class CheckpointWritten:
    record: SignedCheckpoint
    path: Path
    # False when the chain had not moved since the last checkpoint, which is returned instead.
    written: bool


def write_checkpoint(
    sessions: sessionmaker[Session],
    data_dir: Path,
    written_by: str,
    *,
    only_if_changed: bool = False,
) -> CheckpointWritten:
    """Sign where the committed chain ends now and append it. The tip is read while holding the
    file's lock, so the file lists checkpoints in chain order even with concurrent writers.
    Nothing is judged here: a broken chain is signed as it is, and verification says so."""
    path = checkpoint_path(data_dir)
    with JsonLinesFile(path).appending() as appending:
        keys = signing_keys(data_dir)  # under the lock: concurrent first writers make one key
        with sessions() as session:
            tip = chain_tip(session)
        if only_if_changed:
            previous = _last_own_checkpoint(appending.last_line(), keys.fingerprint)
            if previous is not None and _same_tip(previous.checkpoint, asdict(tip)):
                return CheckpointWritten(previous, path, written=False)
        checkpoint = AuditCheckpoint(
            **asdict(tip),
            created_at=datetime.now(UTC).replace(microsecond=0),
            written_by=written_by,
        )
        record = sign_checkpoint(checkpoint, keys)
        appending.append(record.line())
    return CheckpointWritten(record, path, written=True)


def _last_own_checkpoint(line: bytes | None, fingerprint: str) -> SignedCheckpoint | None:
    if line is None:
        return None
    try:
        record = parse_line(line)
    except ValueError:
        return None
    valid, _, signer = record.verify()
    return record if valid and signer == fingerprint else None


def _same_tip(checkpoint: AuditCheckpoint, tip: dict[str, Any]) -> bool:
    return all(getattr(checkpoint, name) == value for name, value in tip.items())


def scheduled_checkpoint(sessions: sessionmaker[Session], data_dir: Path) -> dict[str, Any]:
    """The worker's hourly checkpoint; skipped when no event was recorded since the last one,
    so a quiet platform does not grow the file by a signed line every hour."""
    done = write_checkpoint(sessions, data_dir, "worker", only_if_changed=True)
    checkpoint = done.record.checkpoint
    log.info(
        "audit checkpoint %s: %d events to event %s",
        "written" if done.written else "unchanged",
        checkpoint.event_count,
        checkpoint.tip_event_id,
    )
    return {
        "written": done.written,
        "event_count": checkpoint.event_count,
        "tip_event_id": checkpoint.tip_event_id,
    }


def export_checkpoint(record: SignedCheckpoint, target: Path) -> CheckpointExport:
    """Write `record` with its public keys to `target` for a copy kept outside the data folder;
    an existing file is never replaced."""
    fingerprint = record.signature.get("key_fingerprint", "")
    export = CheckpointExport(
        exported_at=datetime.now(UTC).replace(microsecond=0),
        key_fingerprint=fingerprint,
        checkpoint=record.signed,
        signature=record.signature,
        how_to_verify=(
            f"assure audit verify --checkpoint {target.name} --fingerprint {fingerprint}"
        ),
    )
    data = (json.dumps(export.model_dump(mode="json"), indent=2, sort_keys=True) + "\n").encode()
    try:
        descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        raise ValidationFailed(
            f"{target} exists; choose another path (an export is never replaced)"
        ) from None
    except OSError as exc:
        raise ValidationFailed(f"cannot write {target}: {exc.strerror}") from None
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    return export


def read_export(path: Path) -> SignedCheckpoint:
    try:
        document = json.loads(path.read_bytes())
        export = CheckpointExport.model_validate(document)
        return parse_signed(export.checkpoint, export.signature)
    except OSError as exc:
        raise ValidationFailed(f"cannot read {path}: {exc.strerror}") from None
    except (ValueError, ValidationError) as exc:
        detail = " ".join(str(exc).split())[:300]
        raise ValidationFailed(f"{path} is not an audit checkpoint export: {detail}") from None
