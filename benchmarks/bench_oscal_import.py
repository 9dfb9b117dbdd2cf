"""Import a 1 MB+ OSCAL catalog (NIST SP 800-53 rev5 LOW, 1.2 MB) and compare with a bare parse.

Target (issue 3): importing a catalog of 1 MB or more takes under 5 s. The baseline is json.loads
plus trestle's model parse with no schema validation or conversion, in the same process, so the
ratio shows what validation and conversion cost.

    python -m benchmarks.bench_oscal_import [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from trestle.oscal.catalog import Catalog

from frameworks.oscal.importer import read_oscal_catalog

FIXTURE = (
    Path(__file__).resolve().parents[1]
    / "tests/data/oscal/NIST_SP-800-53_rev5_LOW-baseline-resolved-profile_catalog-min.json"
)


def _timed(func) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    func()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    read_oscal_catalog(FIXTURE)  # warm caches: schema compile, regex compile
    engine = [_timed(lambda: read_oscal_catalog(FIXTURE)) for _ in range(args.repeat)]
    baseline = [
        _timed(lambda: Catalog.model_validate(json.loads(FIXTURE.read_bytes())["catalog"]))
        for _ in range(args.repeat)
    ]
    imported = read_oscal_catalog(FIXTURE)
    report = {
        "benchmark": "oscal_import",
        "file_bytes": FIXTURE.stat().st_size,
        "controls": imported.control_count,
        "import_seconds_median": statistics.median(engine),
        "baseline_parse_seconds_median": statistics.median(baseline),
        "ratio_import_over_baseline": statistics.median(engine) / statistics.median(baseline),
        "target_seconds": 5,
        "meets_target": max(engine) < 5,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
