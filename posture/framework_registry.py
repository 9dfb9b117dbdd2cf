"""Record which framework versions this database has seen, pinned by content hash."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from frameworks.loader import LoadedFramework
from kernel.errors import DatabaseError
from posture.storage.models import FrameworkVersion


def register_framework(session: Session, loaded: LoadedFramework) -> FrameworkVersion:
    """Return the row for this framework version, creating it on first use.

    A shipped version's content must never change once assessments point at it; a different
    hash for the same version means the data files were edited instead of versioned, unless the
    file names the stored hash as an earlier rendering of the same outcomes and indicators.
    """
    framework = loaded.framework
    row = session.scalar(
        select(FrameworkVersion).where(
            FrameworkVersion.framework_id == framework.framework_id,
            FrameworkVersion.version == framework.version,
        )
    )
    if row is None:
        row = FrameworkVersion(
            framework_id=framework.framework_id,
            version=framework.version,
            title=framework.title,
            content_sha256=loaded.content_sha256,
        )
        session.add(row)
        session.flush()
    elif not loaded.pins_content(row.content_sha256):
        raise DatabaseError(
            f"framework {framework.framework_id} {framework.version} in the database was loaded "
            "from different content; publish changes as a new framework version"
        )
    return row
