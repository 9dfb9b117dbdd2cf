"""Seed the demo estate with N suppliers and compare with a plain ORM unit-of-work baseline.

Target (issue 2): 10,000 suppliers on SQLite in under 60 s. The baseline writes the same rows
through `Session.add_all` on a slice of the estate, so the ratio compares rows per second.

    python -m benchmarks.bench_demo_seed --suppliers 10000 [--baseline-suppliers 1000]
"""

from __future__ import annotations

import argparse
import json
import resource
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
from posture.storage.models import Answer, Assessment, Membership, Organisation, Product, User

AS_OF = date(2026, 11, 1)
MODELS = (
    ("organisations", Organisation),
    ("users", User),
    ("memberships", Membership),
    ("products", Product),
    ("assessments", Assessment),
    ("answers", Answer),
)


def _fresh_sessions(folder: Path):
    engine = build_engine(load_settings({"ASSURE_DATA_DIR": str(folder)}))
    migrate.upgrade(engine)
    return engine, session_factory(engine)


def run_engine(suppliers: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        engine, sessions = _fresh_sessions(Path(folder))
        started = time.perf_counter()
        with transaction(sessions) as session:
            result = seed_demo(session, suppliers, seed=1, as_of=AS_OF)
        seconds = time.perf_counter() - started
        # Whole-process high-water mark: tracemalloc would slow the run several-fold.
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        engine.dispose()
    rows = sum(result.counts.values())
    return {
        "seconds": seconds,
        "rows": rows,
        "rows_per_s": rows / seconds,
        "peak_mib": peak / 2**20,
    }


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
    parser.add_argument("--baseline-suppliers", type=int, default=1_000)
    args = parser.parse_args()
    engine = run_engine(args.suppliers)
    baseline = run_baseline(args.baseline_suppliers)
    report = {
        "benchmark": "demo_seed_sqlite",
        "suppliers": args.suppliers,
        "engine": engine,
        "baseline_orm": {"suppliers": args.baseline_suppliers, **baseline},
        "ratio_rows_per_s": engine["rows_per_s"] / baseline["rows_per_s"],
        "target_seconds": 60,
        "meets_target": engine["seconds"] < 60,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
