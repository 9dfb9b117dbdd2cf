"""A migrated database on each backend with its blob store and an estate of every kind."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from kernel.settings import Settings
from posture.blobs import BlobStore
from posture.retention.policy import load_policy
from posture.retention.sweep import SweepReport, sweep
from posture.storage.engine import transaction
from tests.retention.estate import NOW, Estate, EstateBuilder


@pytest.fixture
def store(backend_settings: Settings) -> BlobStore:
    return BlobStore.for_settings(backend_settings)


@pytest.fixture
def estate(sessions: sessionmaker[Session], store: BlobStore) -> Estate:
    with transaction(sessions) as session:
        return EstateBuilder(session, store).every_kind()


def run_sweep(
    sessions: sessionmaker[Session], store: BlobStore, dry_run: bool = False, batch_size: int = 500
) -> SweepReport:
    return sweep(sessions, store, load_policy(), NOW, dry_run=dry_run, batch_size=batch_size)
