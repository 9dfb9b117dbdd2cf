"""Seed the demo estate (check runs included) at 10,000 suppliers and, with --large, at 100,000
in the same run, each in a fresh process so its peak RSS is its own; compare with a plain ORM
unit-of-work baseline.

Targets: 10,000 suppliers on SQLite in under 60 s (issue 2); 100,000 completes with bounded
memory in at most 12x the time of 10,000, i.e. linear (issue 20). The baseline writes the same
rows through `Session.add_all` on a slice of the estate, so the ratio compares rows per second.

    python -m benchmarks.bench_demo_seed [--suppliers 10000] [--large 100000]
        [--baseline-suppliers 1000]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from frameworks.loader import default_framework
from kernel.settings import load_settings
from posture.demo.estate import build_estate
from posture.demo.seed import seed_demo
from posture.storage import migrate
from posture.storage.engine import build_engine, session_factory, transaction
from posture.storage.models import (
    Answer,
    Assessment,
    CheckRun,
    Finding,
    Membership,
    Organisation,
    Product,
    User,
)

AS_OF = date(2026, 11, 1)
MODELS = (
    ("organisations", Organisation),
    ("users", User),
    ("memberships", Membership),
    ("products", Product),
    ("assessments", Assessment),
    ("answers", Answer),
    ("check_runs", CheckRun),
    ("findings", Finding),
)
LINEAR_FACTOR = 12  # 10x the suppliers in at most 12x the time


def _fresh_sessions(folder: Path):
    engine = build_engine(load_settings({"ASSURE_DATA_DIR": str(folder)}))
    migrate.upgrade(engine)
    return engine, session_factory(engine)


def run_engine(suppliers: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        engine, sessions = _fresh_sessions(Path(folder))
        started, cpu_started = time.perf_counter(), time.process_time()
        with transaction(sessions) as session:
            result = seed_demo(session, suppliers, seed=1, as_of=AS_OF)
        seconds = time.perf_counter() - started
        # CPU seconds too: on a shared machine the wall clock also measures the neighbours.
        cpu_seconds = time.process_time() - cpu_started
        # Whole-process high-water mark: tracemalloc would slow the run several-fold.
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        engine.dispose()
    rows = sum(result.counts.values())
    return {
        "suppliers": suppliers,
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "rows": rows,
        "rows_per_s": rows / seconds,
        "peak_rss_mib": peak / 2**20,
        "counts": result.counts,
    }


def run_engine_in_child(suppliers: int) -> dict[str, float]:
    """A fresh interpreter per size: ru_maxrss is a process's high-water mark."""
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_demo_seed", "--one", str(suppliers)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout)


def run_baseline(suppliers: int) -> dict[str, float]:
    loaded = default_framework()
    with tempfile.TemporaryDirectory() as folder:
        engine, sessions = _fresh_sessions(Path(folder))
        started = time.perf_counter()
        with transaction(sessions) as session:
            from posture.framework_registry import register_framework

            row = register_framework(session, loaded)
            estate = build_estate(loaded.framework, loaded.profiles, row.id, suppliers, 1, AS_OF)
            for name, model in MODELS:
                session.add_all(model(**values) for values in getattr(estate, name))
                session.flush()
        seconds = time.perf_counter() - started
        engine.dispose()
    rows = sum(estate.counts().values())
    return {"seconds": seconds, "rows": rows, "rows_per_s": rows / seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--suppliers", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=0, help="also seed this many (100000)")
    parser.add_argument("--baseline-suppliers", type=int, default=1_000)
    parser.add_argument("--one", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_engine(args.one)))
        return
    engine = run_engine_in_child(args.suppliers)
    baseline = run_baseline(args.baseline_suppliers)
    report: dict[str, object] = {
        "benchmark": "demo_seed_sqlite",
        "suppliers": args.suppliers,
        "engine": engine,
        "baseline_orm": {"suppliers": args.baseline_suppliers, **baseline},
        "ratio_rows_per_s": engine["rows_per_s"] / baseline["rows_per_s"],
        "target_seconds": 60,
        "meets_target": engine["seconds"] < 60,
    }
    if args.large:
        large = run_engine_in_child(args.large)
        size_ratio = args.large / args.suppliers
        time_ratio = large["seconds"] / engine["seconds"]
        cpu_ratio = large["cpu_seconds"] / engine["cpu_seconds"]
        allowed = LINEAR_FACTOR * size_ratio / 10
        report["large"] = {
            **large,
            "time_ratio": time_ratio,
            "cpu_time_ratio": cpu_ratio,
            "size_ratio": size_ratio,
            "target_time_ratio": allowed,
            "meets_linear_target": time_ratio <= allowed,
            "peak_rss_ratio": large["peak_rss_mib"] / engine["peak_rss_mib"],
        }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
