"""assure audit: verify the hash-chained audit trail."""

from __future__ import annotations

import typer

from assure_cli.context import friendly_errors, open_database, print_json
from posture.audit import verify_chain

app = typer.Typer(help="The audit trail.", no_args_is_help=True)


@app.command()
@friendly_errors
def verify(json_output: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Check every audit event's hash and link; exit 1 at the first broken link."""
    with open_database() as db, db.sessions() as session:
        report = verify_chain(session)
    broken = report.first_break
    if json_output:
        print_json(
            {
                "intact": report.intact,
                "events_checked": report.events_checked,
                "first_break": None
                if broken is None
                else {"event_id": broken.event_id, "reason": broken.reason},
            }
        )
    elif broken is None:
        typer.echo(f"audit trail intact: {report.events_checked} events")
    else:
        typer.echo(f"audit trail broken at event {broken.event_id}: {broken.reason}", err=True)
    if broken is not None:
        raise typer.Exit(1)
