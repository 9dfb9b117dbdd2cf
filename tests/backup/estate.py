"""A small estate worth backing up: the partner API's multi-tenant world (with its keys and
tokens), evidence files in the uploads store, the second-factor secret box and a signed audit
checkpoint; and ways to compare two estates table by table."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import Engine, create_engine, inspect, text

from kernel.settings import Settings, load_settings
from posture.audit_checkpoint import write_checkpoint
from posture.identity.secretbox import secret_box
from posture.storage.engine import build_engine, session_factory, transaction
from posture.storage.models.enums import Role
from supplier_portal.evidence import add_evidence
from tests.conftest import POSTGRES_URL
from tests.partner_api.world import ApiWorld, prepare

PASSPHRASE = "a long backup passphrase for tests"
EVIDENCE = [f"Secure development policy, version {n}.\n".encode() for n in range(3)]


def settings_for(data_dir: Path, database_url: str | None = None) -> Settings:
    environ = {"ASSURE_DATA_DIR": str(data_dir)}
    if database_url:
        environ["ASSURE_DATABASE_URL"] = database_url
    return load_settings(environ)


def seed_estate(data_dir: Path, database_url: str | None = None) -> ApiWorld:
    prepared = prepare(data_dir, database_url)
    settings = prepared.settings
    engine = build_engine(settings)
    sessions = session_factory(engine)
    supplier = prepared.world.principal(Role.SUPPLIER_ADMIN)
    draft = prepared.world.orgs["s1"].draft_assessment_id
    with transaction(sessions) as session:
        for number, data in enumerate(EVIDENCE):
            add_evidence(session, supplier, settings, draft, f"policy-{number}.txt", data)
    secret_box(settings)
    write_checkpoint(sessions, settings.data_dir, "cli")
    engine.dispose()
    return prepared


def table_fingerprints(engine: Engine) -> dict[str, tuple[int, str]]:
    """Each table's row count and a digest of all its rows, in an order that does not depend
    on how they were stored."""
    found = {}
    with engine.connect() as connection:
        for table in inspect(connection).get_table_names():
            # Names from the catalogue, quoted.
            rows = connection.execute(text(f'SELECT * FROM "{table}"')).all()  # noqa: S608
            lines = sorted(repr(tuple(row)) for row in rows)
            found[table] = (len(rows), hashlib.sha256("\n".join(lines).encode()).hexdigest())
    return found


def fingerprints_of(settings: Settings) -> dict[str, tuple[int, str]]:
    engine = build_engine(settings)
    try:
        return table_fingerprints(engine)
    finally:
        engine.dispose()


def blob_hashes(data_dir: Path) -> dict[str, str]:
    folder = data_dir / "uploads"
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.iterdir())
        if not path.name.startswith(".")
    }


def assure(
    *args: str, data_dir: Path, database_url: str | None = None, **extra: str
) -> subprocess.CompletedProcess[str]:
    """`assure ARGS` in a process of its own, as an operator runs it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSURE_")}
    env["ASSURE_DATA_DIR"] = str(data_dir)
    if database_url:
        env["ASSURE_DATABASE_URL"] = database_url
    env |= extra
    return subprocess.run(
        [sys.executable, "-m", "assure_cli.main", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


def schema_of(url: str) -> str:
    """The schema a `postgres_schema_url` puts on the search path."""
    return url.rsplit("%3D", 1)[1]


def empty_schema(url: str) -> None:
    """The disaster: every table of the estate's schema gone, the schema itself still there."""
    engine = create_engine(POSTGRES_URL)
    with engine.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema_of(url)}" CASCADE'))
        connection.execute(text(f'CREATE SCHEMA "{schema_of(url)}"'))
    engine.dispose()
