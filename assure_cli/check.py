"""assure check: one command per kind of check in the check catalogue (checks/catalogue/).

A command is built from its spec: what it reads (host:port, a file, or a file or URL) decides
its argument, and every command takes --json, --fail-on and --record, --cbom when the check can
write one and --timeout when it reaches the network. The API check has its own command: its
options (a live sandbox, two identities, SARIF and JUnit) are its own.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from assure_cli.context import fail, friendly_errors, print_json
from checks.catalogue import CheckKind, CheckSpec, InputKind, specs
from checks.egress import EgressPolicy
from checks.findings import SEVERITY_RANK, Severity
from checks.report import CheckReport, ReportStatus
from checks.sandbox.request import SandboxedCheck
from posture.config import load_settings

JsonFlag = typer.Option(False, "--json", help="Print the full report as JSON.")
CbomOut = typer.Option(None, "--cbom", help="Also write what was found as a CycloneDX 1.6 CBOM.")
FailOn = typer.Option(None, "--fail-on", help="Exit 1 when a finding is at least this severe.")
Record = typer.Option(
    None, "--record", help="Store the run as evidence for product:<id> or org:<id> (feeds scores)."
)
Timeout = typer.Option(3.0, min=0.1, max=60, help="Seconds to wait for each answer.")


def _policy() -> EgressPolicy:
    return EgressPolicy.from_settings(load_settings())


def _sandboxed(check: SandboxedCheck, file_bytes: bytes | None = None) -> CheckReport:
    """Every check runs in the sandbox, from the CLI as from a worker."""
    from checks.sandbox.run import run_sandboxed

    return run_sandboxed(check, _policy(), file_bytes)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise fail(f"cannot read {path}: {exc.strerror}") from None


def _store(report: CheckReport, subject: str) -> int:
    from assure_cli.context import open_database
    from posture.audit import Actor
    from posture.check_runs import record_check_run
    from posture.storage.engine import transaction
    from posture.storage.models import Product

    kind, _, value = subject.partition(":")
    if kind not in {"product", "org"} or not value.isdigit():
        raise fail("--record takes product:<id> or org:<id>")
    with open_database() as db, transaction(db.sessions) as session:
        if kind == "product":
            product = session.get(Product, int(value))
            if product is None:
                raise fail(f"no product {value}")
            run = record_check_run(
                session, Actor("cli"), report, product.organisation_id, product.id
            )
        else:
            run = record_check_run(session, Actor("cli"), report, int(value))
        return run.id


def _emit(
    report: CheckReport,
    json_output: bool,
    cbom: Path | None,
    fail_on: Severity | None,
    record: str | None = None,
) -> None:
    if record is not None:
        run_id = _store(report, record)
        if not json_output:
            typer.echo(f"recorded as check run {run_id}")
    if cbom is not None:
        from checks.cbom_export import build_cbom

        document = build_cbom([report], report.target)
        cbom.write_text(json.dumps(document, indent=2) + "\n", "utf-8")
    if json_output:
        print_json(report.model_dump(mode="json"))
    else:
        score = "n/a" if report.score is None else f"{report.score:g}"
        typer.echo(
            f"{report.kind} check of {report.target}: {report.status.value}, "
            f"post-quantum readiness {score}"
        )
        for name, value in report.subscores.items():
            typer.echo(f"  {name}: {'not assessed' if value is None else f'{value:g}'}")
        for milestone in report.milestones:
            typer.echo(f"  {milestone.id} ({milestone.date}): {milestone.status}")
        for item in sorted(report.findings, key=lambda f: -SEVERITY_RANK[f.severity]):
            typer.echo(f"  [{item.severity.value:<8}] {item.code:<14} {item.title}")
        if cbom is not None:
            typer.echo(f"  CBOM written to {cbom}")
    if report.status is ReportStatus.NOT_ASSESSABLE:
        raise typer.Exit(1)
    if fail_on is not None and any(
        SEVERITY_RANK[f.severity] >= SEVERITY_RANK[fail_on] for f in report.findings
    ):
        raise typer.Exit(1)


def _option(name: str, annotation: object, default: object) -> inspect.Parameter:
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default
    )


def _argument(spec: CheckSpec) -> inspect.Parameter:
    """The command's one argument: what the check reads."""
    if spec.input is InputKind.ENDPOINT:
        return _option("target", str, typer.Argument(..., metavar="HOST:PORT"))
    if spec.input is InputKind.FILE:
        return _option("file", Path, typer.Argument(..., help=spec.input_help or None))
    metavar = "FILE|URL"
    return _option(
        "source", str, typer.Argument(..., metavar=metavar, help=spec.input_help or None)
    )


def _order(spec: CheckSpec, values: dict[str, Any]) -> tuple[SandboxedCheck, bytes | None]:
    """The sandboxed check the command line asks for, and the file it reads, if any."""
    if spec.input is InputKind.ENDPOINT:
        return SandboxedCheck(
            kind=spec.kind, target=values["target"], timeout=values["timeout"]
        ), None
    if spec.input is InputKind.FILE:
        file: Path = values["file"]
        return SandboxedCheck(kind=spec.kind, file_name=file.name), _read(file)
    source, timeout = values["source"], values["timeout"]
    if source.startswith(("http://", "https://")):
        return SandboxedCheck(kind=spec.kind, target=source, timeout=timeout), None
    check = SandboxedCheck(
        kind=spec.kind, target=source, file_name=Path(source).name, timeout=timeout
    )
    return check, _read(Path(source))


