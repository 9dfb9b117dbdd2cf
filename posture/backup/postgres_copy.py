"""PostgreSQL: dump the configured schema with `pg_dump --format=custom` at a snapshot shared
with the row counts, and restore a dump with `pg_restore` into an empty schema.

The dump runs at a snapshot exported from a REPEATABLE READ transaction that stays open while
pg_dump works, so the manifest's row counts are those of the dump, whatever is written
meanwhile. A password reaches the tools through a password file of their own (0600, removed
when they exit), never their command lines or environment, where other processes of the same
user could read it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import URL

from posture.backup.manifest import BackupError
from posture.backup.sqlite_copy import UPLOAD_TABLES, DatabaseFacts

TOOL_TIMEOUT_S = 6 * 3600
# libpq settings a database URL's query may carry, passed on as their environment variables.
LIBPQ_QUERY = {
    "host": "PGHOST",
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "connect_timeout": "PGCONNECT_TIMEOUT",
}
# Entries of a dump's table of contents that create the schema itself: the restore puts the
# objects into a schema that already exists (the empty target).
SCHEMA_ENTRY = re.compile(r"^\d+; \d+ \d+ (?:SCHEMA|COMMENT) - (?:SCHEMA )?")


def tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"{name} is not on the PATH; install the PostgreSQL client tools of the server's "
            "major version or newer (Debian and Ubuntu: apt-get install postgresql-client-15; "
            "RHEL: dnf install postgresql15) and try again"
        )
    return found


def _quoted_value(value: str) -> str:
    """A libpq connection-string value: in single quotes, with ' and \\ escaped by \\."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def conninfo(url: URL) -> str:
    """The `--dbname` of a tool: a connection string, so a database name holding "=" or a space
    is never read as one; with no database named, libpq's default (the user's name) applies,
    as it does for the platform's own connection. The rest comes from the environment."""
    parts = {"application_name": "assure restore"}
    if url.database:
        parts["dbname"] = url.database
    return " ".join(f"{key}={_quoted_value(value)}" for key, value in parts.items())


def _password_line(password: str) -> str:
    if "\n" in password or "\r" in password:
        raise BackupError(
            "the database password holds a line break; libpq cannot take it from a file"
        )
    escaped = password.replace("\\", "\\\\").replace(":", "\\:")
    return f"*:*:*:*:{escaped}\n"


@contextmanager
def _password_file(url: URL) -> Iterator[Path | None]:
    """A libpq password file holding the URL's password, 0600 (libpq ignores a laxer one),
    removed when the tool is done."""
    if not url.password:
        yield None
        return
    descriptor, name = tempfile.mkstemp(prefix="assure-pgpass-")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(_password_line(str(url.password)))
        yield Path(name)
    finally:
        Path(name).unlink(missing_ok=True)


def _environment(url: URL, password_file: Path | None) -> dict[str, str]:
    # Nothing of Assure's own settings (a backup passphrase among them) reaches the tool.
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSURE_")}
    if password_file is not None:
        # PGPASSWORD would win over the file.
        env.pop("PGPASSWORD", None)
        env["PGPASSFILE"] = str(password_file)
    values = {"PGHOST": url.host, "PGPORT": url.port, "PGUSER": url.username}
    values |= {"PGDATABASE": url.database}
    for key, variable in LIBPQ_QUERY.items():
        # Only when the query names it: an absent `host` must not erase the URL's host.
        value = url.query.get(key)
        if value is not None:
            values[variable] = value if isinstance(value, str) else value[0]
    env |= {k: str(v) for k, v in values.items() if v not in (None, "")}
    return env


def _run(command: list[str], url: URL, what: str) -> str:
    try:
        with _password_file(url) as password_file:
            done = subprocess.run(  # noqa: S603 (a fixed tool and arguments, no shell)
                command,
                env=_environment(url, password_file),
                capture_output=True,
                text=True,
                timeout=TOOL_TIMEOUT_S,
                check=False,
            )
    except subprocess.TimeoutExpired:
        raise BackupError(f"{what} did not finish in {TOOL_TIMEOUT_S // 3600} hours") from None
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        reason = " / ".join(lines[:3]) or f"exit status {done.returncode}"
        raise BackupError(f"{what} failed: {reason}")
    return done.stdout


def _quoted(connection: Connection, name: str) -> str:
    return connection.dialect.identifier_preparer.quote(name)


def _pattern(schema: str) -> str:
    # pg_dump takes a pattern: quoted, the name is matched exactly.
    return '"' + schema.replace('"', '""') + '"'


def describe(connection: Connection, schema: str) -> DatabaseFacts:
    tables = connection.scalars(
        text("SELECT tablename FROM pg_tables WHERE schemaname = :s ORDER BY tablename"),
        {"s": schema},
    ).all()
    prefix = _quoted(connection, schema) + "."
    # Identifiers quoted by the dialect, names read from the catalogue: nothing user-typed.
    rows = {
        name: connection.execute(
            text(f"SELECT count(*) FROM {prefix}{_quoted(connection, name)}")  # noqa: S608
        ).scalar_one()
        for name in tables
    }
    revision = None
    if "alembic_version" in rows:
        revision = connection.execute(
            text(f"SELECT version_num FROM {prefix}alembic_version")  # noqa: S608
        ).scalar()
    digests: set[str] = set()
    for table in UPLOAD_TABLES if set(UPLOAD_TABLES) <= set(rows) else ():
        query = f"SELECT sha256 FROM {prefix}{table} WHERE storage_key LIKE 'uploads/%'"  # noqa: S608
        digests.update(connection.scalars(text(query)))
    return DatabaseFacts(rows, revision, frozenset(digests))


