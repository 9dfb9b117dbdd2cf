"""Script run time of the dashboards page with the 10,000-product demo estate (AppTest).

Target (issue 10): each dashboard page's script run under 1 s. The baseline, run in the same
process, is an AppTest run of a page that only draws a title: the fixed cost of a script run,
so the ratio says how much the dashboards add to it.

    python -m benchmarks.bench_pages [--suppliers 10000] [--repeat 5]

The estate is seeded and snapshotted twice (a month apart) first; that is not timed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

from streamlit.testing.v1 import AppTest

from frameworks.loader import default_framework
from kernel.settings import load_settings
from posture.audit import Actor
from posture.demo.seed import seed_demo
from posture.identity.permissions import Membership, Principal
from posture.scoring.service import score_estate
from posture.scoring.snapshots import store_snapshots
from posture.storage import migrate
from posture.storage.engine import build_engine, session_factory, transaction
from posture.storage.models.enums import Role

RUNS = (date(2026, 10, 1), date(2026, 11, 1))


def prepare_estate(folder: Path, suppliers: int) -> dict[str, tuple[str, str]]:
    """Seed and snapshot the demo estate in `folder`; returns role -> (email, password)."""
    engine = build_engine(load_settings({"ASSURE_DATA_DIR": str(folder)}))
    migrate.upgrade(engine)
    sessions = session_factory(engine)
    with transaction(sessions) as session:
        seeded = seed_demo(session, suppliers, seed=1, as_of=RUNS[-1], with_logins=True)
    for as_of in RUNS:
        with transaction(sessions) as session:
            scores = score_estate(session, as_of)
            taken_at = datetime(as_of.year, as_of.month, as_of.day, 6, tzinfo=UTC)
            store_snapshots(session, Actor("benchmark"), default_framework(), scores, taken_at)
    engine.dispose()
    return {login.role: (login.email, login.password) for login in seeded.logins}


def _baseline() -> None:
    import streamlit as st

    st.title("Baseline")


def _dashboards() -> None:
    from ui.pages.dashboards import dashboards_page

    dashboards_page()


def _time_runs(script, repeat: int) -> tuple[list[float], AppTest]:  # type: ignore[no-untyped-def]
    principal = Principal(1, "bench@example.police.uk", (Membership(1, Role.NATIONAL_ASSESSOR),))
    app = AppTest.from_function(script, default_timeout=120)
    app.session_state["assure_principal"] = principal
    app.run()  # the first run warms imports and the engine cache; users pay it once per process
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        app.run()
        times.append(time.perf_counter() - started)
    if app.exception:
        raise SystemExit(f"page failed: {app.exception[0].value}")
    return times, app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--suppliers", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        prepare_estate(Path(folder), args.suppliers)
        prepare_seconds = time.perf_counter() - started
        os.environ["ASSURE_DATA_DIR"] = folder
        baseline, _ = _time_runs(_baseline, args.repeat)
        dashboards, app = _time_runs(_dashboards, args.repeat)
        league_rows = len(app.dataframe[0].value)
        app.multiselect[0].set_value(["D", "E"])
        started = time.perf_counter()
        app.run()
        filtered_seconds = time.perf_counter() - started
    median = statistics.median(dashboards)
    print(
        json.dumps(
            {
                "benchmark": "dashboards_page",
                "suppliers": args.suppliers,
                "prepare_seconds": round(prepare_seconds, 1),
                "baseline_median_seconds": round(statistics.median(baseline), 4),
                "dashboards_median_seconds": round(median, 4),
                "dashboards_max_seconds": round(max(dashboards), 4),
                "filtered_run_seconds": round(filtered_seconds, 4),
                "league_rows_on_page": league_rows,
                "ratio_vs_baseline": round(median / statistics.median(baseline), 1),
                "target_seconds": 1.0,
                "meets_target": median < 1.0,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
