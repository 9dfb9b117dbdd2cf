"""Schema migrations with Alembic, driven from code so no alembic.ini is needed."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from kernel.errors import DatabaseError, SchemaTooNewError

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def _describe(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None, "the migrations folder has no revisions"
    return head


def current_revision(engine: Engine) -> str | None:
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    except OperationalError as exc:
        raise DatabaseError(
            f"cannot connect to the database {_describe(engine)}: {exc.orig}; "
            "check ASSURE_DATABASE_URL and that the server is running"
        ) from exc


def _refuse_newer_schema(engine: Engine) -> str | None:
    revision = current_revision(engine)
    if revision is None:
        return None
    scripts = ScriptDirectory.from_config(_config())
    if revision not in {script.revision for script in scripts.walk_revisions()}:
        raise SchemaTooNewError(
            f"the database {_describe(engine)} has schema revision {revision}, made by a newer "
            "release of PoliceTech Assure; upgrade this installation before using it"
        )
    return revision


def _run(engine: Engine, action: str, revision: str) -> None:
    config = _config()
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            getattr(command, action)(config, revision)
    except SQLAlchemyError as exc:
        raise DatabaseError(f"migration {action} to {revision} failed: {exc}") from exc


def upgrade(engine: Engine, revision: str = "head") -> str:
    _refuse_newer_schema(engine)
    _run(engine, "upgrade", revision)
    return current_revision(engine) or "base"


def downgrade(engine: Engine, revision: str) -> str:
    _refuse_newer_schema(engine)
    _run(engine, "downgrade", revision)
    return current_revision(engine) or "base"


def require_current(engine: Engine) -> None:
    """Refuse to work on a database that is missing migrations or is newer than this code."""
    revision = _refuse_newer_schema(engine)
    if revision != head_revision():
        raise DatabaseError(
            f"the database {_describe(engine)} is at schema {revision or 'empty'}, this release "
            f"needs {head_revision()}; run: assure db upgrade"
        )
