"""assure framework: validate, show, coverage and OSCAL exchange."""

from __future__ import annotations

import json
import time
from pathlib import Path

import typer

from assure_cli.context import fail, friendly_errors, open_database, print_json
from checks.findings import CATALOGUE_FILE
from frameworks.crosswalk import coverage
from frameworks.library import FrameworkLibrary, load_library, validate_library
from frameworks.loader import DATA_ROOT, FrameworkDataError, LoadedFramework
from frameworks.schema import Outcome
from posture.audit import Actor
from posture.storage.engine import transaction

app = typer.Typer(
    help="The common framework: validate, browse, map and exchange.", no_args_is_help=True
)

CLI_ACTOR = Actor(label="cli")
DataDir = typer.Option(
    DATA_ROOT, "--data-dir", help="Framework data folder to use.", file_okay=False, exists=True
)
JsonFlag = typer.Option(False, "--json", help="Print JSON instead of text.")


def _library(data_dir: Path) -> FrameworkLibrary:
    try:
        return load_library(data_dir)
    except FrameworkDataError as exc:
        raise fail(f"framework data is invalid: {exc}") from None


@app.command()
def validate(
    data_dir: Path = DataDir,
    findings: Path = typer.Option(
        CATALOGUE_FILE,
        "--findings",
        help="Check catalogue whose finding-to-outcome links to check.",
        dir_okay=False,
        exists=True,
    ),
    json_output: bool = JsonFlag,
) -> None:
    """Check every framework, profile, catalogue, crosswalk and migration file, and the links
    from check findings to framework outcomes."""
    library, problems = validate_library(data_dir, findings)
    if json_output:
        print_json(
            {
                "valid": library is not None,
                "problems": problems,
                "files": [str(p) for p in (library.files if library else [])],
            }
        )
    elif library is not None:
        outcomes = sum(len(f.framework.outcomes()) for f in library.frameworks.values())
        typer.echo(
            f"valid: {len(library.frameworks)} framework version(s), {outcomes} outcomes, "
            f"{len(library.catalogues)} upstream catalogues, {len(library.crosswalks)} crosswalks"
        )
    else:
        for problem in problems:
            typer.echo(f"invalid: {problem}", err=True)
    if library is None:
        raise typer.Exit(1)


@app.command()
def show(
    item_id: str = typer.Argument(
        ...,
        metavar="ID",
        help="A framework, objective, principle or outcome id, or an upstream catalogue id.",
    ),
    data_dir: Path = DataDir,
    json_output: bool = JsonFlag,
) -> None:
    """Show one framework element or upstream catalogue."""
    library = _library(data_dir)
    found = _find(library, item_id)
    if found is None:
        raise fail(f"no framework, outcome or catalogue has the id {item_id!r}")
    kind, payload = found
    if json_output:
        print_json({"kind": kind, **payload})
        return
    typer.echo(f"{kind} {item_id}: {payload.get('title', '')}")
    for key, value in payload.items():
        if key not in {"title", "objectives", "principles", "outcomes", "groups", "indicators"}:
            typer.echo(f"  {key}: {value}")
    for level, indicators in payload.get("indicators", {}).items():
        typer.echo(f"  {level}:")
        for indicator in indicators:
            typer.echo(f"    {indicator['id']}  {indicator['text']}")
    for child_key in ("objectives", "principles", "outcomes"):
        for child in payload.get(child_key, []):
            typer.echo(f"  {child['id']}  {child['title']}")


def _find(library: FrameworkLibrary, item_id: str) -> tuple[str, dict] | None:
    if item_id in library.catalogues:
        catalogue = library.catalogues[item_id]
        data = catalogue.model_dump(mode="json")
        data["item_count"] = len(catalogue.items())
        return "catalogue", data
    for (framework_id, _version), loaded in sorted(library.frameworks.items()):
        framework = loaded.framework
        if item_id == framework_id:
            latest = library.latest(framework_id).framework
            data = latest.model_dump(mode="json")
            data["outcome_count"] = len(latest.outcomes())
            return "framework", data
        for objective in framework.objectives:
            if objective.id == item_id:
                return "objective", objective.model_dump(mode="json")
            for principle in objective.principles:
                if principle.id == item_id:
                    return "principle", principle.model_dump(mode="json")
                for outcome in principle.outcomes:
                    if outcome.id == item_id:
                        return "outcome", _outcome_payload(loaded, outcome)
    return None


