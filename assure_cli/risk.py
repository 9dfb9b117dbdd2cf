"""assure risk: the risk register from the command line. Export writes one organisation's
register as CSV, XLSX or an OSCAL plan of action and milestones."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from pathlib import Path

import typer

from assure_cli.context import fail, friendly_errors, open_database, print_json
from assure_cli.framework_oscal import CLI_READER

app = typer.Typer(help="The risk register: exports.", no_args_is_help=True)


@app.callback()
def _group() -> None:
    # A group even with one command, so `assure risk export` reads the same when more join it.
    pass


class ExportFormat(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"
    OSCAL_POAM = "oscal-poam"


def _as_of(value: str | None) -> date:
    from kernel.clock import utcnow

    if value is None:
        return utcnow().date()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise fail(f"--as-of: {value[:40]!r} is not a day (YYYY-MM-DD)") from None


@app.command("export")
@friendly_errors
def export_command(
    organisation: int = typer.Option(
        ..., "--organisation", min=1, help="The force's or national body's organisation id."
    ),
    export_format: ExportFormat = typer.Option(..., "--format", help="csv, xlsx or oscal-poam."),
    output: Path = typer.Option(..., "--output", help="The file to write.", dir_okay=False),
    as_of: str | None = typer.Option(
        None, "--as-of", help="The day acceptances and overdue actions are judged (default today)."
    ),
    json_output: bool = typer.Option(False, "--json", help="Print JSON instead of text."),
) -> None:
    """Export one organisation's risk register: a row per scenario (CSV, XLSX, formula text made
    inert) or an OSCAL POA&M validated against NIST's schema. Nothing is written on refusal."""
    # pandas, openpyxl and compliance-trestle load here, not for `assure --help`.
    from posture.risk.exports import register_csv, register_poam_json, register_xlsx

    day = _as_of(as_of)
    with open_database() as db, db.sessions() as session:
        if export_format is ExportFormat.CSV:
            content: bytes = register_csv(session, CLI_READER, organisation, day).encode("utf-8")
        elif export_format is ExportFormat.XLSX:
            content = register_xlsx(session, CLI_READER, organisation, day)
        else:
            content = register_poam_json(session, CLI_READER, organisation, day)
    try:
        output.write_bytes(content)
    except OSError as exc:
        raise fail(f"cannot write {output}: {exc.strerror}") from None
    summary = {
        "organisation_id": organisation,
        "format": export_format.value,
        "path": str(output),
        "as_of": day.isoformat(),
        "bytes": len(content),
    }
    if json_output:
        print_json(summary)
        return
    typer.echo(
        f"wrote {output}: organisation {organisation}'s risk register as {export_format.value} "
        f"({len(content)} bytes, as of {day.isoformat()})"
    )
