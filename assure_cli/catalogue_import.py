"""Run one catalogue import (OSCAL catalog or CISO Assistant library) and report it, the same way
for every format."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from assure_cli.context import fail, open_database, print_json
from posture.audit import Actor

CLI_ACTOR = Actor(label="cli")


def import_catalogue_file(
    store: Callable[..., Any],
    refusals: type[Exception],
    file: Path,
    catalogue_id: str | None,
    json_output: bool,
) -> None:
    """`store(session, actor, file, catalogue_id)` in one transaction; a refusal of the file is
    printed with its file, place and reason, and nothing is stored."""
    from posture.storage.engine import transaction

    started = time.perf_counter()
    try:
        with open_database() as db, transaction(db.sessions) as session:
            result = store(session, CLI_ACTOR, file, catalogue_id)
    except refusals as exc:
        raise fail(str(exc)) from None
    elapsed = round(time.perf_counter() - started, 3)
    catalogue = result.catalogue
    if json_output:
        print_json(
            {
                "id": catalogue.catalogue_id,
                "version": catalogue.version,
                "title": catalogue.title,
                "urn": catalogue.urn,
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
