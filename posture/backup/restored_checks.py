"""What a restore proves before it reports success: every upload's bytes have their SHA-256,
every file the restored rows name is there, every table holds the rows the manifest counted,
the schema is at the revision the manifest states, and the audit trail verifies against its
signed checkpoints, signed by keys the operator can vouch for: the restored keys, the
fingerprint an authenticated manifest records, or the one the operator gives."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from kernel.data_dir import BLOBS_FOLDER
from kernel.settings import Settings
from posture.backup.manifest import Manifest
from posture.backup.sqlite_copy import DatabaseFacts, describe, sqlite_path

if TYPE_CHECKING:
    from posture.audit_checkpoint_verify import TrailReport

CHUNK = 1024 * 1024


@dataclass(frozen=True)
class RestoredChecks:
    uploads_verified: int
    uploads_damaged: list[str]
    # Files the restored rows name that are in neither the restored store nor the manifest's
    # list of those already missing when the backup was taken.
    uploads_missing: list[str]
    tables_checked: int
    # table: (rows the manifest counted, rows found)
    row_mismatches: dict[str, tuple[int, int]]
    audit: TrailReport | None
    audit_skipped: str | None = None
    # Why the trail could not be verified at all: nothing vouches for the keys that signed it.
    audit_unverified: str | None = None
    # (the revision the manifest states, the one restored), when they differ
    schema_mismatch: tuple[str | None, str | None] | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def copy_faithful(self) -> bool:
        """The files, rows and schema are the ones backed up."""
        return not (
            self.uploads_damaged
            or self.uploads_missing
            or self.row_mismatches
            or self.schema_mismatch
        )

    @property
    def audit_intact(self) -> bool:
        return self.audit is None or self.audit.intact


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _facts(settings: Settings) -> DatabaseFacts:
    if settings.uses_sqlite:
        return describe(sqlite_path(settings.effective_database_url))
    from sqlalchemy import text

    from posture.backup.postgres_copy import describe as describe_postgres
    from posture.storage.engine import build_engine

    engine = build_engine(settings)
    try:
        with engine.connect() as connection:
            schema = connection.execute(text("SELECT current_schema()")).scalar_one()
            return describe_postgres(connection, schema)
    finally:
        engine.dispose()


def _audit(settings: Settings, fingerprint: str | None) -> TrailReport:
    from posture.audit_checkpoint_verify import verify_trail
    from posture.storage.engine import build_engine, session_factory

    engine = build_engine(settings)
    try:
        with session_factory(engine)() as session:
            return verify_trail(session, settings.data_dir, fingerprint=fingerprint)
    finally:
        engine.dispose()


def _trusted_fingerprint(
    manifest: Manifest, keys_restored: bool, authenticated: bool, fingerprint: str | None
) -> tuple[bool, str | None]:
    """(whether the trail can be verified, the fingerprint to trust; None: the data folder's
    keys). An unauthenticated manifest's fingerprint is whatever a forger wrote there."""
    if fingerprint is not None:
        return True, fingerprint
    if keys_restored:
        return True, None
    if authenticated:
        return True, manifest.checkpoint.key_fingerprint
    return False, None


UNVERIFIED = (
    "the audit trail was NOT verified: nothing authenticates this archive, so the key "
    "fingerprint it records cannot be trusted; the restored estate is kept: before using it, "
    "run `assure audit verify --fingerprint HEX` with the fingerprint the platform published "
    "(or give it to the restore with --fingerprint HEX)"
)


def check_restored(
    settings: Settings,
    manifest: Manifest,
    *,
    keys_restored: bool,
    schema_is_current: bool,
    authenticated: bool,
    fingerprint: str | None = None,
) -> RestoredChecks:
    store = settings.data_dir / BLOBS_FOLDER
    damaged = [d for d in manifest.uploads if _sha256(store / d) != d]
    facts = _facts(settings)
    expected = manifest.database.table_rows
    mismatches = {
        table: (expected.get(table, 0), facts.table_rows.get(table, 0))
        for table in sorted(set(expected) | set(facts.table_rows))
        if expected.get(table) != facts.table_rows.get(table)
    }
    missing = sorted(facts.upload_digests - set(manifest.uploads) - set(manifest.uploads_missing))
    warnings = []
    if manifest.uploads_missing:
        warnings.append(
            f"{len(manifest.uploads_missing)} files the database names were already missing "
            "from the uploads store when the backup was taken"
        )
    schema = None
    if facts.schema_revision != manifest.database.schema_revision:
        schema = (manifest.database.schema_revision, facts.schema_revision)
    audit, skipped, unverified = None, None, None
    verifiable, trusted = _trusted_fingerprint(manifest, keys_restored, authenticated, fingerprint)
    if schema is not None:
        skipped = "the restored schema is not the backup's; the restore is undone"
    elif schema_is_current and not verifiable:
        unverified = UNVERIFIED
    elif schema_is_current:
        audit = _audit(settings, trusted)
    else:
        skipped = (
            f"the backup's schema {manifest.database.schema_revision} is older than this "
            "release's: run `assure db upgrade`, then `assure audit verify`"
            + ("" if verifiable else " --fingerprint HEX (the fingerprint the platform published)")
        )
    return RestoredChecks(
        uploads_verified=len(manifest.uploads) - len(damaged),
        uploads_damaged=damaged,
        uploads_missing=missing,
        tables_checked=len(facts.table_rows),
        row_mismatches=mismatches,
        audit=audit,
        audit_skipped=skipped,
        audit_unverified=unverified,
        schema_mismatch=schema,
        warnings=warnings,
    )
