"""assure admin: create administrators, set passwords, grant and revoke roles. Run by the
operator on the host; every change is audited as the command line (`cli`)."""

from __future__ import annotations

import sys

import typer
from sqlalchemy import select
from sqlalchemy.orm import Session

from assure_cli.context import fail, friendly_errors, open_database, print_json
from posture.audit import Actor
from posture.identity.accounts import create_admin, grant_role, revoke_role, set_password
from posture.identity.mfa import reset_by_admin
from posture.identity.sessions import revoke_all_sessions
from posture.storage.engine import transaction
from posture.storage.models import Organisation, User
from posture.storage.models.enums import Role

app = typer.Typer(help="Administrator accounts.", no_args_is_help=True)
CLI_ACTOR = Actor(label="cli")


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


@app.command()
@friendly_errors
def create(
    email: str = typer.Option(..., help="The administrator's email address."),
    name: str = typer.Option(..., help="Display name."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from standard input."
    ),
) -> None:
    """Create a platform administrator (asks for the password)."""
    password = _password(password_stdin)
    with open_database() as db, transaction(db.sessions) as session:
        user = create_admin(session, CLI_ACTOR, email, name, password)
    typer.echo(f"created platform administrator {user.email}")


@app.command("set-password")
@friendly_errors
def set_password_command(
    email: str = typer.Option(..., help="The account's email address."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from standard input."
    ),
) -> None:
    """Set a user's password and clear any lockout."""
    password = _password(password_stdin)
    with open_database() as db, transaction(db.sessions) as session:
        set_password(session, CLI_ACTOR, email, password)
    typer.echo(f"password set for {email}")


@app.command("reset-mfa")
@friendly_errors
def reset_mfa(
    email: str = typer.Option(..., help="The account's email address."),
) -> None:
    """Remove a user's second factor and recovery codes (a lost device); they enrol again at
    their next sign-in."""
    with open_database() as db, transaction(db.sessions) as session:
        user_id = reset_by_admin(session, CLI_ACTOR, email)
        # A lost device may be in someone else's hands, signed in: its sessions end too.
        ended = revoke_all_sessions(session, CLI_ACTOR, user_id)
    typer.echo(
        f"second factor removed for {email} and {ended} session(s) ended; "
        "they will set up a new one at next sign-in"
    )


EmailOption = typer.Option(..., "--email", help="The account's email address.")
OrganisationOption = typer.Option(
    ...,
    "--organisation",
    help="The organisation's slug (platform administrators belong to `platform`).",
)
RoleOption = typer.Option(..., "--role", help="The role.")


def _member(session: Session, email: str, slug: str) -> tuple[User, Organisation]:
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise fail(f"no account for {email}")
    organisation = session.scalar(select(Organisation).where(Organisation.slug == slug.strip()))
    if organisation is None:
        raise fail(f"no organisation with the slug {slug!r}")
    return user, organisation


@app.command("grant-role")
@friendly_errors
def grant_role_command(
    email: str = EmailOption, organisation: str = OrganisationOption, role: Role = RoleOption
) -> None:
    """Give an existing account a role in an organisation."""
    with open_database() as db, transaction(db.sessions) as session:
        user, org = _member(session, email, organisation)
        granted = grant_role(session, CLI_ACTOR, user.id, org.id, role)
    if granted:
        typer.echo(f"granted {role.value} in {org.slug} to {user.email}")
    else:
        typer.echo(f"{user.email} already holds {role.value} in {org.slug}; nothing changed")


@app.command("revoke-role")
@friendly_errors
def revoke_role_command(
    email: str = EmailOption, organisation: str = OrganisationOption, role: Role = RoleOption
) -> None:
    """Take a role away from an account; the last active platform administrator keeps theirs."""
    with open_database() as db, transaction(db.sessions) as session:
        user, org = _member(session, email, organisation)
        revoke_role(session, CLI_ACTOR, user.id, org.id, role)
    typer.echo(f"revoked {role.value} in {org.slug} from {user.email}")


@app.command()
@friendly_errors
def invite(
    email: str = EmailOption,
    organisation: str = OrganisationOption,
    role: Role = RoleOption,
    days: int = typer.Option(7, "--days", min=1, max=30, help="Days the code stays good."),
    json_output: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Invite an address into an organisation in a role. The one-time code is printed once:
    pass it to the person, who redeems it on the sign-in page under "I have an invitation"."""
    from posture.identity.invitations import invite as invite_person

    with open_database() as db, transaction(db.sessions) as session:
        org = session.scalar(select(Organisation).where(Organisation.slug == organisation.strip()))
        if org is None:
            raise fail(f"no organisation with the slug {organisation!r}")
        issued = invite_person(session, CLI_ACTOR, email, org.id, role, days)
    if json_output:
        print_json(
            {
                "code": issued.code,
                "invitation_id": issued.invitation_id,
                "email": issued.email,
                "organisation": org.slug,
                "role": issued.role.value,
                "expires_at": issued.expires_at.isoformat(),
            }
        )
        return
    typer.echo(issued.code)
    typer.echo(
        f"invitation {issued.invitation_id} for {issued.email} to join {org.slug} as "
        f"{issued.role.value}, good until {issued.expires_at:%Y-%m-%d %H:%M} UTC; "
        "the code is shown only now",
        err=True,
    )


@app.command("erase-person")
@friendly_errors
def erase_person_command(
    email: str = typer.Argument(..., help="The person's e-mail address."),
    reference: str = typer.Option(
        ...,
        "--reference",
        help="The erasure request's case reference (letters, digits, . _ / -), kept in the "
        "audit trail in place of the person.",
    ),
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation."),
    json_output: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Erase a person: pseudonymise their account, delete their sign-in material, replace
    their name and address in free text and erase their items from the audit trail, which
    still verifies. It cannot be undone; backups taken before it still hold the person until
    they expire."""
    from posture.erasure import erase_person

    if not yes and not typer.confirm(f"Erase {email} everywhere? This cannot be undone"):
        raise fail("nothing erased")
    with open_database() as db:
        report = erase_person(db.sessions, CLI_ACTOR, email, reference, db.settings.data_dir)
    if json_output:
        print_json(report.model_dump(mode="json"))
        return
    typer.echo(
        f"erased under {report.reference}: {report.accounts} account(s) now {report.pseudonym}, "
        f"{report.sign_in_records} sign-in record(s) deleted, {report.text_fields} text "
        f"field(s) changed, {report.audit_items} personal item(s) of {report.audit_events} "
        f"audit event(s) erased (erasure recorded as event {report.erasure_event_id})"
    )
    if not report.reclaimed:
        typer.echo(
            "warning: the database was busy, so the erased values stay in its write-ahead log "
            "until its next checkpoint; run again when it is idle to be sure",
            err=True,
        )