def _command(spec: CheckSpec) -> Callable[..., None]:
    """The command of one kind of check; Typer reads its parameters from the signature."""

    def command(**values: Any) -> None:
        report = _sandboxed(*_order(spec, values))
        _emit(
            report, values["json_output"], values.get("cbom"), values["fail_on"], values["record"]
        )

    parameters = [_argument(spec), _option("json_output", bool, JsonFlag)]
    if spec.cbom is not None:
        parameters.append(_option("cbom", Path | None, CbomOut))
    parameters.append(_option("fail_on", Severity | None, FailOn))
    if spec.input is not InputKind.FILE:
        parameters.append(_option("timeout", float, Timeout))
    parameters.append(_option("record", str | None, Record))
    command.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    command.__annotations__ = {}
    command.__doc__ = spec.summary
    command.__name__ = command.__qualname__ = f"check_{spec.kind}"
    return friendly_errors(command)


@friendly_errors
def api(
    spec: str = typer.Option(..., "--spec", help="OpenAPI 3.0/3.1 description: a path or URL."),
    base_url: str | None = typer.Option(None, "--base-url", help="Sandbox to test live."),
    auth: str | None = typer.Option(None, "--auth", help="Bearer token of a first identity."),
    auth2: str | None = typer.Option(
        None, "--auth2", help="Bearer token of a second identity (object-level authorisation)."
    ),
    max_examples: int = typer.Option(25, min=1, max=1000, help="Test cases per operation."),
    budget: int = typer.Option(60, min=5, max=3600, help="Wall-clock budget in seconds."),
    rate_limit: str = typer.Option("200/s", help="Request rate limit, e.g. 50/s or 1000/m."),
    seed: int = typer.Option(20261126, help="Random seed, recorded for reproduction."),
    json_output: bool = JsonFlag,
    sarif: Path | None = typer.Option(None, "--sarif", help="Write SARIF 2.1.0 here."),
    junit: Path | None = typer.Option(None, "--junit", help="Write JUnit XML here."),
    record: str | None = Record,
) -> None:
    """Lint an OpenAPI description and, with --base-url, test the live API with schemathesis.

    Exits 1 when a hard gate fails (plain-HTTP server, ignored authentication, broken
    object-level authorisation) or the description cannot be assessed."""
    from dataclasses import asdict

    from checks.api.live import LiveSettings
    from checks.api.outputs import to_junit, to_sarif

    if auth2 and not auth:
        raise fail("--auth2 needs --auth: the second identity is compared with the first")
    settings = LiveSettings(
        max_examples=max_examples, budget_seconds=budget, rate_limit=rate_limit, seed=seed
    )
    tokens = tuple(t for t in (auth, auth2) if t)
    remote = spec.startswith(("http://", "https://"))
    check = SandboxedCheck(
        kind=CheckKind.API,
        target=spec,
        file_name="" if remote else Path(spec).name,
        base_url=base_url,
        tokens=tokens,
        live=asdict(settings),
    )
    report = _sandboxed(check, None if remote else _read(Path(spec)))
    if sarif is not None:
        sarif.write_text(json.dumps(to_sarif(report, spec), indent=2) + "\n", "utf-8")
    if junit is not None:
        junit.write_text(to_junit(report) + "\n", "utf-8")
    if record is not None:
        _store(report, record)
    if json_output:
        print_json(report.model_dump(mode="json"))
    else:
        score = "n/a" if report.score is None else f"{report.score:g}"
        verdict = report.details.get("verdict", "not assessable")
        provisional = " (provisional)" if report.details.get("provisional") else ""
        typer.echo(f"api check of {report.target}: {verdict}, score {score}{provisional}")
        for name, value in report.subscores.items():
            typer.echo(f"  {name}: {'not assessed' if value is None else f'{value:g}'}")
        if report.details.get("gate_failed"):
            typer.echo("  gates failed: " + ", ".join(report.details["gate_failed"]))
        for code in sorted({f.code for f in report.findings}):
            items = [f for f in report.findings if f.code == code]
            typer.echo(
                f"  [{items[0].severity.value:<8}] {code:<9} {items[0].title} ({len(items)})"
            )
    if report.status is ReportStatus.NOT_ASSESSABLE or report.details.get("gate_failed"):
        raise typer.Exit(1)


# Checks whose options are their own: their command is written out rather than built.
OWN_COMMANDS: dict[str, Callable[..., None]] = {CheckKind.API: api}


def build_app() -> typer.Typer:
    """`assure check` with a command for every kind of check in the catalogue now (a check
    registered before this is called has its command)."""
    checks = typer.Typer(help="Automated checks that produce evidence.", no_args_is_help=True)
    for spec in specs():
        if spec.kind in OWN_COMMANDS:
            checks.command(spec.kind)(OWN_COMMANDS[spec.kind])
        else:
            checks.command(spec.kind)(_command(spec))
    return checks


app = build_app()
