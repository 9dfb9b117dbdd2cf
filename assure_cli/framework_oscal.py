"""assure framework export-results and import-profile: OSCAL assessment results out, OSCAL
profiles in. Registered on the framework command group by assure_cli.framework."""

from __future__ import annotations

import json
import time
from pathlib import Path

import typer

from assure_cli.context import fail, friendly_errors, open_database, print_json
from posture.audit import Actor
from posture.identity.permissions import Membership, Principal
from posture.storage.models.enums import Role

CLI_ACTOR = Actor(label="cli")
# Whoever runs the CLI on the host already holds the database itself, so it reads as a platform
# administrator would: every organisation's accepted assessments. Export writes nothing, so the
# user id and organisation id (no row has 0) are never stored anywhere.
CLI_READER = Principal(user_id=0, email="cli", memberships=(Membership(0, Role.PLATFORM_ADMIN),))
JsonFlag = typer.Option(False, "--json", help="Print JSON instead of text.")


def export_results_command(
    assessment_id: int = typer.Argument(..., help="An accepted assessment's id."),
    out: Path = typer.Argument(..., help="Where to write the OSCAL assessment-results JSON."),
    json_output: bool = JsonFlag,
) -> None:
    """Export an accepted assessment as OSCAL assessment results, validated against NIST's
    OSCAL JSON schema; nothing is written unless it validates."""
    # OSCAL support pulls in compliance-trestle; imported here to keep other commands quick.
    from posture.assessment_export import export_assessment_results

    with open_database() as db, db.sessions() as session:
        document = export_assessment_results(session, CLI_READER, assessment_id)
    try:
        out.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", "utf-8")
    except OSError as exc:
        raise fail(f"cannot write {out}: {exc.strerror}") from None
    result = document["assessment-results"]["results"][0]
    findings = result.get("findings", [])
    satisfied = sum(1 for f in findings if f["target"]["status"]["state"] == "satisfied")
    if json_output:
        print_json(
            {
                "assessment_id": assessment_id,
                "path": str(out),
                "outcomes": len(findings),
                "satisfied": satisfied,
                "observations": len(result.get("observations", [])),
            }
        )
        return
    typer.echo(
        f"wrote {out}: assessment {assessment_id}, {len(findings)} outcomes "
        f"({satisfied} satisfied), valid OSCAL assessment results"
    )


def import_profile_command(
    file: Path = typer.Argument(..., help="An OSCAL profile in JSON."),
    catalogue_id: str | None = typer.Option(
        None, "--catalogue", help="Id of the imported catalogue the profile tailors."
    ),
    json_output: bool = JsonFlag,
) -> None:
    """Resolve an OSCAL profile against a catalogue already imported and store its selection."""
    from frameworks.oscal.importer import OscalImportError
    from posture.profile_store import import_oscal_profile
    from posture.storage.engine import transaction

    started = time.perf_counter()
    try:
        with open_database() as db, transaction(db.sessions) as session:
            result = import_oscal_profile(session, CLI_ACTOR, file, catalogue_id)
    except OscalImportError as exc:
        raise fail(str(exc)) from None
    elapsed = round(time.perf_counter() - started, 3)
    profile = result.profile
    if json_output:
        print_json(
            {
                "id": result.record_id,
                "title": profile.title,
                "version": profile.version,
                "catalogue_id": profile.catalogue_id,
                "catalogue_version": profile.catalogue_version,
                "controls": len(profile.control_ids),
                "control_ids": profile.control_ids,
                "already_present": result.already_present,
                "seconds": elapsed,
            }
        )
        return
    verb = "already imported" if result.already_present else "imported"
    typer.echo(
        f"{verb} profile {profile.title!r} {profile.version}: {len(profile.control_ids)} "
        f"controls of {profile.catalogue_id} {profile.catalogue_version} in {elapsed}s"
    )


def register(app: typer.Typer) -> None:
    app.command("export-results")(friendly_errors(export_results_command))
    app.command("import-profile")(friendly_errors(import_profile_command))
