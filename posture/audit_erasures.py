"""Signed records of erasures: what stops an erasure being forged in the database.

The audit chain's hashes need no secret, so anyone who can write the database could append an
`admin.person_erased` event naming any items and blank them. `assure admin erase-person` also
signs a record of each erasure (its event's id and hash, and the digest of the items it erased)
with the platform's hybrid keys, appended to DATA_DIR/audit-erasures.jsonl as the checkpoints
are; `assure audit verify` breaks on an erasure event without a matching signed record.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kernel.data_dir import ERASURES_FILE
from posture.audit_checkpoint import signing_keys
from posture.audit_checkpoint_file import JsonLinesFile
from posture.audit_encoding import canonical_bytes
from pq_crypto.attestation import sign_bytes, verify_bytes

ERASURE_FORMAT = "policetech-assure/audit-erasure/v1"
SIGNED_NAME = "audit-erasure"
SHA256_HEX = r"^[0-9a-f]{64}$"


class SignedErasure(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    format: Literal["policetech-assure/audit-erasure/v1"] = ERASURE_FORMAT
    event_id: int = Field(ge=1)
    event_hash: str = Field(pattern=SHA256_HEX)
    erased_digest: str = Field(pattern=SHA256_HEX)
    created_at: datetime


def erasures_path(data_dir: Path) -> Path:
    return data_dir / ERASURES_FILE


def sign_erasure(data_dir: Path, event_id: int, event_hash: str, digest: str) -> None:
    erasure = SignedErasure(
        event_id=event_id,
        event_hash=event_hash,
        erased_digest=digest,
        created_at=datetime.now(UTC).replace(microsecond=0),
    )
    signed = erasure.model_dump(mode="json")
    with JsonLinesFile(erasures_path(data_dir)).appending() as appending:
        signature = sign_bytes(canonical_bytes(signed), SIGNED_NAME, signing_keys(data_dir))
        line = json.dumps({"erasure": signed, "signature": signature}, sort_keys=True)
        appending.append(line.encode())


@dataclass
class SignedErasures:
    """The records that verify with the trusted keys, by event id, and what was wrong with
    any other line (source, message)."""

    by_event: dict[int, SignedErasure] = field(default_factory=dict)
    problems: list[tuple[str, str]] = field(default_factory=list)


def _parse(line: bytes) -> tuple[dict[str, Any], dict[str, Any]]:
    document = json.loads(line)
    if not isinstance(document, dict) or set(document) != {"erasure", "signature"}:
        raise ValueError("an erasure line has exactly an erasure and a signature")
    erasure, signature = document["erasure"], document["signature"]
    if not isinstance(erasure, dict) or not isinstance(signature, dict):
        raise ValueError("an erasure record has an erasure object and a signature object")
    return erasure, signature


def read_signed_erasures(data_dir: Path, trusted: str | None) -> SignedErasures:
    path = erasures_path(data_dir)
    found = SignedErasures()
    for number, line in JsonLinesFile(path).read().lines:
        source = f"{path.name} line {number}"
        try:
            signed, signature = _parse(line)
            erasure = SignedErasure.model_validate(signed)
        except (ValueError, ValidationError, UnicodeDecodeError) as exc:
            found.problems.append((source, f"unreadable erasure record: {str(exc)[:200]}"))
            continue
        result = verify_bytes(canonical_bytes(signed), signature)
        if signature.get("name") != SIGNED_NAME or not result.valid:
            found.problems.append((source, "tampered erasure record: its signature does not hold"))
        elif trusted is None or result.key_fingerprint != trusted:
            found.problems.append(
                (source, f"erasure record signed by keys {result.key_fingerprint}")
            )
        else:
            found.by_event[erasure.event_id] = erasure
    return found
