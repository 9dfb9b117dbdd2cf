"""Validate CBOMs of 2,000 and 8,000 unique components and one at the 20 MB cap.

Target: a CBOM at MAX_CBOM_BYTES made of unique components is validated in under 5 s. The
baseline is the old path, in the same process: json.loads, then cyclonedx-python-lib's
JsonStrictValidator, whose uniqueItems compares every pair of components. It is quadratic, so it
runs only up to --baseline-max components (about two minutes at 8,000); the 20 MB file would
take it well over ten.

    python -m benchmarks.bench_cbom_validation [--repeat 3] [--baseline-max 8000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from checks.cbom import MAX_CBOM_BYTES, load_cbom
from tests.peers.cboms import unique_cbom

SIZES = (2_000, 8_000)
TARGET_SECONDS = 5


def _timed(func) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    func()
    return time.perf_counter() - started


def _old_path(raw: bytes) -> None:
    json.loads(raw)
    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(raw.decode("utf-8"))
    assert error is None, error


def _case(raw: bytes, repeat: int, baseline: bool) -> dict[str, object]:
    engine = [_timed(lambda: load_cbom(raw)) for _ in range(repeat)]
    case: dict[str, object] = {
        "file_bytes": len(raw),
        "components": len(load_cbom(raw)["components"]),
        "load_cbom_seconds_median": statistics.median(engine),
        "load_cbom_seconds_max": max(engine),
    }
    if baseline:
        seconds = _timed(lambda: _old_path(raw))
        case["baseline_seconds"] = seconds
        case["ratio_baseline_over_load_cbom"] = seconds / statistics.median(engine)
    return case


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--baseline-max", type=int, default=max(SIZES))
    args = parser.parse_args()
    load_cbom(unique_cbom(count=10))  # warm caches: schema compile
    cases = {
        f"{count}_components": _case(
            unique_cbom(count=count), args.repeat, count <= args.baseline_max
        )
        for count in SIZES
    }
    at_cap = _case(unique_cbom(max_bytes=MAX_CBOM_BYTES), args.repeat, baseline=False)
    report = {
        "benchmark": "cbom_validation",
        "cases": {**cases, "size_cap": at_cap},
        "target_seconds": TARGET_SECONDS,
        "meets_target": at_cap["load_cbom_seconds_max"] < TARGET_SECONDS,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
