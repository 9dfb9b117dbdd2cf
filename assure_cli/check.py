"""assure check: one command per kind of check in the check catalogue (checks/catalogue/).

A command is built from its spec when it runs, importing that kind's spec module alone: what it
reads (host:port, a file, or a file or URL) decides its argument, and every command takes --json,
--sarif, --junit, --fail-on and --record, --cbom when the check can write one and --timeout when
it reaches the network. The API check has its own command for the options that are its own (a
live sandbox, two identities), and reports as every other does; what it adds to the output (its
verdict) comes from its spec.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from assure_cli.context import fail, friendly_errors, print_json
from assure_cli.lazy import LazyGroup, as_click
from checks.catalogue import CheckKind, CheckSpec, InputKind, UnknownCheckKind, spec_for, specs
from checks.egress import EgressPolicy
from checks.findings import SEVERITY_RANK, Severity
from checks.report import CheckReport, ReportStatus
from checks.sandbox.request import SandboxedCheck
from kernel.settings import load_settings

if TYPE_CHECKING:
    from typer._click import core as click

JsonFlag = typer.Option(False, "--json", help="Print the full report as JSON.")
CbomOut = typer.Option(None, "--cbom", help="Also write what was found as a CycloneDX 1.6 CBOM.")
FailOn = typer.Option(None, "--fail-on", help="Exit 1 when a finding is at least this severe.")
Record = typer.Option(
    None, "--record", help="Store the run as evidence for product:<id> or org:<id> (feeds scores)."
)
Timeout = typer.Option(3.0, min=0.1, max=60, help="Seconds to wait for each answer.")
SarifOut = typer.Option(None, "--sarif", help="Also write the findings as SARIF 2.1.0.")
JunitOut = typer.Option(None, "--junit", help="Also write the findings as JUnit XML.")


@dataclass(frozen=True)
class Delivery:
    """Where a report goes besides the terminal, and when it fails the command: the options
    every check command shares."""

    json_output: bool = False
    cbom: Path | None = None
    sarif: Path | None = None
    junit: Path | None = None
    fail_on: Severity | None = None
    record: str | None = None

    @classmethod
    def of(cls, values: dict[str, Any]) -> Delivery:
        return cls(**{f.name: values[f.name] for f in fields(cls) if f.name in values})


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
    from posture.findings.tracking import track_check_run
    from posture.passport.watch import after_check_run
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
            after_check_run(session, run, actor=Actor("cli"))
        else:
            run = record_check_run(session, Actor("cli"), report, int(value))
        track_check_run(session, run)
        return run.id


def _emit(report: CheckReport, delivery: Delivery, artifact: str | None = None) -> None:
    """Record, write and print the report; exit 1 when it could not be assessed or has a
    finding at least as severe as --fail-on. `artifact` is what SARIF results point at."""
    # Each renderer is imported only when its output is asked for: --json needs none.
    if delivery.record is not None:
        run_id = _store(report, delivery.record)
        if not delivery.json_output:
            typer.echo(f"recorded as check run {run_id}")
    if delivery.cbom is not None:
        from checks.cbom_export import build_cbom

        document = build_cbom([report], report.target)
        delivery.cbom.write_text(json.dumps(document, indent=2) + "\n", "utf-8")
    if delivery.sarif is not None:
        from checks.outputs import to_sarif

        sarif = to_sarif(report, artifact)
        delivery.sarif.write_text(json.dumps(sarif, indent=2) + "\n", "utf-8")
    if delivery.junit is not None:
        from checks.outputs import to_junit

        delivery.junit.write_text(to_junit(report) + "\n", "utf-8")
    if delivery.json_output:
        print_json(report.model_dump(mode="json"))
    else:
        from checks.outputs import console_lines

        for line in console_lines(report):
            typer.echo(line)
        written = {"CBOM": delivery.cbom, "SARIF": delivery.sarif, "JUnit XML": delivery.junit}
        for label, path in written.items():
            if path is not None:
                typer.echo(f"  {label} written to {path}")
    if report.status is ReportStatus.NOT_ASSESSABLE:
        raise typer.Exit(1)
    fail_on = delivery.fail_on
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


def _artifact(spec: CheckSpec, values: dict[str, Any]) -> str | None:
    """What SARIF results point at: the file as given (a path in the repository scanned);
    None for an endpoint, which the renderer names by its kind (tls://host:port)."""
    if spec.input is InputKind.FILE:
        return str(values["file"])
    if spec.input is InputKind.FILE_OR_URL:
        return str(values["source"])
    return None


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
        _emit(report, Delivery.of(values), _artifact(spec, values))

    parameters = [_argument(spec), _option("json_output", bool, JsonFlag)]
    if spec.cbom is not None:
        parameters.append(_option("cbom", Path | None, CbomOut))
    parameters.append(_option("sarif", Path | None, SarifOut))
    parameters.append(_option("junit", Path | None, JunitOut))
    parameters.append(_option("fail_on", Severity | None, FailOn))
    if spec.input is not InputKind.FILE:
        parameters.append(_option("timeout", float, Timeout))
    parameters.append(_option("record", str | None, Record))
    command.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    command.__annotations__ = {}
    command.__doc__ = spec.summary
    command.__name__ = command.__qualname__ = f"check_{spec.kind}"
    return friendly_errors(command)


def _objects_text(path: Path) -> str:
    """The objects file's text, parsed in the sandbox: only its size and encoding are checked
    here, so an oversized file is refused before it is copied anywhere."""
    from checks.api.objects_limits import MAX_BYTES

    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise fail(f"cannot read {path}: {exc.strerror}") from None
    if len(raw) > MAX_BYTES:
        raise fail(f"{path}: the objects file is larger than {MAX_BYTES} bytes")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise fail(f"{path}: the objects file is not UTF-8 text") from None


@friendly_errors
def api(
    spec: str = typer.Option(..., "--spec", help="OpenAPI 3.0/3.1 description: a path or URL."),
    base_url: str | None = typer.Option(None, "--base-url", help="Sandbox to test live."),
    auth: str | None = typer.Option(None, "--auth", help="Bearer token of a first identity."),
    auth2: str | None = typer.Option(
        None, "--auth2", help="Bearer token of a second identity (object-level authorisation)."
    ),
    max_examples: int = typer.Option(
        100,
        "--max-examples",
        "--examples",
        min=1,
        max=1000,
        help="Test cases per operation; with the seed, this alone bounds the run, so the same "
        "flags find the same failures.",
    ),
    budget: int = typer.Option(
        300,
        min=5,
        max=3600,
        help="Hard limit of the live run in seconds; past it the run is stopped and fails.",
    ),
    time_budget: bool = typer.Option(
        False,
        "--time-budget/--no-time-budget",
        help="Also stop schemathesis at --budget seconds (it then fuzzes until the clock runs "
        "out, and what it finds depends on the machine's speed).",
    ),
    rate_limit: str = typer.Option("200/s", help="Request rate limit, e.g. 50/s or 1000/m."),
    seed: int = typer.Option(20261126, help="Random seed, recorded for reproduction."),
    expired_token: str | None = typer.Option(
        None,
        "--expired-token",
        help="A token the API itself signed that has expired: without one, whether the API "
        "checks expiry is not tested.",
    ),
    other_audience_token: str | None = typer.Option(
        None,
        "--other-audience-token",
        help="A token the API's issuer signed for another API (another aud): without one, "
        "whether the API checks a token's audience is not tested.",
    ),
    objects: Path | None = typer.Option(
        None,
        "--objects",
        help="YAML or JSON file naming objects each identity owns (primary:, secondary: lists "
        "of paths such as /v1/notes/17, or of operation: GET /v1/notes/{id} with params: "
        "{id: 17}); each is read as its owner, then as the other identity and anonymously. "
        "Objects are also found through list operations.",
    ),
    matrix_writes: bool = typer.Option(
        False,
        "--matrix-writes/--no-matrix-writes",
        help="Also replay each object's PUT or PATCH as the other identity, with the body its "
        "owner read. Writes change data: use a test system. DELETE is never replayed.",
    ),
    json_output: bool = JsonFlag,
    sarif: Path | None = SarifOut,
    junit: Path | None = JunitOut,
    fail_on: Severity | None = FailOn,
    record: str | None = Record,
) -> None:
    """Lint an OpenAPI description and, with --base-url, test the live API with schemathesis.

    Exits 1 when a hard gate fails (plain-HTTP server, ignored authentication, broken
    object-level authorisation) or the description cannot be assessed."""
    from dataclasses import asdict

    from checks.api.live import LiveSettings
    from checks.catalogue.api import ApiResult

    if auth2 and not auth:
        raise fail("--auth2 needs --auth: the second identity is compared with the first")
    if objects is not None and not base_url:
        raise fail("--objects needs --base-url: the objects are read from the live API")
    objects_text = _objects_text(objects) if objects is not None else None
    for given, option in (
        (expired_token, "--expired-token"),
        (other_audience_token, "--other-audience-token"),
    ):
        if given and not auth:
            raise fail(f"{option} needs --auth: the API must first accept a live token")
    settings = LiveSettings(
        max_examples=max_examples,
        budget_seconds=budget,
        time_budget=time_budget,
        rate_limit=rate_limit,
        seed=seed,
    )
    tokens = tuple(t for t in (auth, auth2) if t)
    remote = spec.startswith(("http://", "https://"))
    check = SandboxedCheck(
        kind=CheckKind.API,
        target=spec,
        file_name="" if remote else Path(spec).name,
        base_url=base_url,
        tokens=tokens,
        expired_token=expired_token or None,
        other_audience_token=other_audience_token or None,
        live=asdict(settings),
        objects=objects_text,
        matrix_writes=matrix_writes,
    )
    report = _sandboxed(check, None if remote else _read(Path(spec)))
    delivery = Delivery(
        json_output=json_output, sarif=sarif, junit=junit, fail_on=fail_on, record=record
    )
    _emit(report, delivery, spec)
    if ApiResult.model_validate(report.details).gate_failed:
        raise typer.Exit(1)


# Checks whose options are their own: their command is written out rather than built.
OWN_COMMANDS: dict[str, Callable[..., None]] = {CheckKind.API: api}


def _spec(kind: str) -> CheckSpec | None:
    """The spec of one kind (spec_for imports no other kind's module for a shipped one)."""
    try:
        return spec_for(kind)
    except UnknownCheckKind:
        return None


class CheckCommands(LazyGroup):
    """One command per kind in the catalogue, built when it runs. The listing reads every
    spec's summary (spec modules import their check's code only inside `run`, so that is
    cheap); running `assure check tls` imports the TLS spec alone."""

    def names(self) -> list[str]:
        return [str(spec.kind) for spec in specs()]

    def summary(self, name: str) -> tuple[str, bool]:
        own = OWN_COMMANDS.get(name)
        if own is not None:  # its help is its docstring, as Typer reads it
            return inspect.cleandoc(own.__doc__ or "").split("\n\n")[0], False
        return spec_for(name).summary, False

    def load(self, name: str) -> click.Command | None:
        spec = _spec(name)
        if spec is None:
            return None
        return as_click(OWN_COMMANDS.get(spec.kind) or _command(spec), name)


def build_app() -> typer.Typer:
    """`assure check`: a command for every kind of check in the catalogue when it is run."""
    checks = typer.Typer(
        cls=CheckCommands, help="Automated checks that produce evidence.", no_args_is_help=True
    )

    @checks.callback()
    def _commands_only() -> None:
        # A callback makes Typer build a group; the commands come from the catalogue.
        pass

    return checks


app = build_app()
