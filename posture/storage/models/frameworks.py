"""Framework versions known to this database; their content lives in frameworks/ data files."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from posture.storage.base import Base, UtcDateTime, utcnow


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
