"""Framework versions known to this database; their content lives in frameworks/ data files."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kernel.clock import utcnow
from posture.storage.base import Base, JsonDocument, UtcDateTime


class FrameworkVersion(Base):
    __tablename__ = "framework_versions"
    __table_args__ = (UniqueConstraint("framework_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    framework_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200))
    # The hash pins an assessment to the exact content it was made against.
    content_sha256: Mapped[str] = mapped_column(String(64))
    loaded_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ImportedCatalogue(Base):
    """An upstream catalogue imported from OSCAL, kept whole so it can be shown and mapped."""

    __tablename__ = "imported_catalogues"
    __table_args__ = (UniqueConstraint("catalogue_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    catalogue_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(2000))
    publisher: Mapped[str] = mapped_column(String(2000))
    source_name: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    control_count: Mapped[int] = mapped_column(Integer)
    content: Mapped[dict[str, Any]] = mapped_column(JsonDocument)
    imported_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    imported_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ImportedProfile(Base):
    """An OSCAL profile resolved against an imported catalogue: which of its controls it selects.

    The key is the catalogue with the profile's title and version, so a second import of the same
    profile is recognised and a changed one under the same title and version is refused."""

    __tablename__ = "imported_profiles"
    __table_args__ = (UniqueConstraint("imported_catalogue_id", "title", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    profile_uuid: Mapped[str] = mapped_column(String(36))
    # 400 characters keep the unique key within PostgreSQL's index row limit in any script.
    title: Mapped[str] = mapped_column(String(400))
    version: Mapped[str] = mapped_column(String(64))
    imported_catalogue_id: Mapped[int] = mapped_column(ForeignKey("imported_catalogues.id"))
    control_ids: Mapped[list[str]] = mapped_column(JsonDocument)
    sha256: Mapped[str] = mapped_column(String(64))
    source_name: Mapped[str] = mapped_column(String(255))
    imported_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    imported_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
