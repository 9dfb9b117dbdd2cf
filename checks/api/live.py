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
from urllib.parse import urlsplit

from checks.egress import EgressPolicy
from posture.errors import ValidationFailed


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
    command = [sys.executable, "-m", "schemathesis.cli"]
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


def _reproductions(ndjson: Path) -> dict[str, tuple[str, str]]:
    """code -> (curl of the first failing request, message) from the NDJSON event stream."""
    found: dict[str, tuple[str, str]] = {}
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
                        found[code] = (_curl(interaction), str(failure.get("message", ""))[:500])
    return found


def run_live(
    spec_raw: bytes, base_url: str, tokens: list[str], settings: LiveSettings, policy: EgressPolicy
) -> LiveResult:
    parts = urlsplit(base_url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValidationFailed(f"base URL {base_url!r} is not an http(s) URL")
    policy.resolve(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
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
        process = subprocess.Popen(  # noqa: S603 (fixed argv, no shell)
            command,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
            # Run in the private folder: schemathesis keeps a cache of past failures in its working
            # directory and replays them, which would make one run depend on earlier ones.
            cwd=root,
            env={**os.environ, "SCHEMATHESIS_TELEMETRY": "false"},
        )
        try:
            _, stderr = process.communicate(
                timeout=settings.budget_seconds + settings.hard_limit_margin
            )
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            return LiveResult(completed=False, timed_out=True, command=_shown(command))
        reports = sorted(report_dir.glob("json-*.json"))
        if not reports:
            detail = stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
            return LiveResult(
                completed=False,
                errors=detail or ["schemathesis wrote no report"],
                command=_shown(command),
            )
        summary = json.loads(reports[-1].read_text(encoding="utf-8"))
        reproductions = _reproductions(
            next(iter(sorted(report_dir.glob("ndjson-*.ndjson"))), report_dir / "missing")
        )
    operations = summary.get("operations") or {}
    failures = [
        LiveFailure(
            code=f["code"],
            title=f["title"],
            severity=f["severity"],
            operations=list(f.get("operations") or []),
            count=int(f.get("count", 1)),
            curl=reproductions.get(f["code"], (None, None))[0],
            message=reproductions.get(f["code"], (None, None))[1],
        )
        for f in summary.get("failures") or []
    ]
    return LiveResult(
        completed=bool(summary.get("complete")),
        operations_total=operations.get("selected", 0),
        operations_tested=operations.get("tested", 0),
        failures=failures,
        errors=[f"{e['title']} ({e['count']})" for e in summary.get("errors") or []],
        seed=summary.get("seed"),
        command=_shown(command),
        seconds=summary.get("running_time"),
    )


def _shown(command: list[str]) -> list[str]:
    """The command as recorded in evidence: the interpreter path is noise."""
    return ["st", *command[3:]]
