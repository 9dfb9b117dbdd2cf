"""The TLS check beside sslyze on the same loopback peer, when sslyze is installed.

sslyze pins its own OpenSSL and `cryptography`, so it lives in a virtual environment of its own:
`ASSURE_BENCH_SSLYZE` names its executable, else `sslyze` on PATH is used, else the pairing is
skipped and says so. Both sides are timed as whole processes (start-up included, as a user runs
them), and sslyze's own in-process figure for its curve scan is reported beside the check's probe.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pq_crypto.catalogue import algorithm_index

SCAN_SECONDS = re.compile(r"SCANS COMPLETED IN ([0-9.]+) S")


def sslyze_executable() -> str | None:
    return os.environ.get("ASSURE_BENCH_SSLYZE") or shutil.which("sslyze")


def _assure_executable() -> str:
    beside = Path(sys.executable).with_name("assure")
    return str(beside) if beside.exists() else "assure"


def _timed_process(command: list[str], env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=120, env=env, check=False
    )
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 1):  # the check exits 1 when findings pass --fail-on
        raise RuntimeError(f"{command[0]} exited {done.returncode}: {done.stderr[-400:]}")
    return seconds, done.stdout


def _catalogue_ids(names: list[str]) -> set[str]:
    index = algorithm_index()
    found = set()
    for name in names:
        algorithm = index.name(name).algorithm_id
        if algorithm:
            found.add(algorithm)
    return found


def pair(port: int, repeat: int) -> dict[str, object]:
    """Both tools on 127.0.0.1:`port`, `repeat` times each, medians and what each saw."""
    sslyze = sslyze_executable()
    if sslyze is None:
        return {"skipped": "sslyze not found: set ASSURE_BENCH_SSLYZE or put sslyze on PATH"}
    target = f"127.0.0.1:{port}"
    env = {**os.environ, "ASSURE_EGRESS_ALLOW": "127.0.0.1/32"}
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "sslyze.json"
        command = [sslyze, "--elliptic_curves", f"--json_out={out}", target]
        sslyze_runs = [_timed_process(command, env) for _ in range(repeat)]
        scan = json.loads(out.read_text("utf-8"))["server_scan_results"][0]["scan_result"]
    curves = scan["elliptic_curves"]["result"]["supported_curves"]
    sslyze_saw = _catalogue_ids([curve["name"] for curve in curves])
    assure = [_assure_executable(), "check", "tls", target, "--json"]
    assure_runs = [_timed_process(assure, env) for _ in range(repeat)]
    groups = json.loads(assure_runs[-1][1])["details"]["groups"]
    assure_saw = {g["name"] for g in groups if g["support"] == "supported"}
    in_process = [float(m[1]) for _, text in sslyze_runs if (m := SCAN_SECONDS.search(text))]
    return {
        "sslyze": sslyze,
        "runs_each": repeat,
        "sslyze_whole_process_ms_median": round(
            statistics.median(s for s, _ in sslyze_runs) * 1000
        ),
        "sslyze_curve_scan_in_process_ms_median": round(statistics.median(in_process) * 1000, 1)
        if in_process
        else None,
        "assure_check_tls_whole_process_ms_median": round(
            statistics.median(s for s, _ in assure_runs) * 1000
        ),
        "groups_both_see": sorted(sslyze_saw & assure_saw),
        "groups_only_assure_sees": sorted(assure_saw - sslyze_saw),
        "groups_only_sslyze_sees": sorted(sslyze_saw - assure_saw),
    }
