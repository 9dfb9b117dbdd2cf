"""What every command needs: settings, a migrated database, and one-line errors."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import wraps
from typing import TYPE_CHECKING, ParamSpec, TypeVar

import typer

from kernel.errors import AssureError, DatabaseError
from kernel.settings import Settings, load_settings

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker

P = ParamSpec("P")
R = TypeVar("R")

EXIT_USER_ERROR = 2


def fail(message: str) -> typer.Exit:
    # Driver messages span lines; users get exactly one.
    typer.echo("error: " + " ".join(message.split()), err=True)
    return typer.Exit(EXIT_USER_ERROR)


def _database_failure(exc: Exception) -> bool:
    """A driver's operational error (database unreachable, locked, ...). SQLAlchemy is loaded
    only by commands that open the database, and one that never loaded it raised none of its
    errors, so the check costs the others nothing."""
    errors = sys.modules.get("sqlalchemy.exc")
    return errors is not None and isinstance(exc, errors.OperationalError)


def friendly_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn expected failures into one line on stderr and a non-zero exit code."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except AssureError as exc:
            raise fail(str(exc)) from None
        except Exception as exc:
            if not _database_failure(exc):
                raise
            orig = getattr(exc, "orig", exc)
            raise fail(f"database error: {orig}; check ASSURE_DATABASE_URL") from None

    return wrapper


@dataclass
class Database:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]


@contextmanager
def open_database(require_current: bool = True) -> Iterator[Database]:
    # SQLAlchemy and Alembic load here, not when the command line is built: `assure --help`
    # and the checks never open the database.
    from posture.storage import migrate
    from posture.storage.engine import build_engine, session_factory

    settings = load_settings()
    engine = build_engine(settings)
    try:
        if require_current:
            migrate.require_current(engine)
        yield Database(settings, engine, session_factory(engine))
    finally:
        engine.dispose()


def print_json(payload: object) -> None:
    import json

    sys.stdout.write(json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")


__all__ = ["Database", "DatabaseError", "fail", "friendly_errors", "open_database", "print_json"]
