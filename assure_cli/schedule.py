"""assure schedule: the schedules in force, their last and next runs, and running one now."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from assure_cli.context import fail, friendly_errors, open_database, print_json

app = typer.Typer(
    help="Scheduled work: what runs when, how it last went, and running one now.",
    no_args_is_help=True,
)
JsonOption = typer.Option(False, "--json", help="Print JSON.")


@app.command("list")
@friendly_errors
def list_command(json_output: bool = JsonOption) -> None:
    """Each schedule: when it is due, its last run and outcome, and its next run."""
    from kernel.clock import utcnow
    from posture.schedules.status import schedule_overview
    from supplier_portal.automation import schedule_book

    with open_database() as db:
        book = schedule_book(db.settings)
        with db.sessions() as session:
            rows = schedule_overview(session, book, utcnow())
    if json_output:
        print_json({"source": book.source, "schedules": [row.as_dict() for row in rows]})
        return
    typer.echo(f"schedules from {book.source}")
    for row in rows:
        last = row.last
        said = (
            "never run"
            if last is None
            else f"last {last.status} for {last.period} at {last.started_at:%Y-%m-%d %H:%M}"
        )
        upcoming = f"{row.next_run:%Y-%m-%d %H:%M} UTC" if row.next_run else "not within 35 days"
        typer.echo(f"{row.name:<30} {row.cron:<18} {said}; next {upcoming}")


@app.command("validate")
@friendly_errors
def validate_command(
    path: Path | None = typer.Argument(
        None, help="A schedules file to check (default: ASSURE_SCHEDULES_FILE, else the shipped)."
    ),
) -> None:
    """Check a schedules file before a worker is given it; nothing is run or changed."""
    from kernel.settings import load_settings
    from posture.schedules.book import load_schedules
    from supplier_portal.automation import schedule_actions

    chosen = path.absolute() if path is not None else load_settings().schedules_file
    book = load_schedules(chosen, schedule_actions())
    typer.echo(f"{book.source}: {len(book.definitions)} schedules, each bound to an action")


@app.command("run")
@friendly_errors
def run_command(
    name: str = typer.Argument(..., help="The schedule's name, as `assure schedule list` shows."),
    on_worker: bool = typer.Option(
        False, "--on-worker", help="Queue it for a worker instead of running it here."
    ),
    json_output: bool = JsonOption,
) -> None:
    """Run one schedule now, for the current period: a period whose run has succeeded or is
    running is not run again (a failed one is)."""
    from kernel.clock import utcnow
    from posture.audit import Actor
    from posture.jobs.queue import build_queue
    from posture.schedules.runner import ScheduleContext, run_schedule
    from posture.storage.models.enums import ScheduleRunStatus
    from supplier_portal.automation import schedule_book

    actor = Actor(label="cli")
    with open_database() as db:
        book = schedule_book(db.settings)
        book.named(name)  # an unknown name is refused before anything runs
        queue = build_queue(db.settings)
        if on_worker:
            queue.run_schedule_now(name, "cli", actor)
            result: dict[str, Any] = {"name": name, "queued": True}
        else:
            context = ScheduleContext(db.settings, db.sessions, utcnow(), queue.run_check)
            result = run_schedule(book, name, context, trigger="cli", actor=actor).as_dict()
    if json_output:
        print_json(result)
    elif result.get("queued"):
        typer.echo(f"{name}: queued for a worker")
    elif not result["ran"]:
        typer.echo(f"{name}: not run; its run for {result['period']} is {result['status']} already")
    else:
        typer.echo(f"{name} ({result['period']}): {result['status']}")
    if result.get("ran") and result["status"] == ScheduleRunStatus.FAILED.value:
        raise fail(f"{name} failed: {result['error']}")
