"""A migrated SQLite template holding the multi-tenant world, copied fresh for every test."""

from __future__ import annotations

import pickle
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from posture.config import Settings, load_settings
from posture.storage import migrate
from posture.storage.engine import build_engine, session_factory, transaction
from tests.identity.world import World, build_world


@pytest.fixture(scope="session")
def world_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    folder = tmp_path_factory.mktemp("world-template")
    engine = build_engine(load_settings({"ASSURE_DATA_DIR": str(folder)}))
    migrate.upgrade(engine)
    with transaction(session_factory(engine)) as session:
        world = build_world(session)
    engine.dispose()
    return folder / "assure.db", pickle.dumps(world)


@pytest.fixture
def world_db(
    world_template: tuple[Path, bytes], tmp_path: Path
) -> Iterator[tuple[World, sessionmaker[Session], Settings]]:
    template, world = world_template
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    shutil.copy(template, data_dir / "assure.db")
    settings = load_settings({"ASSURE_DATA_DIR": str(data_dir)})
    engine = build_engine(settings)
    yield pickle.loads(world), session_factory(engine), settings  # noqa: S301 (our own bytes)
    engine.dispose()
