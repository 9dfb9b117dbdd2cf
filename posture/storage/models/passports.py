"""Assurance passports: the signed statement issued when a national assessor accepts a product's
assessment, and the forces' reliance on one instead of assessing the product again."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from kernel.clock import utcnow
from posture.storage.base import Base, JsonDocument, UtcDateTime
from posture.storage.models.enums import PassportStatus, enum_column


class Passport(Base):
    __tablename__ = "passports"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The public name a verifier quotes: random, so it says nothing of how many were issued.
    number: Mapped[str] = mapped_column(String(32), unique=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id"), index=True)
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[PassportStatus] = mapped_column(enum_column(PassportStatus, "passport_status"))
    # Why the status last changed (posture.passport.status.REASONS) and what showed it.
    status_reason: Mapped[str | None] = mapped_column(String(32))
    status_detail: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)
    status_changed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # The signed document exactly as issued: its bytes are what verifiers hold.
    document: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    issued_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class PassportReliance(Base):
    """A force relies on a passport for one of its deployments instead of assessing again."""

    __tablename__ = "passport_reliances"

    id: Mapped[int] = mapped_column(primary_key=True)
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployments.id"), unique=True)
    passport_id: Mapped[int] = mapped_column(ForeignKey("passports.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    recorded_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
