"""assure score: posture scores for the estate or one entity, snapshots, and explanations."""

from __future__ import annotations

from datetime import UTC, date, datetime

import typer

from assure_cli.context import friendly_errors, open_database, print_json
from kernel.data_dir import ensure_data_dir
from posture.audit import Actor
from posture.explanation_words import deployment_flags
from posture.storage.engine import transaction

app = typer.Typer(help="Posture scores, snapshots and explanations.")
CLI_ACTOR = Actor(label="cli")
AsOf = typer.Option(
    None,
    "--as-of",
    formats=["%Y-%m-%d"],
    help="Score the estate as it stood on this date (default: today).",
)


def _as_of(value: datetime | None) -> date:
    return value.date() if value else datetime.now(UTC).date()


@app.callback(invoke_without_command=True)
@friendly_errors
def score(
    ctx: typer.Context,
    entity: str | None = typer.Option(
        None, "--entity", help="An organisation slug, org:<id> or product:<id>."
    ),
    json_output: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    snapshot: bool = typer.Option(False, "--snapshot", help="Store the result as snapshots."),
    as_of: datetime | None = AsOf,
    limit: int = typer.Option(20, min=1, help="Rows to print in the table (lowest scores first)."),
    framework: str | None = typer.Option(
        None,
        "--framework",
        help="Score against this framework version, e.g. ncsc-caf-4.0 (default: PTSbD).",
    ),
) -> None:
    """Score every force and product (or one entity) against the framework."""
    if ctx.invoked_subcommand is not None:
        return
    # NumPy and pandas load only for the commands that score.
    from posture.assessment_frameworks import framework_named
    from posture.audit_checkpoint import write_checkpoint
    from posture.scoring.service import score_estate
    from posture.scoring.snapshots import store_snapshots

    when = _as_of(as_of)
    checkpoint = None
    loaded = framework_named(framework)
    with open_database() as db:
        with transaction(db.sessions) as session:
            # The whole estate's answer encodings are kept for the next run (answer_cache.py).
            scores = score_estate(
                session, when, entity, loaded, encodings="keep" if entity is None else "read"
            )
            stored = 0
            if snapshot:
                taken_at = datetime.now(UTC) if as_of is None else as_of.replace(tzinfo=UTC)
                stored = store_snapshots(session, CLI_ACTOR, loaded, scores, taken_at)
        if stored:
            # Signed once the run has committed, so the checkpoint covers its audit event.
            checkpoint = write_checkpoint(
                db.sessions, ensure_data_dir(db.settings), "snapshot"
            ).record.checkpoint
    frame = scores.to_frame()
    if json_output:
        print_json(
            {
                "as_of": when,
                "subjects": len(frame),
                "snapshots_stored": stored,
                "snapshot_already_stored": snapshot and not stored and not frame.empty,
                "audit_checkpoint": None
                if checkpoint is None
                else {
                    "event_count": checkpoint.event_count,
                    "tip_event_id": checkpoint.tip_event_id,
                },
                "scores": frame.to_dict(orient="records"),
            }
        )
        return
    if frame.empty:
        typer.echo(f"no submitted assessments as of {when}")
        return
    typer.echo(
        f"{len(frame)} subjects scored as of {when}; bands: "
        + ", ".join(f"{b} {n}" for b, n in sorted(frame["band"].value_counts().items()))
    )
    shown = frame.sort_values(["score", "subject"]).head(limit)
    columns = ["subject", "label", "score", "confidence", "band", "capped", "contradicted", "gaps"]
    typer.echo(shown[columns].to_string(index=False))
    if stored:
        typer.echo(f"stored {stored} snapshots")
    elif snapshot:
        typer.echo("a snapshot at that moment is already stored; nothing was written again")
    if checkpoint is not None:
        typer.echo(
            f"audit checkpoint: {checkpoint.event_count} events to event {checkpoint.tip_event_id}"
        )


@app.command("explain")
@friendly_errors
def explain_command(
    entity: str = typer.Argument(..., help="An organisation slug, org:<id> or product:<id>."),
    as_of: datetime | None = AsOf,
    json_output: bool = typer.Option(False, "--json", help="Print JSON instead of text."),
) -> None:
    """Explain one entity's score: each outcome's rule, evidence, contradictions and gaps."""
    from posture.scoring.service import explain_entity

    with open_database() as db, db.sessions() as session:
        report = explain_entity(session, entity, _as_of(as_of))
    if json_output:
        print_json(report)
        return
    typer.echo(
        f"{report['label']} ({report['subject']}): score {report['score']}, band "
        f"{report['band']}, confidence {report['confidence']}% — {report['framework']['id']} "
        f"{report['framework']['version']}, scoring policy {report['scoring_policy_version']}, "
        f"profile {report['profile']}, as of {report['as_of']}"
    )
    if report["band_capped_by_critical"]:
        typer.echo(
            "  band capped: critical outcome(s) not achieved: "
            + ", ".join(report["band_capped_by_critical"])
        )
    for outcome in report["outcomes"]:
        marker = " CONTRADICTED" if "contradicted_by" in outcome else ""
        typer.echo(
            f"  {outcome['outcome']:<6} {outcome['status']:<19} target {outcome['target']:<19}"
            f" {outcome['provenance'] or '-':<16} {outcome['rule']}{marker}"
        )
    chain = report.get("supply_chain")
    if chain is not None:
        allows = chain["allows"] or "nothing either way"
        typer.echo(
            f"  supply chain ({chain['outcome']}) from the portfolio allows {allows}: "
            f"{chain['rule']}"
        )
        for deployed in chain["deployments"]:
            typer.echo(
                f"    {deployed['product']}: band {deployed['band'] or 'not scored'}, "
                f"weight {deployed['weight']}{deployment_flags(deployed)}"
            )
