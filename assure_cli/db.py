"""assure db: schema migrations, backups and restores."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from assure_cli.context import fail, friendly_errors, open_database, print_json
from kernel.settings import load_settings

if TYPE_CHECKING:
    from posture.backup.restore import RestoreReport
    from posture.backup.take import BackupTaken

# The first paragraph is the line `assure --help` shows (assure_cli.main.COMMANDS).
app = typer.Typer(
    help="The database: schema migrations, backups and restores.\n\nBack up and restore the "
    "whole estate with `assure db backup` and `assure db restore` (docs/operations.md).",
    no_args_is_help=True,
)
JsonOption = typer.Option(False, "--json", help="Print JSON.")
PASSPHRASE_ENV = "ASSURE_BACKUP_PASSPHRASE"  # noqa: S105 (the variable's name)
MAX_PASSPHRASE_FILE = 4096
FINGERPRINT = re.compile(r"[0-9a-fA-F]{64}")
PassphraseFile = typer.Option(
    None,
    "--passphrase-file",
    help=f"A file holding the passphrase that seals the keys (or set {PASSPHRASE_ENV}); "
    "never on the command line.",
)


@app.command()
@friendly_errors
def upgrade(
    revision: str = typer.Argument("head", help="Target revision; 'head' is the newest."),
) -> None:
    """Create the schema or bring it up to date."""
    from posture.audit_reseal import upgrade_database

    with open_database(require_current=False) as db:
        upgraded = upgrade_database(db.engine, db.settings.data_dir, revision)
        typer.echo(f"database {db.engine.url.render_as_string()} is at schema {upgraded.revision}")
        if upgraded.checkpoint_written:
            typer.echo("the audit trail was re-sealed with personal data apart; checkpoint written")


@app.command()
@friendly_errors
def downgrade(
    revision: str = typer.Argument(..., help="Target revision, or 'base' for empty."),
) -> None:
    """Step the schema back (data in dropped tables is lost)."""
    from posture.storage import migrate

    with open_database(require_current=False) as db:
        now = migrate.downgrade(db.engine, revision)
        typer.echo(f"database {db.engine.url.render_as_string()} is at schema {now}")


@app.command()
@friendly_errors
def current() -> None:
    """Show the schema revision of the database and the newest this release knows."""
    from posture.storage import migrate

    with open_database(require_current=False) as db:
        revision = migrate.current_revision(db.engine) or "empty"
        typer.echo(f"database: {revision}\nthis release: {migrate.head_revision()}")


def _passphrase(path: Path | None) -> str | None:
    """From the file, else the environment; a trailing newline is not part of it."""
    if path is None:
        return os.environ.get(PASSPHRASE_ENV) or None
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_PASSPHRASE_FILE + 1)
    except OSError as exc:
        raise fail(f"cannot read the passphrase file {path}: {exc.strerror}") from None
    if len(data) > MAX_PASSPHRASE_FILE:
        raise fail(f"the passphrase file {path} is larger than {MAX_PASSPHRASE_FILE} bytes")
    try:
        text = data.decode("utf-8").removesuffix("\n").removesuffix("\r")
    except UnicodeDecodeError:
        raise fail(f"the passphrase file {path} is not UTF-8 text") from None
    if not text:
        raise fail(f"the passphrase file {path} is empty")
    return text


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _mib(size: int) -> str:
    return f"{size / 2**20:.1f} MiB"


def _backup_json(taken: BackupTaken) -> dict[str, Any]:
    manifest = taken.manifest
    return {
        "archive": str(taken.path),
        "size_bytes": taken.size_bytes,
        "seconds": round(taken.seconds, 3),
        "format": manifest.format,
        "created_at": manifest.created_at.isoformat(),
        "software_version": manifest.software_version,
        "database": manifest.database.model_dump(mode="json"),
        "checkpoint_lines": manifest.checkpoint.lines,
        "uploads": len(manifest.uploads),
        "uploads_missing": manifest.uploads_missing,
        "keys_included": manifest.keys_included,
        "kdf": None if manifest.sealed is None else manifest.sealed.kdf.model_dump(),
        "leftovers_removed": taken.leftovers_removed,
    }


@app.command()
@friendly_errors
def backup(
    out: Path = typer.Argument(
        ..., help="The archive to write (a new file, outside the data folder)."
    ),
    passphrase_file: Path | None = PassphraseFile,
    exclude_keys: bool = typer.Option(
        False, "--exclude-keys", help="Leave the keys, secret box and config out of the backup."
    ),
    json_output: bool = JsonOption,
) -> None:
    """Back up the database, uploads, audit checkpoints and (sealed) keys into one archive,
    while the platform keeps running."""
    from posture.backup.take import take_backup

    passphrase = None if exclude_keys else _passphrase(passphrase_file)
    taken = take_backup(load_settings(), out, passphrase, include_keys=not exclude_keys)
    if json_output:
        print_json(_backup_json(taken))
        return
    manifest = taken.manifest
    database = manifest.database
    rows = sum(database.table_rows.values())
    typer.echo(
        f"backup written to {taken.path} ({_mib(taken.size_bytes)} in {taken.seconds:.1f} s): "
        f"{database.backend} database at schema {database.schema_revision or 'empty'} "
        f"({len(database.table_rows)} tables, {_count(rows, 'row')}), "
        f"{_count(len(manifest.uploads), 'upload')}, "
        f"{_count(manifest.checkpoint.lines, 'audit checkpoint')}"
    )
    if manifest.keys_included:
        typer.echo("keys, secret box and config sealed with the passphrase (argon2id, AES-256-GCM)")
    else:
        typer.echo(
            "keys NOT included (--exclude-keys): keep the data folder's keys/ and "
            "secret-box.key safe elsewhere; a restore needs them"
        )
    if manifest.uploads_missing:
        typer.echo(
            f"warning: {len(manifest.uploads_missing)} files the database names were missing "
            "from the uploads store (listed in the manifest)",
            err=True,
        )
    if taken.leftovers_removed:
        typer.echo(
            f"removed {_count(len(taken.leftovers_removed), 'leftover')} of interrupted backups "
            f"beside it: {', '.join(taken.leftovers_removed)}"
        )


def _restore_json(report: RestoreReport) -> dict[str, Any]:
    checks = report.checks
    audit = checks.audit
    return {
        "data_dir": str(report.data_dir),
        "seconds": round(report.seconds, 3),
        "backup_created_at": report.manifest.created_at.isoformat(),
        "database": report.manifest.database.backend,
        "schema_revision": report.manifest.database.schema_revision,
        "keys_restored": report.keys_restored,
        "authenticated": report.authenticated,
        "checks": {
            "uploads_verified": checks.uploads_verified,
            "uploads_damaged": checks.uploads_damaged,
            "uploads_missing": checks.uploads_missing,
            "tables_checked": checks.tables_checked,
            "row_mismatches": {k: list(v) for k, v in checks.row_mismatches.items()},
            "audit": None
            if audit is None
            else {
                "intact": audit.intact,
                "events_checked": audit.chain.events_checked,
                "events_covered": audit.events_covered,
                "findings": [
                    {"code": f.code, "severity": f.severity, "message": f.message}
                    for f in audit.findings
                ],
            },
            "audit_skipped": checks.audit_skipped,
            "audit_unverified": checks.audit_unverified,
        },
        "warnings": checks.warnings,
        "notes": report.notes,
    }


@app.command()
@friendly_errors
def restore(
    archive: Path = typer.Argument(..., help="A backup written by `assure db backup`."),
    passphrase_file: Path | None = PassphraseFile,
    exclude_keys: bool = typer.Option(
        False, "--exclude-keys", help="Do not restore the sealed keys (supply them yourself)."
    ),
    unauthenticated: bool = typer.Option(
        False,
        "--unauthenticated",
        help="Accept an archive nothing authenticates (taken with --exclude-keys, or restored "
        "without its passphrase): only if you trust where it was kept.",
    ),
    fingerprint: str | None = typer.Option(
        None,
        "--fingerprint",
        help="Verify the restored audit trail against keys with this fingerprint (the one the "
        "platform published); needed when the keys are not restored from an authenticated "
        "archive.",
    ),
    json_output: bool = JsonOption,
) -> None:
    """Restore a backup into an empty data folder (and empty database), then check it: every
    upload's hash, every table's rows, the audit trail."""
    from posture.backup.restore import restore_backup

    if fingerprint is not None and not FINGERPRINT.fullmatch(fingerprint):
        raise fail("--fingerprint takes the 64 hex digits the platform published")
    # Read even with --exclude-keys: a passphrase authenticates the archive.
    passphrase = _passphrase(passphrase_file)
    report = restore_backup(
        load_settings(),
        archive,
        passphrase,
        skip_keys=exclude_keys,
        accept_unauthenticated=unauthenticated,
        fingerprint=fingerprint.lower() if fingerprint else None,
    )
    audit = report.checks.audit
    unverified = report.checks.audit_unverified
    if json_output:
        print_json(_restore_json(report))
    else:
        checks = report.checks
        typer.echo(
            f"restored {archive} (taken {report.manifest.created_at:%Y-%m-%d %H:%M:%S}Z) into "
            f"{report.data_dir} in {report.seconds:.1f} s: "
            f"{_count(checks.uploads_verified, 'upload')} verified by SHA-256, "
            f"{checks.tables_checked} tables hold the rows the backup counted"
        )
        if audit is not None:
            state = "intact" if audit.intact else "NOT intact"
            typer.echo(
                f"audit trail {state}: {_count(audit.chain.events_checked, 'event')}, "
                f"{audit.events_covered} covered by a signed checkpoint"
            )
            for finding in audit.findings:
                typer.echo(f"  {finding.severity}: {finding.message} [{finding.code}]", err=True)
        for line in [*([checks.audit_skipped] if checks.audit_skipped else []), *checks.warnings]:
            typer.echo(f"warning: {line}", err=True)
        for note in report.notes:
            typer.echo(f"note: {note}")
        if not report.authenticated:
            typer.echo(
                "warning: nothing authenticated this archive (--unauthenticated): it is what "
                "the backup storage held, whoever wrote it",
                err=True,
            )
        if unverified:
            typer.echo(f"error: {unverified}", err=True)
    if unverified or (audit is not None and not audit.intact):
        raise typer.Exit(1)