def dump_live(engine: Engine, target: Path) -> tuple[DatabaseFacts, str, str]:
    """Dump the engine's current schema to `target`: (what it holds, the schema, pg_dump's
    version)."""
    pg_dump = tool("pg_dump")
    version = _run([pg_dump, "--version"], engine.url, "pg_dump --version").strip()
    with (
        engine.connect().execution_options(isolation_level="REPEATABLE READ") as connection,
        connection.begin(),
    ):
        snapshot = connection.execute(text("SELECT pg_export_snapshot()")).scalar_one()
        schema = connection.execute(text("SELECT current_schema()")).scalar_one()
        facts = describe(connection, schema)
        _run(
            [
                pg_dump,
                "--format=custom",
                "--no-password",
                f"--snapshot={snapshot}",
                f"--schema={_pattern(schema)}",
                f"--file={target}",
            ],
            engine.url,
            "pg_dump",
        )
    return facts, schema, version


def _objects_in(connection: Connection, schema: str) -> int:
    return connection.execute(
        text(
            "SELECT (SELECT count(*) FROM pg_class WHERE relnamespace = n.oid)"
            " + (SELECT count(*) FROM pg_proc WHERE pronamespace = n.oid)"
            " + (SELECT count(*) FROM pg_type WHERE typnamespace = n.oid"
            "    AND typrelid = 0 AND typelem = 0)"
            " FROM pg_namespace n WHERE n.nspname = :s"
        ),
        {"s": schema},
    ).scalar_one()


def empty_target(engine: Engine, backup_schema: str) -> str:
    """The schema a restore goes into; refused unless it exists and holds nothing, and (when
    it is named otherwise) the backup's schema does not exist in the database."""
    where = engine.url.render_as_string(hide_password=True)
    with engine.connect() as connection:
        schema = connection.execute(text("SELECT current_schema()")).scalar()
        if schema is None:
            raise BackupError(
                f"the schema that {where} names (its search_path) does not exist; create it "
                "(CREATE SCHEMA) and restore again"
            )
        found = _objects_in(connection, schema)
        if found:
            raise BackupError(
                f"schema {schema} of {where} is not empty ({found} tables, sequences, functions "
                "or types); restore into an empty schema or database"
            )
        if (
            schema != backup_schema
            and connection.execute(
                text("SELECT 1 FROM pg_namespace WHERE nspname = :s"), {"s": backup_schema}
            ).first()
        ):
            raise BackupError(
                f"the backup was taken from schema {backup_schema}, which exists in the target "
                f"database beside {schema}; restore into a database without it"
            )
    return schema


def _rename(engine: Engine, old: str, new: str) -> None:
    with engine.begin() as connection:
        connection.execute(
            text(f"ALTER SCHEMA {_quoted(connection, old)} RENAME TO {_quoted(connection, new)}")
        )


def restore_dump(engine: Engine, dump: Path, backup_schema: str, work: Path) -> None:
    """Restore `dump` into the engine's empty schema in one transaction: all of it or nothing.
    The dump's objects are named in `backup_schema`, so a target named otherwise carries that
    name while the dump is restored into it."""
    pg_restore = tool("pg_restore")
    target = empty_target(engine, backup_schema)
    contents = _run([pg_restore, "--list", str(dump)], engine.url, "pg_restore --list")
    listing = work / "restore.list"
    kept = [line for line in contents.splitlines() if not SCHEMA_ENTRY.match(line)]
    listing.write_text("\n".join(kept) + "\n", "utf-8")
    if target != backup_schema:
        _rename(engine, target, backup_schema)
    try:
        _run(restore_command(pg_restore, listing, engine.url, dump), engine.url, "pg_restore")
    finally:
        if target != backup_schema:
            _rename(engine, backup_schema, target)


def restore_command(pg_restore: str, listing: Path, url: URL, dump: Path) -> list[str]:
    return [
        pg_restore,
        "--single-transaction",
        "--exit-on-error",
        "--no-owner",
        "--no-acl",
        "--no-password",
        f"--use-list={listing}",
        # Always given: without --dbname, pg_restore writes a script instead of restoring.
        f"--dbname={conninfo(url)}",
        str(dump),
    ]


# What a restore may have created in a schema, dropped again when its checks fail; each query
# returns SQL names already quoted (format %I, regprocedure, regtype).
CREATED_OBJECTS = (
    (
        "TABLE",
        "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n "
        "ON n.oid = c.relnamespace WHERE n.nspname = :s AND c.relkind IN ('r', 'p')",
    ),
    (
        "SEQUENCE",
        "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n "
        "ON n.oid = c.relnamespace WHERE n.nspname = :s AND c.relkind = 'S'",
    ),
    (
        "FUNCTION",
        "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n "
        "ON n.oid = p.pronamespace WHERE n.nspname = :s",
    ),
    (
        "TYPE",
        "SELECT t.oid::regtype::text FROM pg_type t JOIN pg_namespace n "
        "ON n.oid = t.typnamespace WHERE n.nspname = :s AND t.typrelid = 0 AND t.typelem = 0",
    ),
)


def drop_restored(engine: Engine) -> None:
    """Empty the current schema again after a restore whose checks failed, keeping the schema
    (its owner and grants) itself."""
    with engine.begin() as connection:
        schema = connection.execute(text("SELECT current_schema()")).scalar_one()
        for kind, query in CREATED_OBJECTS:
            for name in connection.scalars(text(query), {"s": schema}).all():
                connection.execute(text(f"DROP {kind} IF EXISTS {name} CASCADE"))