def _outcome_payload(loaded: LoadedFramework, outcome: Outcome) -> dict:
    data = outcome.model_dump(mode="json")
    # Which checks bear on the outcome, through which findings: from checks/data/findings.yaml.
    data["checks"] = list(loaded.finding_links.kinds_for(outcome.id))
    data["findings"] = list(loaded.finding_links.codes_for(outcome.id))
    return data


@app.command("coverage")
def coverage_command(
    against: str = typer.Option(..., "--against", help="Upstream catalogue id, e.g. ncsc-caf-4.0."),
    data_dir: Path = DataDir,
    json_output: bool = JsonFlag,
) -> None:
    """How far PTSbD covers an upstream catalogue: mapped, partially mapped, unmapped."""
    library = _library(data_dir)
    if against not in library.catalogues:
        raise fail(f"unknown catalogue {against!r}; known: {', '.join(sorted(library.catalogues))}")
    framework = library.latest("ptsbd")
    try:
        crosswalk = library.crosswalk_for(framework, against)
    except KeyError:
        raise fail(f"no crosswalk from PTSbD {framework.framework.version} to {against}") from None
    catalogue = library.catalogues[against]
    rows = coverage(crosswalk, [(i.id, i.title) for i in catalogue.items()], library.coverage_rules)
    summary: dict[str, int] = {}
    for row in rows:
        summary[row.status.value] = summary.get(row.status.value, 0) + 1
    if json_output:
        print_json(
            {
                "framework": f"{framework.framework.framework_id} {framework.framework.version}",
                "against": against,
                "summary": summary,
                "elements": [
                    {
                        "id": r.target_id,
                        "title": r.title,
                        "status": r.status.value,
                        "sources": list(r.sources),
                        "best_strength": r.best_strength,
                        "rationale": r.rationale,
                    }
                    for r in rows
                ],
            }
        )
        return
    typer.echo(f"PTSbD {framework.framework.version} against {catalogue.title} {catalogue.version}")
    for row in rows:
        sources = ", ".join(row.sources) or "-"
        typer.echo(f"  {row.target_id:<8} {row.status.value:<17} {sources:<22} {row.title}")
    typer.echo("  " + ", ".join(f"{count} {status}" for status, count in summary.items()))


@app.command("export-oscal")
def export_oscal_command(
    out: Path = typer.Argument(..., help="Where to write the OSCAL catalog JSON."),
    data_dir: Path = DataDir,
) -> None:
    """Export PTSbD as an OSCAL catalog, validated against NIST's OSCAL JSON schema."""
    # OSCAL support pulls in compliance-trestle; imported here to keep other commands quick.
    from frameworks.oscal.export import export_oscal
    from frameworks.oscal.validation import oscal_schema_errors

    library = _library(data_dir)
    document = export_oscal(library.latest("ptsbd"))
    problems = oscal_schema_errors(document)
    if problems:
        raise fail("export does not validate against the OSCAL schema: " + "; ".join(problems))
    try:
        out.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", "utf-8")
    except OSError as exc:
        raise fail(f"cannot write {out}: {exc.strerror}") from None
    controls = len(library.latest("ptsbd").framework.outcomes())
    typer.echo(f"wrote {out} ({controls} controls, valid OSCAL catalog)")


@app.command("import-oscal")
@friendly_errors
def import_oscal_command(
    file: Path = typer.Argument(..., help="An OSCAL catalog in JSON."),
    catalogue_id: str | None = typer.Option(None, "--id", help="Catalogue id to store it under."),
    json_output: bool = JsonFlag,
) -> None:
    """Validate an OSCAL catalog and store it as an upstream catalogue."""
    from frameworks.oscal.importer import OscalImportError
    from posture.catalogue_store import import_oscal_file

    started = time.perf_counter()
    try:
        with open_database() as db, transaction(db.sessions) as session:
            result = import_oscal_file(session, CLI_ACTOR, file, catalogue_id)
    except OscalImportError as exc:
        raise fail(str(exc)) from None
    elapsed = round(time.perf_counter() - started, 3)
    catalogue = result.catalogue
    if json_output:
        print_json(
            {
                "id": catalogue.catalogue_id,
                "version": catalogue.version,
                "title": catalogue.title,
                "controls": result.control_count,
                "top_level_controls": result.top_level_control_count,
                "already_present": result.already_present,
                "seconds": elapsed,
            }
        )
        return
    verb = "already imported" if result.already_present else "imported"
    typer.echo(
        f"{verb} {catalogue.catalogue_id} {catalogue.version}: {catalogue.title} "
        f"({result.control_count} controls, {result.top_level_control_count} top level) "
        f"in {elapsed}s"
    )
