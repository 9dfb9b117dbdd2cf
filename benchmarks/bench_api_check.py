"""API check speed.

1. Overhead of `assure check api` as users run it (the sandbox child, load, lint, bundle, the
   guarded schemathesis child, parse, score) over a bare `st run` with identical settings
   against the same loopback target. Target: at most 1.2x.
2. Linting a description of 1 MB or more (Twilio, 1.9 MB). Target: under 2 s.

    python -m benchmarks.bench_api_check [--budget 10] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from checks.api.lint import lint
from checks.api.live import LiveSettings, st_command
from checks.api.spec import load_spec
from checks.egress import EgressPolicy
from checks.sandbox.request import SandboxedCheck
from checks.sandbox.run import run_sandboxed
from tests.peers.apis import build_spec, serving_api

TWILIO = Path(__file__).resolve().parents[1] / "tests/data/openapi/twilio_api_v2010.json"
LOOPBACK = EgressPolicy.loopback_only()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--budget", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    # Both sides stop at the same wall-clock budget (`--max-time`), as the overhead target says.
    settings = LiveSettings(max_examples=20, budget_seconds=args.budget, time_budget=True)
    bare, checker = [], []
    with tempfile.TemporaryDirectory() as folder, serving_api(flawed=False) as url:
        spec = Path(folder) / "openapi.json"
        spec.write_text(json.dumps(build_spec(False)))
        for run in range(args.repeat):
            report_dir = Path(folder) / f"bare-{run}"
            command = st_command(spec, url, settings, report_dir, None)
            started = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "schemathesis.cli", *command[1:]],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                check=False,
                timeout=args.budget + 60,
            )
            bare.append(time.perf_counter() - started)
            started = time.perf_counter()
            check = SandboxedCheck(
                kind="api", file_name="openapi.json", base_url=url, live=asdict(settings)
            )
            report = run_sandboxed(check, LOOPBACK, spec.read_bytes())
            checker.append(time.perf_counter() - started)
    lint_times = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        findings = lint(load_spec(str(TWILIO), EgressPolicy()))
        lint_times.append(time.perf_counter() - started)
    ratio = statistics.median(checker) / statistics.median(bare)
    print(
        json.dumps(
            {
                "benchmark": "api_check",
                "budget_seconds": args.budget,
                "bare_st_run_seconds_median": round(statistics.median(bare), 3),
                "checker_seconds_median": round(statistics.median(checker), 3),
                "ratio_checker_over_bare": round(ratio, 3),
                "checker_score": report.score,
                "lint_spec_bytes": TWILIO.stat().st_size,
                "lint_seconds_median": round(statistics.median(lint_times), 3),
                "lint_findings": len(findings),
                "targets": {"ratio": 1.2, "lint_seconds": 2},
                "meets_targets": ratio <= 1.2 and statistics.median(lint_times) < 2,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
