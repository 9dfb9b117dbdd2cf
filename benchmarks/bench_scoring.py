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
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
from sqlalchemy.orm import Session, sessionmaker

from benchmarks.answer_churn import change_answers
from frameworks.loader import LoadedFramework, default_framework
from kernel.settings import load_settings
from posture.demo.seed import seed_demo
from posture.scoring.answer_cache import EncodingUse
from posture.scoring.columns import load_arrays
from posture.scoring.encode import encode
from posture.scoring.engine import score_arrays
from posture.scoring.load import load_estate
from posture.scoring.reference import score_reference
from posture.scoring.tables import FrameworkTables, framework_tables
from posture.storage import migrate
from posture.storage.engine import build_engine, session_factory, transaction
from posture.storage.models import CheckRun

AS_OF = date(2026, 11, 1)


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 4)


def _timed(
    sessions: sessionmaker[Session],
    loaded: LoadedFramework,
    tables: FrameworkTables,
    repeat: int,
    encodings: EncodingUse,
) -> dict:
    timed: dict = {"load": [], "engine": [], "whole": []}
    for _ in range(repeat):
        with transaction(sessions) as session:
            started = time.perf_counter()
            rows = load_arrays(session, loaded, tables, AS_OF, encodings=encodings)
            loaded_at = time.perf_counter()
            result = score_arrays(rows, tables)
            finished = time.perf_counter()
        timed["load"].append(loaded_at - started)
        timed["engine"].append(finished - loaded_at)
        timed["whole"].append(finished - started)
    return timed | {"rows": rows, "result": result}


def _churn(sessions: sessionmaker[Session], share: float, round_: int) -> int:
    with transaction(sessions) as session:
        return change_answers(session, share, round_, datetime(2026, 10, 30, tzinfo=UTC))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--suppliers", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--database-url", default=None)
    parser.add_argument(
        "--churn",
        type=float,
        default=0.02,
        help="share of current assessments whose answers change between runs",
    )
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

        # Three ways the app meets the estate: with no answer encodings kept (the first run, or
        # encodings off), with every encoding current (a rerun), and after a working day's
        # changes to a share of the assessments' answers (encodings kept by the last run).
        fresh = _timed(sessions, loaded, tables, args.repeat, "off")
        result = fresh["result"]
        rows = fresh["rows"]
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
        with transaction(sessions) as session:
            load_arrays(session, loaded, tables, AS_OF, encodings="keep")
        kept = _timed(sessions, loaded, tables, args.repeat, "read")
        changed = []
        churn_rows = []
        for round_ in range(args.repeat):
            churn_rows.append(_churn(sessions, args.churn, round_))
            changed.append(_timed(sessions, loaded, tables, 1, "keep"))
        churned = {key: [run[key][0] for run in changed] for key in ("load", "engine", "whole")}
        # The last changed round, kept, against a read with no encodings at all.
        after_check = _timed(sessions, loaded, tables, 1, "off")

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
    reference_seconds = object_load + loop_seconds
    identical = (
        identical
        and np.array_equal(kept["result"].score, result.score)
        and np.array_equal(changed[-1]["result"].score, after_check["result"].score)
        and np.array_equal(changed[-1]["rows"].age_days, after_check["rows"].age_days)
    )

    def path(timed: dict) -> dict:
        whole = statistics.median(timed["whole"])
        return {
            "whole_path_seconds_median": round(whole, 4),
            "load_seconds_median": _median(timed["load"]),
            "engine_seconds_median": _median(timed["engine"]),
            "ratio_object_load_and_loop_over_whole_path": round(reference_seconds / whole, 1),
            "ratio_loop_over_whole_path": round(loop_seconds / whole, 1),
            "meets_targets": identical and whole < 1.5 and reference_seconds / whole >= 10,
        }

    peak_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    report = {
        "benchmark": "scoring",
        "backend": engine.dialect.name,
        "subjects": len(result.subjects),
        "rows": len(rows),
        "check_runs": check_runs,
        "rows_with_check_evidence": int((rows.check_level >= 0).sum()),
        "no_encodings_kept": path(fresh),
        "encodings_current": path(kept),
        "after_changes": {
            "assessments_changed_per_round": statistics.median(churn_rows),
            **path(churned),
        },
        "reference": {
            "object_load_seconds": round(object_load, 3),
            "encode_seconds": round(encode_seconds, 3),
            "loop_seconds": round(loop_seconds, 3),
        },
        "process_peak_rss_mib": round(peak_rss_mib, 1),
        "identical_results": identical,
        "targets": {"whole_path_seconds": 1.5, "ratio": 10},
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
