"""Scoring one subject does the same database work in a small estate and a ten times larger one.

Work is counted as SQLite virtual-machine steps (a progress handler), which is deterministic and
independent of the machine's speed: a query that ranks every assessment or reads every check run
grows with the estate, one that reads only the subject's rows does not.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import select

from frameworks.loader import default_framework
from kernel.settings import load_settings
from posture.scoring.columns import load_arrays
from posture.scoring.service import explain_entity, score_estate
from posture.scoring.subjects import SubjectFilter
from posture.scoring.tables import framework_tables
from posture.storage import migrate
from posture.storage.engine import build_engine, session_factory, transaction
from posture.storage.models import CheckRun
from tests.scoring.estate_with_runs import AS_OF, seed_with_runs

STEP = 100  # VM instructions per tick


def _ticks_to_score_subjects(folder: Path, suppliers: int) -> int:
    engine = build_engine(load_settings({"ASSURE_DATA_DIR": str(folder)}))
    migrate.upgrade(engine)
    sessions = session_factory(engine)
    with transaction(sessions) as session:
        seed_with_runs(session, suppliers=suppliers, runs=60)
    with sessions() as session:
        # The same kind of subjects in both estates: the first products with check runs.
        products = session.scalars(
            select(CheckRun.product_id)
            .where(CheckRun.product_id.is_not(None))
            .distinct()
            .order_by(CheckRun.product_id)
            .limit(4)
        ).all()
        assert len(products) == 4
        explain_entity(session, f"product:{products[0]}", AS_OF)  # framework registered
        driver = session.connection().connection.driver_connection
        ticks = [0]

        def tick() -> int:
            ticks[0] += 1
            return 0

        driver.set_progress_handler(tick, STEP)
        try:
            for product_id in products:
                explain_entity(session, f"product:{product_id}", AS_OF)
                score_estate(session, AS_OF, entity=f"product:{product_id}")
        finally:
            driver.set_progress_handler(None, 0)
    engine.dispose()
    return ticks[0]


def test_one_subjects_score_costs_the_same_in_a_ten_times_larger_estate(tmp_path: Path) -> None:
    small = _ticks_to_score_subjects(tmp_path / "small", 20)
    large = _ticks_to_score_subjects(tmp_path / "large", 200)
    assert small > 0
    # Index lookups deepen a little with size; anything that scans the estate grows ~10x.
    assert large <= small * 1.3 + 20, (small, large)


def test_a_subject_filter_with_no_subjects_reads_nothing(tmp_path: Path) -> None:
    engine = build_engine(load_settings({"ASSURE_DATA_DIR": str(tmp_path)}))
    migrate.upgrade(engine)
    sessions = session_factory(engine)
    with transaction(sessions) as session:
        seed_with_runs(session, suppliers=10, runs=5)
    loaded = default_framework()
    with sessions() as session:
        rows = load_arrays(
            session, loaded, framework_tables(loaded), date(2026, 11, 1), SubjectFilter()
        )
    assert rows.subjects == []
    assert len(rows) == 0
    engine.dispose()
