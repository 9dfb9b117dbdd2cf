"""Supplier products: what buyers filter on and what checks and assessments attach to."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Date, ForeignKey, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from kernel.clock import utcnow
from posture.storage.base import Base, JsonDocument, UtcDateTime


class Product(Base):
    __tablename__ = "products"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    version: Mapped[str | None] = mapped_column(String(64))
    category: Mapped[str] = mapped_column(String(64), index=True)
    deployment_model: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(Text, default="")
    # Listing fields buyers filter on.
    data_locations: Mapped[list[str]] = mapped_column(JsonDocument, default=list)
    max_classification: Mapped[str | None] = mapped_column(String(32))
    # The facts proportionality derives the product's target profile from (with the above).
    sensitive_caveat: Mapped[bool] = mapped_column(default=False, server_default=false())
    police_networks: Mapped[list[str]] = mapped_column(JsonDocument, default=list)
    national_systems: Mapped[list[str]] = mapped_column(JsonDocument, default=list)
    vetting: Mapped[str | None] = mapped_column(String(16))
    forces_served: Mapped[int | None] = mapped_column(Integer)
    records_held: Mapped[int | None] = mapped_column(BigInteger)
    certifications: Mapped[list[dict[str, Any]]] = mapped_column(JsonDocument, default=list)
    support_ends: Mapped[date | None] = mapped_column(Date)
    end_of_life: Mapped[date | None] = mapped_column(Date)
    api_available: Mapped[bool] = mapped_column(default=False)
    connected_networks: Mapped[list[str]] = mapped_column(JsonDocument, default=list)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
    # Products are withdrawn, never deleted, so audit events and listings keep their subject.
    deleted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class ProfileRaise(Base):
    """An assessor's decision that a product must meet a more demanding profile of a framework
    than its facts derive. One per product and framework; it may only be raised further."""

    __tablename__ = "profile_raises"
    __table_args__ = (UniqueConstraint("product_id", "framework_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="RESTRICT"))
    # The framework family (`ptsbd`): a raise holds across its versions while the profile exists.
    framework_id: Mapped[str] = mapped_column(String(64))
    profile_id: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    raised_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    raised_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
