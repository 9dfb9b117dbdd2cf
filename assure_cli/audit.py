"""assure audit: verify the hash-chained audit trail and write its signed checkpoints."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from assure_cli.context import fail, friendly_errors, open_database, print_json
from kernel.data_dir import ensure_data_dir

if TYPE_CHECKING:
    from posture.audit_checkpoint import AuditCheckpoint
    from posture.audit_checkpoint_verify import TrailReport

app = typer.Typer(help="The audit trail.", no_args_is_help=True)
JsonOption = typer.Option(False, "--json", help="Print JSON.")
# Enough to see what happened; --json lists every finding.
SHOWN_FINDINGS = 20


def _describe(checkpoint: AuditCheckpoint) -> dict[str, Any]:
    return checkpoint.model_dump(mode="json")


def _report_json(report: TrailReport) -> dict[str, Any]:
    broken = report.chain.first_break
    return {
        "intact": report.intact,
        "events_checked": report.chain.events_checked,
        "first_break": None
        if broken is None
        else {"event_id": broken.event_id, "reason": broken.reason},
        "checkpoints": {
            "file": str(report.checkpoint_file),
            "lines": report.checkpoints_read,
            "valid": report.checkpoints_valid,
            "key_fingerprint": report.key_fingerprint,
            "latest": None if report.latest is None else _describe(report.latest),
            "events_covered": report.events_covered,
            "events_after": report.events_after,
        },
        "findings": [
            {"code": f.code, "severity": f.severity, "source": f.source, "message": f.message}
            for f in report.findings
        ],
    }


def _events(count: int) -> str:
    return f"{count} event" if count == 1 else f"{count} events"


def _coverage(report: TrailReport) -> str:
    latest = report.latest
    if latest is None:
        return "no checkpoint"
    return (
        f"latest checkpoint covers {_events(report.events_covered)} (to event "
        f"{latest.tip_event_id}, {latest.created_at:%Y-%m-%d %H:%M:%S}Z by {latest.written_by}), "
        f"{report.events_after} appended after it; "
        f"{report.checkpoints_valid} of {report.checkpoints_read} checkpoint lines verified"
    )


@app.command()
@friendly_errors
def verify(
    json_output: bool = JsonOption,
    checkpoint: Path | None = typer.Option(
        None,
        "--checkpoint",
        help="Also verify against this exported checkpoint (a copy kept outside the data folder).",
    ),
    fingerprint: str | None = typer.Option(
        None,
        "--fingerprint",
        help="Trust checkpoints signed by keys with this fingerprint (the one the platform "
        "published) instead of the keys in the data folder.",
    ),
    require_checkpoint: bool = typer.Option(
        False,
        "--require-checkpoint",
        help="Exit 1 when the trail has events but no checkpoint yet, instead of warning.",
    ),
) -> None:
    """Check every event's hash and link, then the chain against every signed checkpoint;
    exit 1 on any break (edited, deleted, reordered, truncated or re-hashed events, or a
    tampered checkpoint)."""
    # The signature libraries load only for the audit commands.
    from posture.audit_checkpoint_verify import verify_trail

    with open_database() as db, db.sessions() as session:
        report = verify_trail(
            session, db.settings.data_dir, export_path=checkpoint, fingerprint=fingerprint
        )
    # A fresh install has no checkpoint until the first snapshot, worker hour or
    # `assure audit checkpoint`: a warning, unless the operator says one must exist by now.
    failed = not report.intact or (require_checkpoint and not report.has_checkpoint)
    if json_output:
        print_json(_report_json(report))
        if failed:
            raise typer.Exit(1)
        return
    broken = report.chain.first_break
    if broken is not None:
        typer.echo(f"audit trail broken at event {broken.event_id}: {broken.reason}", err=True)
    breaks = report.breaks
    for finding in breaks[:SHOWN_FINDINGS]:
        typer.echo(
            f"audit trail broken: {finding.source}: {finding.message} [{finding.code}]", err=True
        )
    if len(breaks) > SHOWN_FINDINGS:
        typer.echo(f"... and {len(breaks) - SHOWN_FINDINGS} more (--json lists all)", err=True)
    for finding in report.findings:
        if finding.severity == "warning":
            typer.echo(f"warning: {finding.source}: {finding.message}", err=True)
    summary = f"{_events(report.chain.events_checked)}; {_coverage(report)}"
    if report.intact:
        typer.echo(f"audit trail intact: {summary}")
    else:
        typer.echo(f"audit trail NOT intact: {summary}", err=True)
    if failed:
        raise typer.Exit(1)


@app.command()
@friendly_errors
def checkpoint(
    export: Path | None = typer.Option(
        None,
        "--export",
        help="Also write the signed checkpoint, with its public keys, to this new file, to keep "
        "outside the data folder.",
    ),
    json_output: bool = JsonOption,
) -> None:
    """Sign where the audit trail ends now and append it to the checkpoint file."""
    from posture.audit_checkpoint import export_checkpoint, write_checkpoint

    if export is not None and export.exists():
        raise fail(f"{export} exists; choose another path (an export is never replaced)")
    with open_database() as db:
        done = write_checkpoint(db.sessions, ensure_data_dir(db.settings), "cli")
    if export is not None:
        export_checkpoint(done.record, export)
    signed = done.record.checkpoint
    fingerprint = done.record.signature["key_fingerprint"]
    if json_output:
        print_json(
            {
                "checkpoint": _describe(signed),
                "file": str(done.path),
                "key_fingerprint": fingerprint,
                "export": None if export is None else str(export),
            }
        )
        return
    typer.echo(
        f"checkpoint written to {done.path}: {_events(signed.event_count)} to event "
        f"{signed.tip_event_id}, signed by keys {fingerprint}"
    )
    if export is not None:
        typer.echo(f"exported to {export}; keep a copy outside the data folder")
