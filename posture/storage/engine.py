"""Engines and sessions: SQLite in the data directory by default, PostgreSQL when configured."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.engine import URL
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.orm import Session, sessionmaker

from kernel.data_dir import ensure_data_dir
from kernel.errors import ConfigError
from kernel.settings import Settings

SQLITE_BUSY_TIMEOUT_MS = 10_000


def _parse_url(raw: str) -> URL:
    try:
        url = make_url(raw)
    except ArgumentError as exc:
        raise ConfigError(
            f"ASSURE_DATABASE_URL {raw!r} is not a database URL; "
            "use postgresql+psycopg://user@host:5432/dbname or sqlite:///path/assure.db"
        ) from exc
    if url.get_backend_name() not in {"sqlite", "postgresql"}:
        raise ConfigError(
            f"database backend {url.get_backend_name()!r} is not supported; "
            "use SQLite or PostgreSQL"
        )
    if url.get_backend_name() == "postgresql" and url.get_driver_name() in {"", "psycopg2"}:
        # psycopg 3 is the driver the project installs; a bare postgresql:// means it.
        url = url.set(drivername="postgresql+psycopg")
    return url


def _sqlite_file(url: URL) -> Path | None:
    if url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def build_engine(settings: Settings) -> Engine:
    """Create an engine; for SQLite, make sure the data directory exists and is writable."""
    url = _parse_url(settings.effective_database_url)
    if url.get_backend_name() == "sqlite":
        if settings.database_url is None:
            ensure_data_dir(settings)
        db_file = _sqlite_file(url)
        if db_file is not None and not db_file.parent.is_dir():
            raise ConfigError(
                f"folder {db_file.parent} for the SQLite database does not exist; create it "
                "or change ASSURE_DATABASE_URL"
            )
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        event.listen(engine, "connect", _on_sqlite_connect)
        return engine
    try:
        # Sized for a server's thread pool: the API serves dozens of requests at once, and a
        # request waiting for a pooled connection is slower than one more connection.
        return create_engine(
            url,
            pool_pre_ping=True,
            pool_size=20,
            max_overflow=20,
            connect_args={"connect_timeout": 5},
        )
    except (NoSuchModuleError, ModuleNotFoundError) as exc:
        raise ConfigError(
            "PostgreSQL support is not installed; run: pip install 'policetech-assure[postgres]'"
        ) from exc


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back everything on any error."""
    with factory() as session, session.begin():
        yield session
