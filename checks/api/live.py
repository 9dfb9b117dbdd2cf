"""Live testing with schemathesis, run as `st run` in a child process with a hard time limit.

The child gets the exact description the lint read (written to a private temporary folder), the
base URL after the egress policy vetted it, the identities as a Web Fuzzing Commons auth file
(two identities switch on the object-level authorisation check), a recorded seed, no example
database, bounded examples, a request rate limit and a request timeout.

By default the run is bounded by examples alone, so the same flags find the same failures on
any machine: given `--max-time`, schemathesis keeps fuzzing until the clock runs out and what it
finds depends on how fast the machine is. The budget is then only the hard limit past which
the child is killed; `time_budget=True` hands it to schemathesis as `--max-time` as well.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from checks.api.confirm import NEGATIVE_ACCEPTED, sent_body_conforms
from checks.api.credentials import IDENTITY_NAMES, bearer
from checks.api.evidence import FailureSamples, Sample, read_samples
from checks.api.identities import Answers, identity_proofs, read_answers, tested
from checks.api.model import OpenApiView
from checks.api.restates import fold
from checks.catalogue.api import IdentityProof, UnconfirmedFailure
from checks.egress import EgressPolicy, EgressRefused, parse_url
from checks.sandbox.environment import child_environment
from checks.sandbox.limits import MIB, SandboxLimits
from kernel.errors import ValidationFailed

ST_CHILD = "checks.sandbox.st_child"
# schemathesis with hypothesis holds every operation's strategies; the large public
# descriptions the benchmarks use stay under half of this.
ST_LIMITS = SandboxLimits(memory_bytes=1024 * MIB, cpu_seconds=600, output_bytes=256 * MIB)


@dataclass(frozen=True)
class LiveSettings:
    # 100, not 25: a mass-assignment fault was reported missed at 25 and found at 100. The flawed
    # test app's six operations take about 17 s at 100 (8.5 s at 25) with one worker.
    max_examples: int = 100
    # The run's limit: half a margin past it the child is interrupted (what it found is kept, and
    # API-LIVE-002 fails the gate), at the end of the margin killed. With time_budget it is also
    # schemathesis's --max-time, and the run stops for time rather than when examples run out.
    budget_seconds: int = 300
    time_budget: bool = False
    rate_limit: str | None = "200/s"
    request_timeout: float = 5.0
    seed: int = 20261126
    # One worker thread: with two, CPython 3.11's AST constructor can raise a spurious
    # "recursion depth mismatch" SystemError when hypothesis describes lambdas in both threads at
    # once (python/cpython#106905), and the run ends as an error rather than a verdict.
    workers: int = 1
    # Beyond the budget: half of it before the child is interrupted, the rest for it to write
    # its reports before it is killed.
    hard_limit_margin: float = 30.0
    # A token the API itself signed that has expired (the user's, like the identities' tokens:
    # never recorded): the only honest test of whether the API checks expiry (jwt_tokens.py).
    expired_token: str | None = field(default=None, repr=False)
    # One the API's issuer signed for another audience (another API): the only honest test of
    # whether the API checks the audience. A secret like the others.
    other_audience_token: str | None = field(default=None, repr=False)

    @property
    def signed_tokens(self) -> tuple[str, ...]:
        """The tokens the JWT probe sends besides the identities', to redact wherever echoed."""
        return tuple(t for t in (self.expired_token, self.other_audience_token) if t)


@dataclass
class LiveFailure:
    code: str
    title: str
    severity: str
    operations: list[str]
    count: int
    curl: str | None = None
    message: str | None = None
    # One failing request and its answer per operation named (bounded; see evidence.py).
    samples: list[Sample] = field(default_factory=list)
    samples_left_out: int = 0
    # Restatements folded into this failure: [{code, operation, message}] (see restates.py).
    also_reported: list[dict[str, str]] = field(default_factory=list)


@dataclass
class LiveResult:
    completed: bool
    timed_out: bool = False
    operations_total: int = 0
    operations_tested: int = 0
    failures: list[LiveFailure] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    # Failures the sent request did not confirm (see confirm.py), kept as evidence.
    unconfirmed: list[UnconfirmedFailure] = field(default_factory=list)
    egress_refused: list[dict[str, str]] = field(default_factory=list)
    # schemathesis's own warnings, kind -> operations: missing_auth, rate_limited, ...
    warnings: dict[str, list[str]] = field(default_factory=dict)
    preflight_ran: bool = False  # the identities were tried before fuzzing (preflight.py)
    identity_proofs: list[IdentityProof] = field(default_factory=list)
    # identity -> secured operation -> statuses: what the proofs were judged from.
    identity_answers: dict[str, Answers] = field(default_factory=dict)
    # Operations sent requests that did not show they ran (identities.tested).
    operations_unanswered: list[str] = field(default_factory=list)
    # What schemathesis itself counted as tested (any request sent), kept for comparison.
    operations_sent: int = 0
    seed: int | None = None
    command: list[str] = field(default_factory=list)
    seconds: float | None = None
    # Why schemathesis stopped ("completed", "max_time", ...), and the operations it selected
    # but never reached: what a time budget cut.
    stop_reason: str | None = None
    operations_not_reached: list[str] = field(default_factory=list)

    @property
    def stopped_for_time(self) -> bool:
        # max_time: schemathesis's own budget; interrupted: the hard limit (only _wait sends it).
        return self.stop_reason in ("max_time", "interrupted")

    @property
    def coverage(self) -> float:
        return self.operations_tested / self.operations_total if self.operations_total else 0.0


