"""Append-only audit events, hash-chained so an edited, deleted or reordered row shows.

Personal data (who acted, an e-mail address, a comment) is kept beside the event in
`audit_personal`, not in the hashed fields: the event's hash covers only salted commitments to
it, so a person can later be erased without breaking the chain (posture/audit_personal.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kernel.clock import utcnow
from posture.audit_personal import shown_actor, shown_data
from posture.storage.base import Base, JsonDocument, UtcDateTime


class AuditEvent(Base):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # No personal data: a system's name ("cli", "worker") or "user" for a person, whose name
    # is a personal item.
    actor_label: Mapped[str] = mapped_column(String(254))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)
    # 1: personal data inside the hashed fields (written before migration 0020, which converts
    # them all; one seen since is a break); 2: personal items committed to by personal_digest.
    format: Mapped[int] = mapped_column(SmallInteger, default=2, server_default="1")
    personal_digest: Mapped[str | None] = mapped_column(String(64))
    # Unique: two writers that read the same tip cannot both append, so the chain never forks.
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)

    personal: Mapped[AuditPersonal | None] = relationship(lazy="selectin", viewonly=True)

    @property
    def shown_actor(self) -> str:
        """Who acted, as people read it: the person's name while it is held."""
        return shown_actor(self.actor_label, self.personal)

    @property
    def shown_data(self) -> dict[str, Any]:
        """The event's data with its personal items put back, while they are held."""
        return shown_data(self.data, self.personal)


class AuditPersonal(Base):
    """The personal items of one event: {"items": [{"path", "value", "salt"}, ...]}, an erased
    item replaced by {"path", "commitment", "erased_by"} (posture/audit_personal.py)."""

    __tablename__ = "audit_personal"

    event_id: Mapped[int] = mapped_column(
        ForeignKey("audit_events.id", ondelete="CASCADE"), primary_key=True
    )
    payload: Mapped[dict[str, Any]] = mapped_column(JsonDocument)
