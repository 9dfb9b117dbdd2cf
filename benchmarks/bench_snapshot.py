"""`assure score --snapshot` as a whole process on the demo estate (with its check runs), at
10,000 suppliers and optionally 100,000: wall time, CPU and the process's peak RSS, with the
seed's own time, and a same-run in-process baseline of the object path (load_estate, encode,
engine) that scoring used before the columnar load.

Targets (issue 20): at 10,000 suppliers under 3 s wall with the store included and peak RSS
under 1 GiB; at 100,000 the seed and the snapshot complete, each within 12x of 10,000. The
targets are judged on the daily run: the second run, a day later, after a share of the
assessments (--churn, 2%) changed. The first run after the seed, with no answer encodings kept
yet, is reported beside it.

    python -m benchmarks.bench_snapshot [--sizes 10000 100000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from benchmarks.answer_churn import change_answers
from frameworks.loader import default_framework
from kernel.settings import load_settings
from posture.demo.seed import seed_demo
from posture.scoring.encode import encode
from posture.scoring.engine import score_arrays
from posture.scoring.load import load_estate
from posture.scoring.tables import framework_tables
from posture.storage import migrate
from posture.storage.engine import build_engine, session_factory, transaction

AS_OF = date(2026, 11, 1)
TARGET_SECONDS = 3.0
TARGET_RSS_MIB = 1024.0
TARGET_GROWTH = 12.0


def _seed(folder: Path, suppliers: int) -> float:
    engine = build_engine(load_settings({"ASSURE_DATA_DIR": str(folder)}))
    migrate.upgrade(engine)
    started = time.perf_counter()
    with transaction(session_factory(engine)) as session:
        seed_demo(session, suppliers, seed=1, as_of=AS_OF)
    engine.dispose()
    return time.perf_counter() - started


def _object_path(folder: Path) -> float:
    engine = build_engine(load_settings({"ASSURE_DATA_DIR": str(folder)}))
    loaded = default_framework()
    tables = framework_tables(loaded)
    with session_factory(engine)() as session:
        started = time.perf_counter()
        score_arrays(encode(load_estate(session, loaded, AS_OF), tables), tables)
        elapsed = time.perf_counter() - started
    engine.dispose()
    return elapsed


def _churn(folder: Path, share: float) -> int:
    """A day's work between two snapshot runs."""
    engine = build_engine(load_settings({"ASSURE_DATA_DIR": str(folder)}))
    with transaction(session_factory(engine)) as session:
        changed = change_answers(session, share, 0, datetime(2026, 11, 1, 9, tzinfo=UTC))
    engine.dispose()
    return changed


def _snapshot(folder: Path, as_of: date = AS_OF) -> dict[str, float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSURE_")}
    env["ASSURE_DATA_DIR"] = str(folder)
    argv = [sys.executable, "-m", "assure_cli.main", "score", "--snapshot"]
    argv += ["--as-of", as_of.isoformat(), "--limit", "1"]
    started = time.perf_counter()
    process = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    output = process.stdout.read().decode() if process.stdout else ""
    errors = process.stderr.read().decode() if process.stderr else ""
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0 or "stored" not in output:
        raise SystemExit(f"assure score --snapshot failed ({process.returncode}): {errors[-2000:]}")
    return {
        "wall_seconds": round(wall, 2),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000])
    parser.add_argument(
        "--churn", type=float, default=0.02, help="share of assessments changed between runs"
    )
    args = parser.parse_args()
    runs = []
    for size in args.sizes:
        with tempfile.TemporaryDirectory() as folder:
            seeded = _seed(Path(folder), size)
            # The first run after the seed has no answer encodings kept; the next day's run
            # finds those the first kept, current except where the day's changes fell.
            first_run = _snapshot(Path(folder))
            changed = _churn(Path(folder), args.churn)
            snapshot = _snapshot(Path(folder), AS_OF + timedelta(days=1))
            runs.append(
                {
                    "suppliers": size,
                    "seed_seconds": round(seeded, 1),
                    "first_run_no_encodings_kept": first_run,
                    "assessments_changed_before_next_run": changed,
                    "snapshot": snapshot,
                    "baseline_object_path_seconds": round(_object_path(Path(folder)), 2),
                }
            )
    first = runs[0]
    met = {
        "seconds": first["snapshot"]["wall_seconds"] < TARGET_SECONDS,
        "peak_rss": first["snapshot"]["peak_rss_mib"] < TARGET_RSS_MIB,
    }
    growth = {}
    if len(runs) > 1:
        last = runs[-1]
        growth = {
            "seed": round(last["seed_seconds"] / first["seed_seconds"], 2),
            "snapshot": round(
                last["snapshot"]["wall_seconds"] / first["snapshot"]["wall_seconds"], 2
            ),
        }
        met["growth"] = max(growth.values()) <= TARGET_GROWTH
    print(
        json.dumps(
            {
                "benchmark": "snapshot",
                "runs": runs,
                "growth_largest_over_smallest": growth,
                "targets": {
                    "wall_seconds": TARGET_SECONDS,
                    "peak_rss_mib": TARGET_RSS_MIB,
                    "growth": TARGET_GROWTH,
                },
                "met": met,
                "meets_targets": all(met.values()),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