def st_command(
    spec_path: Path,
    base_url: str,
    settings: LiveSettings,
    report_dir: Path,
    auth_file: Path | None,
    config_file: Path | None = None,
) -> list[str]:
    command = ["st"]
    if config_file is not None:
        command += ["--config-file", str(config_file)]
    command += ["run", str(spec_path), "--url", base_url, "--checks", "all"]
    command += ["--max-examples", str(settings.max_examples)]
    if settings.time_budget:
        command += ["--max-time", str(settings.budget_seconds)]
    command += ["--seed", str(settings.seed)]
    command += ["--request-timeout", str(settings.request_timeout)]
    command += ["--generation-database", "none", "--workers", str(settings.workers)]
    command += ["--report", "json,ndjson", "--report-dir", str(report_dir)]
    command += ["--no-color", "--output-sanitize", "true"]
    if settings.rate_limit:
        command += ["--rate-limit", settings.rate_limit]
    if auth_file is not None and config_file is None:
        command += ["--auth-wfc", str(auth_file)]
    return command


def _peer_config(folder: Path, auth_file: Path) -> Path:
    """Two identities are peers that must not see each other's objects: this switches on the
    object-level authorisation check, which only schemathesis' config file can express."""
    path = folder / "schemathesis.toml"
    # JSON strings are TOML basic strings: the path and names are quoted and escaped alike.
    path.write_text(
        f"[auth.wfc]\npath = {json.dumps(auth_file.as_posix())}\n"
        f"peers = {json.dumps(list(IDENTITY_NAMES))}\n",
        encoding="utf-8",
    )
    return path


def _auth_document(tokens: list[str]) -> dict[str, Any]:
    return {
        "auth": [
            {
                "name": name,
                "fixedHeaders": [
                    {"name": header, "value": value} for header, value in bearer(token).items()
                ],
            }
            for name, token in zip(IDENTITY_NAMES, tokens, strict=False)
        ]
    }


def _guard_file(folder: Path, host: str, address: str, port: int) -> Path:
    """The only place the schemathesis child may connect to, and what its name means."""
    path = folder / "guard.json"
    path.write_text(
        json.dumps(
            {
                "endpoints": [[address, port]],
                "pins": {host.lower().rstrip("."): address},
                "limits": ST_LIMITS.as_dict(),
                "refusals": str(folder / "egress-refusals.jsonl"),
                "parent_pid": os.getpid(),
            }
        ),
        encoding="utf-8",
    )
    return path


def _refusals(folder: Path) -> list[dict[str, str]]:
    path = folder / "egress-refusals.jsonl"
    if not path.exists():
        return []
    lines = path.read_text("utf-8", "replace").splitlines()[:50]
    return [json.loads(line) for line in lines if line.startswith("{")]


