"""The `assure` command line."""

from __future__ import annotations

import os

import typer

from assure_cli import admin, api, attest, audit, check, db, demo, framework, score, serve, token
from kernel.version import __version__

app = typer.Typer(
    help="PoliceTech Assure: secure-by-design posture, checks and procurement for UK policing.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(db.app, name="db")
app.add_typer(demo.app, name="demo")
app.add_typer(framework.app, name="framework")
app.add_typer(score.app, name="score")
app.add_typer(admin.app, name="admin")
app.add_typer(audit.app, name="audit")
app.add_typer(token.app, name="token")
app.add_typer(check.app, name="check")
app.add_typer(attest.app, name="attest")
app.command()(serve.serve)
app.command()(serve.worker)
app.command()(api.api)


@app.command()
def version() -> None:
    """Print the version of PoliceTech Assure."""
    typer.echo(f"policetech-assure {__version__}")


def run() -> None:
    # Everything the platform writes (database, queue, evidence, keys, exports) is for this
    # account alone; the app, worker and API processes serve starts inherit the mask.
    os.umask(0o077)
    app()


if __name__ == "__main__":
    run()
