"""Procurement frameworks, their lots, products' applications to lots, and buyers' shortlists."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kernel.clock import utcnow
from posture.storage.base import Base, JsonDocument, UtcDateTime
from posture.storage.models.enums import ListingState


class ProcurementFramework(Base):
    __tablename__ = "procurement_frameworks"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    title: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Lot(Base):
    __tablename__ = "procurement_lots"
    __table_args__ = (UniqueConstraint("framework_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    framework_id: Mapped[int] = mapped_column(ForeignKey("procurement_frameworks.id"), index=True)
    key: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    gates: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)


class LotApplication(Base):
    __tablename__ = "lot_applications"
    __table_args__ = (UniqueConstraint("lot_id", "product_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("procurement_lots.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=ListingState.APPLIED.value)
    eligible: Mapped[bool] = mapped_column(Boolean)
    eligibility: Mapped[list[dict[str, Any]]] = mapped_column(JsonDocument, default=list)
    flagged: Mapped[list[dict[str, Any]] | None] = mapped_column(JsonDocument)
    note: Mapped[str] = mapped_column(Text, default="")
    applied_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    decided_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class ShortlistRequirement(Base):
    __tablename__ = "shortlist_requirements"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    lot_ids: Mapped[list[int]] = mapped_column(JsonDocument, default=list)
    gates: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)
    criteria: Mapped[list[dict[str, Any]]] = mapped_column(JsonDocument, default=list)
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ShortlistVersion(Base):
    __tablename__ = "shortlist_versions"
    __table_args__ = (UniqueConstraint("requirement_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    requirement_id: Mapped[int] = mapped_column(ForeignKey("shortlist_requirements.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    inputs: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)
    ranking: Mapped[list[dict[str, Any]]] = mapped_column(JsonDocument, default=list)
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