def run_live(
    spec_raw: bytes, base_url: str, tokens: list[str], settings: LiveSettings, policy: EgressPolicy
) -> LiveResult:
    if len(tokens) > len(IDENTITY_NAMES):
        raise ValidationFailed(f"at most {len(IDENTITY_NAMES)} identities may be given")
    try:
        parsed = parse_url(base_url)
    except EgressRefused as exc:
        raise ValidationFailed(f"base URL: {exc}") from exc
    target = policy.resolve(parsed.host, parsed.port)
    with tempfile.TemporaryDirectory(prefix="assure-st-") as folder:
        root = Path(folder)
        spec_path = root / "openapi.json"
        spec_path.write_bytes(spec_raw)
        auth_file = None
        if tokens:
            auth_file = root / "identities.json"
            descriptor = os.open(auth_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as handle:
                json.dump(_auth_document(tokens), handle)
        report_dir = root / "report"
        config_file = _peer_config(root, auth_file) if auth_file and len(tokens) > 1 else None
        command = st_command(spec_path, base_url, settings, report_dir, auth_file, config_file)
        guard_file = _guard_file(root, parsed.host, target.address, parsed.port)
        launcher = [sys.executable, "-I", "-m", ST_CHILD, str(guard_file), "--", *command[1:]]
        process = subprocess.Popen(  # noqa: S603 (fixed argv, no shell)
            launcher,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
            # Run in the private folder: schemathesis keeps a cache of past failures in its working
            # directory and replays them, which would make one run depend on earlier ones.
            cwd=root,
            env=child_environment(),
        )
        stderr, interrupted = _wait(process, settings)
        if stderr is None:
            return LiveResult(
                completed=False,
                timed_out=True,
                command=list(command),
                egress_refused=_refusals(root),
            )
        refused = _refusals(root)
        reports = sorted(report_dir.glob("json-*.json"))
        if not reports:
            detail = stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
            return LiveResult(
                completed=False,
                errors=detail or ["schemathesis wrote no report"],
                command=list(command),
                egress_refused=refused,
            )
        summary = read_summary(reports[-1])
        if summary is None:
            # Cut off while writing (stopped at the end of its grace): what it found is lost,
            # so the run proves nothing, and says why rather than failing the whole check.
            return LiveResult(
                completed=False,
                timed_out=interrupted,
                errors=[
                    "schemathesis's report was cut short and cannot be read",
                    *stderr.decode("utf-8", "replace").strip().splitlines()[-3:],
                ],
                command=list(command),
                egress_refused=refused,
            )
        events = next(iter(sorted(report_dir.glob("ndjson-*.ndjson"))), report_dir / "missing")
        samples = read_samples(events)
        document = json.loads(spec_raw)
        answers = read_answers(events, document, len(tokens))
    operations = summary.get("operations") or {}
    answered = tested(answers.operations, answers.negative)
    total = operations.get("selected", 0)
    failures, unconfirmed = _confirmed(summary, samples, document)
    return LiveResult(
        completed=bool(summary.get("complete")),
        operations_total=total,
        operations_tested=min(len(answered), total),
        operations_sent=operations.get("tested", 0),
        operations_unanswered=sorted(set(answers.operations) - answered)[:100],
        failures=failures,
        errors=[f"{e['title']} ({e['count']})" for e in summary.get("errors") or []],
        unconfirmed=unconfirmed,
        egress_refused=refused,
        identity_proofs=identity_proofs(answers.identities, len(tokens)),
        identity_answers=answers.identities,
        warnings={
            str(kind): [str(label) for label in labels]
            for kind, labels in (summary.get("warnings") or {}).items()
            if isinstance(labels, list) and labels
        },
        seed=summary.get("seed"),
        command=list(command),
        seconds=summary.get("running_time"),
        # Interrupted at the hard limit: what it found is kept, and the run still counts as cut.
        timed_out=interrupted,
        stop_reason=summary.get("stop_reason"),
        operations_not_reached=_not_reached(document, samples),
    )


def read_summary(path: Path) -> dict[str, Any] | None:
    """schemathesis's JSON summary, or None when it is not a whole JSON object."""
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, OSError):
        return None
    return summary if isinstance(summary, dict) else None


def _wait(process: subprocess.Popen[bytes], settings: LiveSettings) -> tuple[bytes | None, bool]:
    """The child's stderr and whether it had to be interrupted; None when it had to be killed.

    Half a margin past the budget the child is interrupted (SIGINT): schemathesis then stops,
    writes its reports with what it found so far and exits. Only if it has not done so by the
    end of the margin is it killed, and then nothing it found can be read. (With a time budget
    schemathesis stops by itself at the budget; an examples-bounded run gets the same grace.)"""
    first = settings.budget_seconds + settings.hard_limit_margin / 2
    try:
        return process.communicate(timeout=first)[1], False
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGINT)
    try:
        return process.communicate(timeout=max(1.0, settings.hard_limit_margin / 2))[1], True
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        return None, True


def _not_reached(document: dict[str, Any], samples: FailureSamples) -> list[str]:
    declared = [op.label for op in OpenApiView(document).operations()]
    return [op for op in declared if op not in samples.operations_reached][:100]


def _confirmed(
    summary: dict[str, Any], samples: FailureSamples, document: dict[str, Any]
) -> tuple[list[LiveFailure], list[UnconfirmedFailure]]:
    """The failures, less a lone accepted-negative-data one whose sent request was valid, with
    restatements folded into what they restate."""
    failures, unconfirmed = [], []
    for item in summary.get("failures") or []:
        operations = list(item.get("operations") or [])
        kept, left_out = samples.for_failure(item["code"], operations)
        found = kept[0] if kept else None
        failure = LiveFailure(
            code=item["code"],
            title=item["title"],
            severity=item["severity"],
            operations=operations,
            count=int(item.get("count", 1)),
            curl=found.curl if found else None,
            message=found.message if found else None,
            samples=kept,
            samples_left_out=left_out,
        )
        lone = failure.count == 1 and len(failure.operations) == 1
        if (
            found is not None
            and lone
            and failure.code == NEGATIVE_ACCEPTED
            and sent_body_conforms(document, failure.operations[0], found.request)
        ):
            unconfirmed.append(
                UnconfirmedFailure(
                    code=failure.code,
                    operation=failure.operations[0],
                    curl=failure.curl,
                    reason="the request sent was valid for the schema; the tester's "
                    "serialisation removed what made its data invalid",
                )
            )
            continue
        failures.append(failure)
    return fold(failures), unconfirmed
