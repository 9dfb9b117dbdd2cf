"""Live testing with schemathesis, run as `st run` in a child process with a hard time limit.

The child gets the exact description the lint read (written to a private temporary folder), the
base URL after the egress policy vetted it, the identities as a Web Fuzzing Commons auth file
(two identities switch on the object-level authorisation check), a recorded seed, no example
database, bounded examples, a wall-clock budget, a request rate limit and a request timeout.
"""

from __future__ import annotations

import base64
import json
import os
import shlex
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from checks.api.confirm import NEGATIVE_ACCEPTED, sent_body_conforms
from checks.catalogue.api import UnconfirmedFailure
from checks.egress import EgressPolicy, EgressRefused, parse_url
from checks.sandbox.environment import child_environment
from checks.sandbox.limits import MIB, SandboxLimits
from kernel.errors import ValidationFailed

ST_CHILD = "checks.sandbox.st_child"
# schemathesis with hypothesis holds every operation's strategies; the large public
# descriptions the benchmarks use stay under half of this.
ST_LIMITS = SandboxLimits(memory_bytes=768 * MIB, cpu_seconds=600, output_bytes=256 * MIB)


@dataclass(frozen=True)
class LiveSettings:
    max_examples: int = 25
    budget_seconds: int = 60
    rate_limit: str | None = "200/s"
    request_timeout: float = 5.0
    seed: int = 20261126
    # One worker thread: with two, CPython 3.11's AST constructor can raise a spurious
    # "recursion depth mismatch" SystemError when hypothesis describes lambdas in both threads at
    # once (python/cpython#106905), and the run ends as an error rather than a verdict.
    workers: int = 1
    # Beyond the budget, how long the child may take to wind up before it is killed.
    hard_limit_margin: float = 30.0


@dataclass
class LiveFailure:
    code: str
    title: str
    severity: str
    operations: list[str]
    count: int
    curl: str | None = None
    message: str | None = None


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
    seed: int | None = None
    command: list[str] = field(default_factory=list)
    seconds: float | None = None

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
    command += ["--max-time", str(settings.budget_seconds), "--seed", str(settings.seed)]
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
    path.write_text(
        f'[auth.wfc]\npath = "{auth_file.as_posix()}"\npeers = ["primary", "secondary"]\n',
        encoding="utf-8",
    )
    return path


def _auth_document(tokens: list[str]) -> dict[str, Any]:
    names = ["primary", "secondary"]
    return {
        "auth": [
            {
                "name": names[index],
                "fixedHeaders": [{"name": "Authorization", "value": f"Bearer {token}"}],
            }
            for index, token in enumerate(tokens)
        ]
    }


def _curl(interaction: dict[str, Any]) -> str:
    request = interaction.get("request", {})
    parts = ["curl", "-X", request.get("method", "GET")]
    for name, values in (request.get("headers") or {}).items():
        for value in values:
            parts += ["-H", f"{name}: {value}"]
    body = request.get("body")
    if isinstance(body, dict) and "$base64" in body:
        parts += ["-d", base64.b64decode(body["$base64"]).decode("utf-8", "replace")]
    parts.append(request.get("uri", ""))
    return " ".join(shlex.quote(p) for p in parts)


@dataclass(frozen=True)
class Reproduction:
    curl: str
    message: str
    request: dict[str, Any]


def _reproductions(ndjson: Path) -> dict[str, Reproduction]:
    """code -> the first failing request and its message, from the NDJSON event stream."""
    found: dict[str, Reproduction] = {}
    if not ndjson.exists():
        return found
    with ndjson.open(encoding="utf-8") as handle:
        for line in handle:
            if '"failure"' not in line:
                continue
            event = json.loads(line).get("ScenarioFinished")
            if not event:
                continue
            recorder = event.get("recorder", {})
            for case_id, checks in (recorder.get("checks") or {}).items():
                for check in checks:
                    failure = (check.get("failure_info") or {}).get("failure") or {}
                    code = failure.get("code")
                    interaction = (recorder.get("interactions") or {}).get(case_id)
                    if code and code not in found and interaction:
                        found[code] = Reproduction(
                            _curl(interaction),
                            str(failure.get("message", ""))[:500],
                            interaction.get("request") or {},
                        )
    return found


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
        try:
            _, stderr = process.communicate(
                timeout=settings.budget_seconds + settings.hard_limit_margin
            )
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
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
        summary = json.loads(reports[-1].read_text(encoding="utf-8"))
        reproductions = _reproductions(
            next(iter(sorted(report_dir.glob("ndjson-*.ndjson"))), report_dir / "missing")
        )
    operations = summary.get("operations") or {}
    failures, unconfirmed = _confirmed(summary, reproductions, json.loads(spec_raw))
    return LiveResult(
        completed=bool(summary.get("complete")),
        operations_total=operations.get("selected", 0),
        operations_tested=operations.get("tested", 0),
        failures=failures,
        errors=[f"{e['title']} ({e['count']})" for e in summary.get("errors") or []],
        unconfirmed=unconfirmed,
        egress_refused=refused,
        seed=summary.get("seed"),
        command=list(command),
        seconds=summary.get("running_time"),
    )


def _confirmed(
    summary: dict[str, Any], reproductions: dict[str, Reproduction], document: dict[str, Any]
) -> tuple[list[LiveFailure], list[UnconfirmedFailure]]:
    """The failures, less a lone accepted-negative-data one whose sent request was valid."""
    failures, unconfirmed = [], []
    for item in summary.get("failures") or []:
        found = reproductions.get(item["code"])
        failure = LiveFailure(
            code=item["code"],
            title=item["title"],
            severity=item["severity"],
            operations=list(item.get("operations") or []),
            count=int(item.get("count", 1)),
            curl=found.curl if found else None,
            message=found.message if found else None,
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
    return failures, unconfirmed
