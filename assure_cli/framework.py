"""assure framework: validate, show, coverage and OSCAL exchange."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from assure_cli.catalogue_import import import_catalogue_file
from assure_cli.context import fail, friendly_errors, print_json
from checks.findings import CATALOGUE_FILE
from frameworks.catalogue_view import catalogue_id_of
from frameworks.crosswalk import coverage
from frameworks.library import FrameworkLibrary, load_library, validate_library
from frameworks.loader import DATA_ROOT, FrameworkDataError, LoadedFramework
from frameworks.schema import Outcome
from frameworks.urns import (
    UrnError,
    UrnKind,
    crosswalk_urn,
    element_urn,
    framework_urn,
    outcome_urn,
    parse_urn,
)

app = typer.Typer(
    help="The common framework: validate, browse, map and exchange.", no_args_is_help=True
)

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
    """A catalogue id, a URN, `<catalogue>:<id>` (`ncsc-caf-4.0:C1.f`) or a bare id, looked up in
    PTSbD first: ids are labels and collide across frameworks."""
    if item_id in library.catalogues and not item_id.startswith("urn:"):
        loaded = _framework_for_catalogue(library, item_id)
        if loaded is None:
            catalogue = library.catalogues[item_id]
            data = catalogue.model_dump(mode="json", exclude_none=True)
            data["item_count"] = len(catalogue.items())
            return "catalogue", data
        data = loaded.framework.model_dump(mode="json", exclude_none=True)
        data["outcome_count"] = len(loaded.framework.outcomes())
        data["urn"] = framework_urn(*loaded.key)
        return "framework", data
    scope, label = _scope_and_label(item_id)
    ordered = sorted(
        library.frameworks.values(),
        key=lambda f: (f.framework.framework_id != "ptsbd", catalogue_id_of(f.framework)),
    )
    for loaded in ordered:
        framework = loaded.framework
        if scope is not None and scope != catalogue_id_of(framework):
            continue
        if scope is None and label == framework.framework_id:
            latest = library.latest(framework.framework_id)
            data = latest.framework.model_dump(mode="json", exclude_none=True)
            data["outcome_count"] = len(latest.framework.outcomes())
            data["urn"] = framework_urn(*latest.key)
            return "framework", data
        found = _element(loaded, label)
        if found is not None:
            return found
    return None


def _scope_and_label(item_id: str) -> tuple[str | None, str]:
    if item_id.startswith("urn:"):
        try:
            parsed = parse_urn(item_id)
        except UrnError as exc:
            raise fail(str(exc)) from None
        return parsed.scope, parsed.element or ""
    scope, _, label = item_id.rpartition(":")
    # OWASP-style ids hold a colon themselves (API1:2023): only a known catalogue is a scope.
    return (scope, label) if scope and "." in scope else (None, item_id)


def _framework_for_catalogue(
    library: FrameworkLibrary, catalogue_id: str
) -> LoadedFramework | None:
    for loaded in library.frameworks.values():
        if catalogue_id_of(loaded.framework) == catalogue_id:
            return loaded
    return None


def _element(loaded: LoadedFramework, label: str) -> tuple[str, dict] | None:
    """An objective, principle or outcome of one framework version; URNs match case-blind."""
    key = loaded.key
    wanted = label.lower()
    for objective in loaded.framework.objectives:
        if objective.id.lower() == wanted:
            data = objective.model_dump(mode="json")
            return "objective", {**data, "urn": element_urn(UrnKind.OBJECTIVE, *key, objective.id)}
        for principle in objective.principles:
            if principle.id.lower() == wanted:
                data = principle.model_dump(mode="json")
                urn = element_urn(UrnKind.PRINCIPLE, *key, principle.id)
                return "principle", {**data, "urn": urn}
            for outcome in principle.outcomes:
                if outcome.id.lower() == wanted:
                    return "outcome", _outcome_payload(loaded, outcome)
    return None


def _outcome_payload(loaded: LoadedFramework, outcome: Outcome) -> dict:
    data = outcome.model_dump(mode="json")
    data["urn"] = outcome_urn(*loaded.key, outcome.id)
    data["framework"] = catalogue_id_of(loaded.framework)
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
                "crosswalk_urn": crosswalk_urn(catalogue_id_of(framework.framework), against),
                "summary": summary,
                "elements": [
                    {
                        "id": r.target_id,
                        "urn": _target_urn(library, against, r.target_id),
                        "title": r.title,
                        "status": r.status.value,
                        "sources": list(r.sources),
                        "source_urns": [outcome_urn(*framework.key, x) for x in r.sources],
                        "best_strength": r.best_strength,
                        "rationale": r.rationale,
                    }
                    for r in rows
                ],
            }
        )
        return
    typer.echo(f"PTSbD {framework.framework.version} against {catalogue.title} {catalogue.version}")
    width = max([8, *(len(row.target_id) for row in rows)])
    for row in rows:
        sources = ", ".join(row.sources) or "-"
        typer.echo(f"  {row.target_id:<{width}} {row.status.value:<17} {sources:<22} {row.title}")
    typer.echo("  " + ", ".join(f"{count} {status}" for status, count in summary.items()))


def _target_urn(library: FrameworkLibrary, catalogue_id: str, element_id: str) -> str:
    """An outcome URN where the catalogue is a shipped framework, else a requirement URN."""
    loaded = _framework_for_catalogue(library, catalogue_id)
    if loaded is not None:
        return outcome_urn(*loaded.key, element_id)
    catalogue = library.catalogues[catalogue_id]
    return element_urn(UrnKind.REQUIREMENT, catalogue.catalogue_id, catalogue.version, element_id)


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

    import_catalogue_file(import_oscal_file, OscalImportError, file, catalogue_id, json_output)


def _register_exchange_commands() -> None:
    # In their own modules (CISO Assistant libraries, OSCAL results and profiles) so that this
    # file stays about the shipped framework; each adds its commands to this app.
    from assure_cli.framework_ciso import register as register_ciso
    from assure_cli.framework_oscal import register as register_oscal

    register_ciso(app)
    register_oscal(app)


_register_exchange_commands()
