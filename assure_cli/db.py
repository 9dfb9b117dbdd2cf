"""assure db: schema migrations."""

from __future__ import annotations

import typer

from assure_cli.context import friendly_errors, open_database
from posture.storage import migrate

app = typer.Typer(help="Create and migrate the database schema.", no_args_is_help=True)


@app.command()
@friendly_errors
def upgrade(
    revision: str = typer.Argument("head", help="Target revision; 'head' is the newest."),
) -> None:
    """Create the schema or bring it up to date."""
    with open_database(require_current=False) as db:
        now = migrate.upgrade(db.engine, revision)
        typer.echo(f"database {db.engine.url.render_as_string()} is at schema {now}")


@app.command()
@friendly_errors
def downgrade(
    revision: str = typer.Argument(..., help="Target revision, or 'base' for empty."),
) -> None:
    """Step the schema back (data in dropped tables is lost)."""
    with open_database(require_current=False) as db:
        now = migrate.downgrade(db.engine, revision)
        typer.echo(f"database {db.engine.url.render_as_string()} is at schema {now}")


@app.command()
@friendly_errors
def current() -> None:
    """Show the schema revision of the database and the newest this release knows."""
    with open_database(require_current=False) as db:
        revision = migrate.current_revision(db.engine) or "empty"
        typer.echo(f"database: {revision}\nthis release: {migrate.head_revision()}")
