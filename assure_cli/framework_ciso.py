"""assure framework import-ciso and export-ciso: framework libraries exchanged with CISO Assistant
(its YAML library format). Registered on the framework command group by assure_cli.framework."""

from __future__ import annotations

from pathlib import Path

import typer

from assure_cli.catalogue_import import import_catalogue_file
from assure_cli.context import fail, friendly_errors, print_json
from frameworks.catalogue_view import catalogue_id_of
from frameworks.library import FrameworkLibrary, load_library
from frameworks.loader import DATA_ROOT, FrameworkDataError, LoadedFramework

JsonFlag = typer.Option(False, "--json", help="Print JSON instead of text.")
DataDir = typer.Option(
    DATA_ROOT, "--data-dir", help="Framework data folder to use.", file_okay=False, exists=True
)
YAML_SUFFIXES = (".yaml", ".yml")


def import_ciso_command(
    file: Path = typer.Argument(..., help="A CISO Assistant framework library (YAML)."),
    catalogue_id: str | None = typer.Option(None, "--id", help="Catalogue id to store it under."),
    json_output: bool = JsonFlag,
) -> None:
    """Check a CISO Assistant framework library and store its framework as an upstream
    catalogue (groups and assessable requirements with their URNs)."""
    from frameworks.ciso_assistant.errors import CisoLibraryError
    from posture.catalogue_store import import_ciso_file

    import_catalogue_file(import_ciso_file, CisoLibraryError, file, catalogue_id, json_output)


def _framework(library: FrameworkLibrary, wanted: str) -> LoadedFramework:
    try:
        return library.by_catalogue_id(wanted)
    except KeyError:
        known = sorted(catalogue_id_of(f.framework) for f in library.frameworks.values())
        raise fail(f"no framework {wanted!r}; known: {', '.join(known)}") from None


def export_ciso_command(
    out: Path = typer.Argument(
        ...,
        help="A .yaml file for the framework alone, or a folder for the framework and its "
        "crosswalks (one library a file, as CISO Assistant loads them).",
    ),
    framework_id: str = typer.Option(
        "ptsbd-1.0", "--framework", help="Framework version (ptsbd-1.0) or id (latest version)."
    ),
    crosswalks: list[str] = typer.Option(
        [], "--crosswalk", help="Also export the crosswalk to this catalogue; repeatable."
    ),
    data_dir: Path = DataDir,
    json_output: bool = JsonFlag,
) -> None:
    """Export a framework version, and any of its crosswalks, as CISO Assistant libraries."""
    from frameworks.ciso_assistant.export import export_crosswalk, export_framework, library_yaml

    try:
        library = load_library(data_dir)
    except FrameworkDataError as exc:
        raise fail(f"framework data is invalid: {exc}") from None
    loaded = _framework(library, framework_id)
    key = catalogue_id_of(loaded.framework)
    documents = {f"{key}.yaml": export_framework(loaded)}
    for target in crosswalks:
        try:
            crosswalk = library.crosswalk_for(loaded, target)
        except KeyError:
            known = sorted(t for (f, v, t) in library.crosswalks if (f, v) == loaded.key)
            raise fail(
                f"no crosswalk from {key} to {target!r}; known: {', '.join(known) or 'none'}"
            ) from None
        documents[f"{key}__{target}.yaml"] = export_crosswalk(crosswalk, library)
    single = out.suffix.lower() in YAML_SUFFIXES
    if single and crosswalks:
        raise fail("a crosswalk is a library of its own: give a folder to write several")
    written: list[Path] = []
    try:
        if not single:
            out.mkdir(parents=True, exist_ok=True)
        for file_name, document in documents.items():
            path = out if single else out / file_name
            path.write_text(library_yaml(document), "utf-8")
            written.append(path)
    except OSError as exc:
        raise fail(f"cannot write {exc.filename or out}: {exc.strerror}") from None
    if json_output:
        print_json(
            {
                "framework": key,
                "crosswalks": list(crosswalks),
                "files": [str(path) for path in written],
            }
        )
        return
    for path in written:
        typer.echo(f"wrote {path}")


def register(app: typer.Typer) -> None:
    app.command("import-ciso")(friendly_errors(import_ciso_command))
    app.command("export-ciso")(friendly_errors(export_ciso_command))
