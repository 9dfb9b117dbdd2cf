"""The dashboards read snapshot columns and the objective side table the same way on SQLite and
PostgreSQL, and what a scoring run stores reads back as it was scored."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from frameworks.loader import default_framework
from posture.audit import Actor
from posture.dashboards import product_objectives, product_standings, weakest_objectives
from posture.demo.seed import seed_demo
from posture.identity.permissions import Membership, Principal
from posture.scoring.service import score_estate
from posture.scoring.snapshots import store_snapshots
from posture.storage.engine import transaction
from posture.storage.models import Organisation, PostureSnapshot, Product
from posture.storage.models.enums import Role, SubjectKind
from posture.storage.models.posture import PostureSnapshotObjective
from tests.dashboards.conftest import EARLIER, LATER, add_snapshots


@pytest.fixture
def seeded_sessions(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    with transaction(sessions) as session:
        seed_demo(session, suppliers=15, seed=21, as_of=date(2026, 11, 1))
    return sessions


ASSESSOR = Principal(1, "n@example.police.uk", (Membership(999, Role.NATIONAL_ASSESSOR),))


def _vault(session: Session) -> tuple[int, int]:
    supplier = Organisation(slug="vault-co", name="Vault Co", kind="supplier")
    session.add(supplier)
    session.flush()
    product = Product(
        organisation_id=supplier.id,
        name="Vault",
        category="digital_evidence",
        deployment_model="saas",
    )
    session.add(product)
    session.flush()
    return supplier.id, product.id


def test_standings_and_objectives_on_each_backend(sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as session:
        supplier_id, product_id = _vault(session)
        subject = {
            "subject_kind": SubjectKind.PRODUCT,
            "organisation_id": supplier_id,
            "product_id": product_id,
            "confidence": 0.5,
        }
        add_snapshots(
            session,
            [
                {**subject, "taken_at": EARLIER, "score": 70.0, "band": "B",
                 "objectives": {"A": 70.0}},
                {**subject, "taken_at": LATER, "score": 55.0, "band": "C", "contradicted": 2,
                 "objectives": {"A": 40.0, "B": None}},
            ],
        )  # fmt: skip
    with sessions() as session:
        standings = product_standings(session, ASSESSOR)
        objectives = product_objectives(session, ASSESSOR)
        weakest = weakest_objectives(session, ASSESSOR)
    row = standings.iloc[0].to_dict()
    assert {k: row[k] for k in ("product", "band", "previous_band", "change", "contradicted")} == {
        "product": "Vault",
        "band": "C",
        "previous_band": "B",
        "change": -15.0,
        "contradicted": 2,
    }
    scored = objectives.dropna().sort_values("objective")
    assert list(scored.itertuples(index=False, name=None)) == [(product_id, "A", 40.0)]
    # B has no score in the latest run: it is listed, without one, and left out of the means.
    assert set(objectives["objective"]) == {"A", "B"}
    assert weakest.to_dict(orient="records") == [
        {"objective": "A", "mean_score": 40.0, "below_50": 1, "subjects": 1}
    ]


def test_a_scoring_run_reads_back_as_it_was_scored(seeded_sessions: sessionmaker[Session]) -> None:
    taken_at = datetime(2026, 11, 1, 6, tzinfo=UTC)
    loaded = default_framework()
    with transaction(seeded_sessions) as session:
        scores = score_estate(session, date(2026, 11, 1))
        stored = store_snapshots(session, Actor("tester"), loaded, scores, taken_at)
    assert stored == len(scores.subjects) > 0
    with seeded_sessions() as session:
        rows = session.execute(
            select(PostureSnapshot).where(PostureSnapshot.taken_at == taken_at)
        ).scalars()
        by_subject = {(row.organisation_id, row.product_id): row for row in rows}
        cells = session.execute(
            select(
                PostureSnapshotObjective.snapshot_id,
                PostureSnapshotObjective.objective_id,
                PostureSnapshotObjective.score,
            )
        ).all()
    objectives: dict[int, dict[str, float | None]] = {}
    for snapshot_id, objective_id, score in cells:
        objectives.setdefault(snapshot_id, {})[objective_id] = score
    assert len(by_subject) == len(scores.subjects)
    for index, subject in enumerate(scores.subjects):
        row = by_subject[(subject.organisation_id, subject.product_id)]
        assert row.subject_kind == subject.kind
        assert (row.score, row.confidence, row.band) == (
            float(scores.score[index]),
            float(scores.confidence[index]),
            scores.band[index],
        )
        assert (row.assessment_id, row.policy_version, row.capped) == (
            subject.assessment_id,
            loaded.scoring.policy_version,
            bool(scores.capped[index]),
        )
        assert (row.contradicted, row.not_applicable, row.gaps) == (
            int(scores.contradicted[index]),
            int(scores.not_applicable[index]),
            int(scores.gaps[index]),
        )
        expected = {
            objective: None if math.isnan(value) else round(float(value), 2)
            for objective, value in zip(
                scores.objective_ids, scores.objective_scores[index], strict=True
            )
        }
        # Each subject's objective rows belong to its own snapshot id, not a neighbour's.
        assert objectives[row.id] == expected
