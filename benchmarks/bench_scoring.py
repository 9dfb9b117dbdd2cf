"""Score the whole demo estate the way the app does (columnar load, then the engine) and the way
the per-answer reference loop does, on the same database, in one run.

Targets (issue 20), 43 forces plus 10,000 products with check runs: the whole path (load and
engine together) under 1.5 s and at least 10x the reference loop over the same rows; each phase
reported. The loop is reported two ways: the loop alone over rows already in memory, and the loop
with the object load it needs. Both paths must give identical results.

    python -m benchmarks.bench_scoring [--suppliers 10000] [--repeat 5] [--database-url URL]

The estate is seeded first (not timed). With --database-url the estate goes into that database,
which must be empty (PostgreSQL: a fresh schema or database).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np

from frameworks.loader import default_framework
from kernel.settings import load_settings
from posture.demo.seed import seed_demo
from posture.scoring.columns import load_arrays
from posture.scoring.encode import encode
from posture.scoring.engine import score_arrays
from posture.scoring.load import load_estate
from posture.scoring.reference import score_reference
from posture.scoring.tables import framework_tables
from posture.storage import migrate
from posture.storage.engine import build_engine, session_factory, transaction
from posture.storage.models import CheckRun

AS_OF = date(2026, 11, 1)


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--suppliers", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    loaded = default_framework()
    tables = framework_tables(loaded)
    with tempfile.TemporaryDirectory() as folder:
        environ = {"ASSURE_DATA_DIR": str(Path(folder))}
        if args.database_url:
            environ["ASSURE_DATABASE_URL"] = args.database_url
        engine = build_engine(load_settings(environ))
        migrate.upgrade(engine)
        sessions = session_factory(engine)
        with transaction(sessions) as session:
            seed_demo(session, args.suppliers, seed=1, as_of=AS_OF)
        with sessions() as session:
            check_runs = session.query(CheckRun).count()

        loads, engines, wholes = [], [], []
        for _ in range(args.repeat):
            with sessions() as session:
                started = time.perf_counter()
                rows = load_arrays(session, loaded, tables, AS_OF)
                loaded_at = time.perf_counter()
                result = score_arrays(rows, tables)
                finished = time.perf_counter()
            loads.append(loaded_at - started)
            engines.append(finished - loaded_at)
            wholes.append(finished - started)

        with sessions() as session:
            started = time.perf_counter()
            estate = load_estate(session, loaded, AS_OF)
            object_load = time.perf_counter() - started
        started = time.perf_counter()
        encoded = encode(estate, tables)
        encode_seconds = time.perf_counter() - started
        started = time.perf_counter()
        reference = score_reference(estate, loaded)
        loop_seconds = time.perf_counter() - started
        engine.dispose()

    identical = (
        np.array_equal(result.score, reference.score)
        and result.band == reference.band
        and np.array_equal(result.row_final, reference.row_final)
        and np.allclose(result.confidence, reference.confidence, rtol=1e-9)
        and all(
            np.array_equal(getattr(rows, name), getattr(encoded, name))
            for name in ("met", "provenance", "age_days", "check_level", "check_age_days")
        )
    )
    whole = statistics.median(wholes)
    peak_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    report = {
        "benchmark": "scoring",
        "backend": engine.dialect.name,
        "subjects": len(result.subjects),
        "rows": len(rows),
        "check_runs": check_runs,
        "rows_with_check_evidence": int((rows.check_level >= 0).sum()),
        "whole_path_seconds_median": round(whole, 4),
        "columnar_load_seconds_median": _median(loads),
        "engine_seconds_median": _median(engines),
        "reference": {
            "object_load_seconds": round(object_load, 3),
            "encode_seconds": round(encode_seconds, 3),
            "loop_seconds": round(loop_seconds, 3),
        },
        "ratio_loop_over_whole_path": round(loop_seconds / whole, 1),
        "ratio_object_load_and_loop_over_whole_path": round(
            (object_load + loop_seconds) / whole, 1
        ),
        "process_peak_rss_mib": round(peak_rss_mib, 1),
        "identical_results": identical,
        "targets": {"whole_path_seconds": 1.5, "ratio": 10},
        "meets_targets": identical and whole < 1.5 and loop_seconds / whole >= 10,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
