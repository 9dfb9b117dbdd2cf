"""assure retention: show the retention policy and what is due, and run the sweep."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from assure_cli.context import fail, friendly_errors, open_database, print_json

if TYPE_CHECKING:
    from posture.retention.policy import RetentionPolicy
    from posture.retention.sweep import SweepReport

app = typer.Typer(
    help="Retention periods for personal data and evidence, applied by a sweep.",
    no_args_is_help=True,
)
JsonOption = typer.Option(False, "--json", help="Print JSON.")
PolicyOption = typer.Option(
    None,
    "--policy",
    help="A policy file to use instead of ASSURE_RETENTION_POLICY, else the shipped"
    " posture/data/retention.yaml.",
    dir_okay=False,
)


def _policy(given: Path | None) -> tuple[RetentionPolicy, str]:
    """The policy `--policy` names, else the one the retention_policy setting names, else the
    shipped one, with where it came from. Read and validated before the database is opened:
    a bad policy changes nothing."""
    from kernel.settings import load_settings
    from posture.retention.policy import SHIPPED_POLICY, load_policy

    path = given if given is not None else load_settings().retention_policy
    return load_policy(path), str(path or SHIPPED_POLICY)


def _report(policy: RetentionPolicy, dry_run: bool) -> SweepReport:
    from kernel.clock import utcnow
    from posture.blobs import BlobStore
    from posture.retention.sweep import sweep

    with open_database() as db:
        store = BlobStore.for_settings(db.settings)
        return sweep(db.sessions, store, policy, utcnow(), dry_run=dry_run)


@app.command()
@friendly_errors
def show(policy_path: Path | None = PolicyOption, json_output: bool = JsonOption) -> None:
    """The policy, rule by rule, with how many rows are due now."""
    policy, source = _policy(policy_path)
    due = {o.kind: o.due for o in _report(policy, dry_run=True).rules}
    rules: list[dict[str, Any]] = [
        {**rule.model_dump(by_alias=True, mode="json"), "due": due[rule.kind]}
        for rule in policy.rules
    ]
    if json_output:
        print_json({"version": policy.version, "policy": source, "rules": rules})
        return
    typer.echo(f"retention policy version {policy.version} ({source})")
    for rule in rules:
        action = rule["action"]
        if action == "reduce":
            action = f"reduce (clear {', '.join(rule['clear'])})"
        typer.echo(
            f"{rule['kind']}: {action} {rule['days']} day{'' if rule['days'] == 1 else 's'} "
            f"after {rule['from']}; "
            f"{rule['due']} due now"
        )


@app.command(name="sweep")
@friendly_errors
def sweep_command(
    dry_run: bool = typer.Option(False, "--dry-run", help="Count what is due; change nothing."),
    policy_path: Path | None = PolicyOption,
    json_output: bool = JsonOption,
) -> None:
    """Delete or reduce every record past its retention period, with an audit event a batch."""
    policy, source = _policy(policy_path)
    report = _report(policy, dry_run)
    if json_output:
        print_json({**report.as_dict(), "policy": source})
    else:
        typer.echo(f"retention policy version {policy.version} ({source})")
        verb = "due" if dry_run else "swept"
        for outcome in report.rules:
            count = outcome.due if dry_run else outcome.swept
            line = f"{outcome.kind}: {count} {verb}"
            if outcome.files_removed:
                line += f", {outcome.files_removed} files removed"
            if outcome.files_kept_recent:
                line += f", {outcome.files_kept_recent} files kept (stored again within the hour)"
            if outcome.error:
                line += f"; FAILED: {outcome.error}"
            typer.echo(line)
    if not report.ok:
        raise fail("some rules failed; the rest were applied (see above)")
