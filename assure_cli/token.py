"""assure token: API tokens for service accounts."""

from __future__ import annotations

import typer
from sqlalchemy import select

from assure_cli.context import fail, friendly_errors, open_database, print_json
from posture.audit import Actor
from posture.identity.tokens import issue_token, revoke_token, signing_key
from posture.storage.engine import transaction
from posture.storage.models import User

app = typer.Typer(help="API tokens for partners' service accounts.", no_args_is_help=True)


@app.command()
@friendly_errors
def issue(
    email: str = typer.Option(..., help="The service account (an existing user)."),
    scope: list[str] = typer.Option(..., "--scope", help="A scope, e.g. products:read; repeat."),
    minutes: int | None = typer.Option(None, min=1, help="Lifetime (default from policy)."),
    description: str = typer.Option("", help="What the token is for."),
    json_output: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Issue a short-lived, scoped bearer token; it is shown once."""
    with open_database() as db, transaction(db.sessions) as session:
        user = session.scalar(select(User).where(User.email == email.strip().lower()))
        if user is None:
            raise fail(f"no account for {email}")
        token, row = issue_token(
            session, None, signing_key(db.settings), user, scope, minutes, description
        )
    if json_output:
        print_json(
            {"token": token, "jti": row.jti, "expires_at": row.expires_at, "scopes": row.scopes}
        )
    else:
        typer.echo(token)


@app.command()
@friendly_errors
def revoke(jti: str = typer.Argument(..., help="The token's id (jti).")) -> None:
    """Revoke a token at once."""
    with open_database() as db, transaction(db.sessions) as session:
        revoke_token(session, Actor(label="cli"), jti)
    typer.echo(f"revoked {jti}")
