"""PTSbD 1.0 lost its per-outcome `checks:` lists (they follow from the check catalogue now), so
its file changed; a database that registered the file as first published keeps working, and any
other content for the same version is still refused."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from frameworks.loader import default_framework
from kernel.errors import DatabaseError
from posture.framework_registry import register_framework
from posture.storage.engine import transaction
from posture.storage.models import FrameworkVersion

AS_FIRST_PUBLISHED = "4c4282e9373c01c83d9c05b27c67da375978827b40364a1214bb1ea2c12b3911"


def _registered(sessions: sessionmaker[Session], digest: str) -> None:
    with transaction(sessions) as session:
        session.add(
            FrameworkVersion(
                framework_id="ptsbd", version="1.0", title="PTSbD", content_sha256=digest
            )
        )


def test_a_database_pinned_to_the_first_published_file_still_loads(
    sessions: sessionmaker[Session],
) -> None:
    loaded = default_framework()
    assert loaded.content_sha256 != AS_FIRST_PUBLISHED
    assert loaded.framework.earlier_content_sha256 == [AS_FIRST_PUBLISHED]
    _registered(sessions, AS_FIRST_PUBLISHED)
    with transaction(sessions) as session:
        assert register_framework(session, loaded).content_sha256 == AS_FIRST_PUBLISHED


def test_other_content_for_the_same_version_is_still_refused(
    sessions: sessionmaker[Session],
) -> None:
    _registered(sessions, "0" * 64)
    refused = pytest.raises(DatabaseError, match="publish changes as a new framework version")
    with refused, transaction(sessions) as session:
        register_framework(session, default_framework())
