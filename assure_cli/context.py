"""What every command needs: settings, a migrated database, and one-line errors."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import wraps
from typing import ParamSpec, TypeVar

import typer
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from kernel.errors import AssureError, DatabaseError
from kernel.settings import Settings, load_settings
from posture.storage import migrate
from posture.storage.engine import build_engine, session_factory

P = ParamSpec("P")
R = TypeVar("R")

EXIT_USER_ERROR = 2


def fail(message: str) -> typer.Exit:
    # Driver messages span lines; users get exactly one.
    typer.echo("error: " + " ".join(message.split()), err=True)
    return typer.Exit(EXIT_USER_ERROR)


def friendly_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn expected failures into one line on stderr and a non-zero exit code."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except AssureError as exc:
            raise fail(str(exc)) from None
        except OperationalError as exc:
            raise fail(f"database error: {exc.orig}; check ASSURE_DATABASE_URL") from None

    return wrapper


@dataclass
class Database:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]


@contextmanager
def open_database(require_current: bool = True) -> Iterator[Database]:
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
