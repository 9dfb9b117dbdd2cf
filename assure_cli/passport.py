"""assure passport: verify assurance passports (offline, or against this platform's records),
publish the keys and revocation list verifiers need, and issue passports for accepted
assessments that have none."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import typer

from assure_cli.context import fail, friendly_errors, open_database
from kernel.settings import load_settings

app = typer.Typer(
    help="Assurance passports: verify, publish keys and revocations, issue.",
    no_args_is_help=True,
)

MAX_KEYS_BYTES = 65_536


def _read(path: Path, limit: int) -> bytes:
    try:
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise fail(f"cannot read {path}: {exc.strerror}") from None
    if len(data) > limit:
        raise fail(f"{path} is larger than {limit:,} bytes")
    return data


def _moment(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise fail(f"--at: {text!r} is not an ISO 8601 date and time") from None
    if moment.tzinfo is None:
        raise fail("--at: give a time zone (2027-01-31T12:00:00+00:00)")
    return moment


def _write(data: bytes, out: Path | None) -> None:
    if out is None:
        typer.echo(data.decode("ascii"))
        return
    try:
        out.write_bytes(data)
    except OSError as exc:
        raise fail(f"cannot write {out}: {exc.strerror}") from None
    typer.echo(f"wrote {out}")


@app.command()
@friendly_errors
def verify(
    file: Path = typer.Argument(..., help="The passport file (JSON, as downloaded)."),
    keys: Path | None = typer.Option(
        None, "--keys", help="The platform's published keys (offline: with --revocations)."
    ),
    revocations: Path | None = typer.Option(
        None, "--revocations", help="The platform's signed revocation list (offline)."
    ),
    at: str | None = typer.Option(None, "--at", help="Verify as at this time (default: now)."),
    json_output: bool = typer.Option(False, "--json", help="Print the verdict as JSON."),
) -> None:
    """Verify a passport: both signatures, the platform's keys, its dates and its status.

    Offline, give the published keys and revocation list (`assure passport keys` and
    `assure passport revocations`, or the public API); on the platform, give neither and its
    own keys and records are used. Exits 0 only when the passport is valid."""
    from posture.passport.document import verify_offline
    from posture.passport.policy import passport_policy
    from pq_crypto.attestation import PublicKeys

    policy = passport_policy()
    raw = _read(file, policy.max_document_bytes)
    moment = _moment(at)
    if (keys is None) != (revocations is None):
        raise fail("offline verification needs both --keys and --revocations")
    if keys is not None and revocations is not None:
        try:
            trusted = PublicKeys.from_document(json.loads(_read(keys, MAX_KEYS_BYTES)))
        except ValueError as exc:
            raise fail(f"{keys}: {exc}") from None
        verdict = verify_offline(
            raw,
            trusted,
            _read(revocations, policy.max_revocation_list_bytes),
            moment,
            policy.max_document_bytes,
            policy.max_revocation_list_bytes,
        )
    else:
        from posture.passport.registry import verify_here
        from posture.platform_keys import platform_keys

        with open_database() as db, db.sessions() as session:
            verdict = verify_here(session, platform_keys(db.settings).public(), raw, moment)
    if json_output:
        typer.echo(json.dumps(verdict.summary(), indent=2))
    else:
        passport = verdict.passport
        if passport is not None:
            typer.echo(
                f"{passport.number}: {passport.product.name} ({passport.supplier.name}), "
                f"profile {passport.profile.id}, band {passport.band}"
            )
        typer.echo(f"{verdict.state}: " + "; ".join(verdict.reasons))
    if not verdict.valid:
        raise typer.Exit(1)


@app.command()
@friendly_errors
def keys(
    out: Path | None = typer.Option(None, "--out", help="Write here instead of printing."),
) -> None:
    """Print the platform's public keys, which verifiers pin to check passports offline."""
    from posture.platform_keys import platform_keys

    document = platform_keys(load_settings()).public().document()
    _write((json.dumps(document, indent=2) + "\n").encode("ascii"), out)


@app.command()
@friendly_errors
def revocations(
    out: Path | None = typer.Option(None, "--out", help="Write here instead of printing."),
) -> None:
    """Print the signed revocation list: passports suspended, revoked or superseded."""
    from posture.passport.registry import revocation_list
    from posture.platform_keys import platform_keys

    with open_database() as db, db.sessions() as session:
        data = revocation_list(session, platform_keys(db.settings))
    _write(data, out)


@app.command()
@friendly_errors
def issue(
    assessment_id: int = typer.Argument(..., help="An accepted product assessment."),
    json_output: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Issue the passport of an accepted product assessment (one accepted before passports
    were issued, or whose passport was revoked and is to be issued again)."""
    from posture.audit import Actor
    from posture.passport.issue import issue_passport
    from posture.platform_keys import platform_keys
    from posture.storage.engine import transaction

    with open_database() as db, transaction(db.sessions) as session:
        passport = issue_passport(session, Actor("cli"), platform_keys(db.settings), assessment_id)
        result = {
            "number": passport.number,
            "product_id": passport.product_id,
            "expires_at": passport.expires_at.isoformat(),
        }
    if json_output:
        typer.echo(json.dumps(result, indent=2))
    else:
        typer.echo(f"issued passport {result['number']}, expires {result['expires_at']}")
