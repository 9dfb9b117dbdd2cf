"""The hostile corpus through the whole path a worker takes: each input is handed to the
sandbox as a job's file would be, and the benchmark records the outcome, the wall time, the
sandboxed check's peak memory, and that the calling process (the worker) is unharmed.

Target: every hostile input ends with a clear finding or error within 10 s, with a peak under
512 MiB. The baseline is the same path in the same process with genuine inputs of each kind
(the real CBOM, JWKS-like, certificate, OpenAPI and OSCAL fixtures), so the hostile figures can
be read against what a normal check costs.

    python -m benchmarks.bench_hostile_inputs
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from checks.egress import EgressPolicy
from checks.sandbox.limits import MIB
from checks.sandbox.request import SandboxedCheck
from checks.sandbox.run import run_sandboxed
from frameworks.oscal.importer import OscalImportError, read_oscal_catalog
from tests.peers.hostile_inputs import CORPUS, OSCAL_BASIC, HostileInput

ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 10
TARGET_BYTES = 512 * MIB
GENUINE = (
    ("cbom", ROOT / "tests/data/cbom/CBOM_Certificate_bom.json"),
    ("api", ROOT / "tests/data/openapi/twilio_api_v2010.json"),
    ("cert", Path("/etc/ssl/certs/ca-certificates.crt")),
    ("oscal", OSCAL_BASIC),
)


def _status_field(name: str) -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            fields = line.split()
            if fields and fields[0] == name:
                return int(fields[1]) * 1024
    raise RuntimeError(f"{name} not in /proc/self/status")


def _reset_peak() -> None:
    # Writing 5 to clear_refs resets this process's VmHWM, so each in-process case has its own.
    Path("/proc/self/clear_refs").write_text("5")


def _sandboxed(kind: str, raw: bytes) -> dict[str, object]:
    check = SandboxedCheck(kind=kind, file_name=f"supplier.{kind}")  # type: ignore[arg-type]
    report = run_sandboxed(check, EgressPolicy(), raw)
    sandbox = report.details.get("sandbox", {})
    return {
        "status": report.status.value,
        "codes": sorted({f.code for f in report.findings}),
        "detail": next(
            (
                str(f.evidence.get("detail") or f.evidence.get("errors"))[:160]
                for f in report.findings
                if f.code.endswith(("-000", "-004", "-005", "-006")) or f.code == "INPUT-LIMIT"
            ),
            None,
        ),
        "peak_memory_bytes": sandbox.get("peak_memory_bytes"),
        "cpu_seconds": sandbox.get("cpu_seconds"),
    }


def _oscal(raw: bytes) -> dict[str, object]:
    """The importer runs in the CLI's own process, so its peak is this process's."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "catalog.json"
        path.write_bytes(raw)
        _reset_peak()
        try:
            imported = read_oscal_catalog(path)
            outcome: dict[str, object] = {"status": "imported", "controls": imported.control_count}
        except OscalImportError as exc:
            outcome = {"status": "refused", "detail": str(exc).split(": ", 1)[-1][:160]}
        outcome["peak_memory_bytes"] = _status_field("VmHWM:")
    return outcome


def _case(name: str, kind: str, raw: bytes) -> dict[str, object]:
    started = time.perf_counter()
    outcome = _oscal(raw) if kind == "oscal" else _sandboxed(kind, raw)
    seconds = time.perf_counter() - started
    return {"input": name, "kind": kind, "bytes": len(raw), "seconds": round(seconds, 3), **outcome}


def _expected(item: HostileInput, case: dict[str, object]) -> bool:
    if item.kind == "oscal":
        return case["status"] == "refused"
    if item.refused_with:
        return case["status"] == "not_assessable" and case["codes"] == list(item.refused_with)
    return case["status"] == "completed"


def main() -> None:
    baseline = [
        _case(f"genuine {kind}: {path.name}", kind, path.read_bytes()) for kind, path in GENUINE
    ]
    hostile = []
    for item in CORPUS:
        case = _case(item.name, item.kind, item.build())
        peak = case.get("peak_memory_bytes")
        case["as_expected"] = _expected(item, case)
        case["within_limits"] = (
            float(case["seconds"]) < TARGET_SECONDS
            and isinstance(peak, int)
            and peak < TARGET_BYTES
        )
        hostile.append(case)
    worker_alive = _status_field("VmRSS:")
    report = {
        "benchmark": "hostile_inputs",
        "targets": {"seconds": TARGET_SECONDS, "peak_memory_bytes": TARGET_BYTES},
        "baseline": baseline,
        "hostile": hostile,
        "worker_rss_bytes_after": worker_alive,
        "meets_targets": all(c["as_expected"] and c["within_limits"] for c in hostile),
    }
    print(json.dumps(report, indent=2))
    if not report["meets_targets"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
