"""Shared fixtures: databases on both backends, migrated, isolated per test (or, for tests that
only read, per module)."""

from __future__ import annotations

import contextlib
import os
import pickle
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.orm import Session, sessionmaker

from kernel.settings import Settings, load_settings
from posture.storage import migrate
from posture.storage.engine import build_engine, session_factory, transaction
from tests.cli import cli_env
from tests.identity.world import World, build_world

POSTGRES_URL = os.environ.get(
    "ASSURE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _postgres_unavailable() -> str | None:
    try:
        import psycopg  # noqa: F401
    except ModuleNotFoundError:
        return "psycopg is not installed (pip install '.[postgres]')"
    try:
        engine = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 2})
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:
        return f"PostgreSQL is not reachable at {POSTGRES_URL}: {type(exc).__name__}"
    return None


@pytest.fixture(scope="session")
def postgres_reason() -> str | None:
    return _postgres_unavailable()


@contextlib.contextmanager
def _postgres_schema(postgres_reason: str | None) -> Iterator[str]:
    if postgres_reason:
        pytest.skip(f"needs PostgreSQL, which does not answer here: {postgres_reason}")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def postgres_schema_url(postgres_reason: str | None) -> Iterator[str]:
    """A database URL whose search_path is a fresh schema, dropped after the test."""
    with _postgres_schema(postgres_reason) as url:
        yield url


BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(scope="module", params=BACKENDS)
def module_sessions(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    postgres_reason: str | None,
) -> Iterator[sessionmaker[Session]]:
    """A migrated database on each backend, shared by one module's tests.

    Only for tests that read what a module fixture prepared in it, or that prove a refusal
    wrote nothing (counting before and after); a test that writes takes `sessions`."""
    with contextlib.ExitStack() as stack:
        environ = {"ASSURE_DATA_DIR": str(tmp_path_factory.mktemp("module-db") / "data")}
        if request.param == "postgresql":
            environ["ASSURE_DATABASE_URL"] = stack.enter_context(_postgres_schema(postgres_reason))
        engine = build_engine(load_settings(environ))
        stack.callback(engine.dispose)
        migrate.upgrade(engine)
        yield session_factory(engine)


def _admin_engine() -> Engine:
    # CREATE and DROP DATABASE cannot run inside a transaction.
    return create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")


@contextlib.contextmanager
def _postgres_database(postgres_reason: str | None) -> Iterator[str]:
    """A URL of a new, empty database on the test server, dropped afterwards."""
    if postgres_reason:
        pytest.skip(f"needs PostgreSQL, which does not answer here: {postgres_reason}")
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = _admin_engine()
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class MigratedTemplates:
    """One migrated database per backend per worker, built by `migrate.upgrade` the first time a
    test asks for one; every test's `engine` is a copy (a file copy for SQLite, CREATE DATABASE
    ... TEMPLATE for PostgreSQL): the same schema and rows as migrating, at a twentieth of the
    cost. The migrations themselves are tested on empty databases (`empty_engine`)."""

    def __init__(self, folder: Path, postgres_reason: str | None) -> None:
        self._folder = folder
        self._postgres_reason = postgres_reason
        self._sqlite: Path | None = None
        self._postgres: str | None = None
        self._stack = contextlib.ExitStack()

    def sqlite_file(self) -> Path:
        if self._sqlite is None:
            engine = build_engine(load_settings({"ASSURE_DATA_DIR": str(self._folder)}))
            migrate.upgrade(engine)
            engine.dispose()
            # Closing the last connection folds the write-ahead log into the file; a copy of
            # the file alone would otherwise miss what the log still held.
            assert not (self._folder / "assure.db-wal").exists()
            self._sqlite = self._folder / "assure.db"
        return self._sqlite

    def postgres_database(self) -> str:
        if self._postgres is None:
            url = self._stack.enter_context(_postgres_database(self._postgres_reason))
            engine = build_engine(load_settings({"ASSURE_DATABASE_URL": url}))
            migrate.upgrade(engine)
            engine.dispose()
            self._postgres = str(make_url(url).database)
        return self._postgres

    def close(self) -> None:
        self._stack.close()


@pytest.fixture(scope="session")
def migrated_templates(
    tmp_path_factory: pytest.TempPathFactory, postgres_reason: str | None
) -> Iterator[MigratedTemplates]:
    templates = MigratedTemplates(tmp_path_factory.mktemp("migrated-template"), postgres_reason)
    yield templates
    templates.close()


@pytest.fixture
def postgres_database_url(postgres_reason: str | None) -> Iterator[str]:
    """A URL of a fresh, empty database, dropped after the test."""
    with _postgres_database(postgres_reason) as url:
        yield url


@pytest.fixture(params=BACKENDS)
def backend_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings for an empty database on each backend."""
    environ = {"ASSURE_DATA_DIR": str(tmp_path / "data")}
    if request.param == "postgresql":
        environ["ASSURE_DATABASE_URL"] = request.getfixturevalue("postgres_database_url")
    return load_settings(environ)


@pytest.fixture
def empty_engine(backend_settings: Settings) -> Iterator[Engine]:
    engine = build_engine(backend_settings)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(empty_engine: Engine, migrated_templates: MigratedTemplates) -> Engine:
    """The test's database, migrated to head (a copy of this worker's migrated template)."""
    empty_engine.dispose()
    url = empty_engine.url
    if url.get_backend_name() == "sqlite":
        assert url.database is not None
        shutil.copyfile(migrated_templates.sqlite_file(), url.database)
    else:
        template = migrated_templates.postgres_database()
        admin = _admin_engine()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{url.database}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{url.database}" TEMPLATE "{template}"'))
        admin.dispose()
    migrate.require_current(empty_engine)
    return empty_engine


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return session_factory(engine)


@pytest.fixture
def sqlite_env(tmp_path: Path) -> dict[str, str]:
    """Environment for CLI runs against a fresh SQLite data directory."""
    return cli_env(tmp_path / "data")


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


# The tests that take longest (a live conformance run, Chromium journeys, the planted-fault API
# servers), started first: the two workers then finish on short tests together, instead of one
# waiting out a three-minute test at the end. Order within each group is kept, so a module's
# fixtures are still built once.
SLOW_FIRST = (
    "tests/partner_api/test_live_conformance.py",
    "tests/browser/",
    "tests/api_checks/test_ground_truth.py",
    "tests/sandbox/test_hostile_corpus.py",
    "tests/jobs/test_serve_recovers_jobs.py",
    "tests/schedules/test_worker_schedules.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    root = Path(str(config.rootpath))

    def rank(item: pytest.Item) -> int:
        path = Path(str(item.path)).relative_to(root).as_posix()
        return next(
            (i for i, prefix in enumerate(SLOW_FIRST) if path.startswith(prefix)), len(SLOW_FIRST)
        )

    items.sort(key=rank)
