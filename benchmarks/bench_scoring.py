"""Score the whole demo estate with the vectorised engine and with the per-answer Python loop.

Targets (issue 4), 43 forces plus 10,000 products, every outcome: engine under 1 s, at least 30x
faster than the loop, peak memory under 1 GiB; both must give identical results.

    python -m benchmarks.bench_scoring [--suppliers 10000] [--repeat 5]

The estate is seeded into a fresh SQLite database first (not timed with the scoring).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import tempfile
import time
import tracemalloc
from datetime import date
from pathlib import Path

import numpy as np

from frameworks.loader import default_framework
from kernel.settings import load_settings
from posture.demo.seed import seed_demo
from posture.scoring.encode import encode
from posture.scoring.engine import score_arrays
from posture.scoring.load import load_estate
from posture.scoring.reference import score_reference
from posture.scoring.tables import framework_tables
from posture.storage import migrate
from posture.storage.engine import build_engine, session_factory, transaction

AS_OF = date(2026, 11, 1)


def _seeded_estate(folder: Path, suppliers: int):  # type: ignore[no-untyped-def]
    engine = build_engine(load_settings({"ASSURE_DATA_DIR": str(folder)}))
    migrate.upgrade(engine)
    sessions = session_factory(engine)
    with transaction(sessions) as session:
        seed_demo(session, suppliers, seed=1, as_of=AS_OF)
    started = time.perf_counter()
    with sessions() as session:
        estate = load_estate(session, default_framework(), AS_OF)
    load_seconds = time.perf_counter() - started
    engine.dispose()
    return estate, load_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--suppliers", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    loaded = default_framework()
    tables = framework_tables(loaded)
    with tempfile.TemporaryDirectory() as folder:
        estate, load_seconds = _seeded_estate(Path(folder), args.suppliers)

    started = time.perf_counter()
    rows = encode(estate, tables)
    encode_seconds = time.perf_counter() - started

    tracemalloc.start()
    engine_result = score_arrays(rows, tables)
    engine_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    engine_times = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        engine_result = score_arrays(rows, tables)
        engine_times.append(time.perf_counter() - started)

    started = time.perf_counter()
    loop_result = score_reference(estate, loaded)
    loop_seconds = time.perf_counter() - started

    identical = (
        np.array_equal(engine_result.score, loop_result.score)
        and engine_result.band == loop_result.band
        and np.array_equal(engine_result.row_final, loop_result.row_final)
        and np.allclose(engine_result.confidence, loop_result.confidence, rtol=1e-9)
    )
    assert identical, "engine and reference loop disagree"
    engine_seconds = statistics.median(engine_times)
    peak_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    report = {
        "benchmark": "scoring",
        "subjects": len(estate.subjects),
        "rows": len(rows),
        "load_from_sqlite_seconds": round(load_seconds, 3),
        "encode_seconds": round(encode_seconds, 3),
        "engine_seconds_median": round(engine_seconds, 4),
        "loop_seconds": round(loop_seconds, 3),
        "ratio_loop_over_engine": round(loop_seconds / engine_seconds, 1),
        "engine_peak_traced_mib": round(engine_peak / 2**20, 1),
        "process_peak_rss_mib": round(peak_rss_mib, 1),
        "identical_results": identical,
        "targets": {"engine_seconds": 1.0, "ratio": 30, "peak_mib": 1024},
        "meets_targets": engine_seconds < 1.0
        and loop_seconds / engine_seconds >= 30
        and peak_rss_mib < 1024,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
