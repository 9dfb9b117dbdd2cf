"""Evidence files: size-capped, typed by their content (not their name), stored by SHA-256."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path, PurePath

from sqlalchemy import select
from sqlalchemy.orm import Session

from posture.audit import record
from posture.config import Settings, ensure_data_dir
from posture.errors import ValidationFailed
from posture.identity.accounts import actor_of
from posture.identity.permissions import Principal
from posture.storage.models import Evidence
from posture.storage.models.enums import AssessmentStatus, Provenance
from supplier_portal.assessments import get_assessment

MAX_EVIDENCE_BYTES = 10 * 1024 * 1024
# Magic numbers of the formats assessors can open safely.
SIGNATURES = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"PK\x03\x04", "application/zip"),
)


def sniff_media_type(data: bytes) -> str | None:
    for signature, media_type in SIGNATURES:
        if data.startswith(signature):
            return media_type
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if "\x00" in text:
        return None
    try:
        json.loads(text)
        return "application/json"
    except ValueError:
        return "text/plain"


def safe_filename(name: str) -> str:
    base = PurePath(name.replace("\\", "/")).name.strip()
    if not base or base in {".", ".."}:
        raise ValidationFailed("filename: give the file a name")
    return base[:255]


def add_evidence(
    session: Session,
    principal: Principal,
    settings: Settings,
    assessment_id: int,
    filename: str,
    data: bytes,
) -> Evidence:
    """Everything is checked before anything is written: size, type, then file, then row."""
    assessment = get_assessment(session, principal, assessment_id, "evidence.write")
    if assessment.status != AssessmentStatus.DRAFT:
        raise ValidationFailed("evidence can only be added to a draft assessment")
    if not data:
        raise ValidationFailed("file: the file is empty")
    if len(data) > MAX_EVIDENCE_BYTES:
        raise ValidationFailed(f"file: larger than the {MAX_EVIDENCE_BYTES // 2**20} MiB limit")
    media_type = sniff_media_type(data)
    if media_type is None:
        raise ValidationFailed(
            "file: unsupported type; upload PDF, PNG, JPEG, ZIP (Office documents), JSON or text"
        )
    name = safe_filename(filename)
    digest = hashlib.sha256(data).hexdigest()
    folder = ensure_data_dir(settings) / "evidence"
    folder.mkdir(exist_ok=True)
    target = folder / digest
    if not target.exists():
        temporary = folder / f".{digest}.part"
        temporary.write_bytes(data)
        temporary.replace(target)
    evidence = Evidence(
        organisation_id=assessment.organisation_id,
        assessment_id=assessment.id,
        kind="document",
        filename=name,
        media_type=media_type,
        size_bytes=len(data),
        sha256=digest,
        provenance=Provenance.DOCUMENTARY,
        storage_key=f"evidence/{digest}",
        created_by_user_id=principal.user_id,
    )
    session.add(evidence)
    session.flush()
    record(
        session,
        actor_of(principal),
        "evidence.added",
        "evidence",
        evidence.id,
        {
            "assessment_id": assessment.id,
            "filename": name,
            "sha256": digest,
            "media_type": media_type,
            "size_bytes": len(data),
        },
        organisation_id=assessment.organisation_id,
    )
    return evidence


def list_evidence(session: Session, principal: Principal, assessment_id: int) -> list[Evidence]:
    get_assessment(session, principal, assessment_id)
    return list(
        session.scalars(
            select(Evidence).where(Evidence.assessment_id == assessment_id).order_by(Evidence.id)
        )
    )


def evidence_path(settings: Settings, evidence: Evidence) -> Path:
    return settings.data_dir / evidence.storage_key
