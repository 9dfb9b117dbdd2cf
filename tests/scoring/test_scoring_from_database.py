"""Scoring reads the estate from the database as it stood on a date, including check findings."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from frameworks.loader import default_framework
from kernel.errors import ValidationFailed
from posture.audit import Actor
from posture.demo.seed import seed_demo
from posture.scoring.service import explain_entity, score_estate
from posture.scoring.snapshots import store_snapshots
from posture.storage.engine import transaction
from posture.storage.models import (
    Answer,
    Assessment,
    AuditEvent,
    CheckRun,
    Finding,
    PostureSnapshot,
)
from posture.storage.models.posture import PostureSnapshotObjective

AS_OF = date(2026, 11, 1)


@pytest.fixture
def seeded(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    with transaction(sessions) as session:
        seed_demo(session, suppliers=15, seed=21, as_of=AS_OF)
    return sessions


def test_every_force_and_product_is_scored_once(seeded: sessionmaker[Session]) -> None:
    with seeded() as session:
        scores = score_estate(session, AS_OF)
    keys = [s.key for s in scores.subjects]
    assert len(keys) == len(set(keys)) == 43 + 15
    assert all(0 <= value <= 100 for value in scores.score)


def test_the_estate_on_an_earlier_date_uses_the_assessment_current_then(
    seeded: sessionmaker[Session],
) -> None:
    with seeded() as session:
        force_id = session.scalar(
            select(Assessment.organisation_id).where(Assessment.product_id.is_(None)).limit(1)
        )
        early = score_estate(session, date(2025, 3, 1), entity=f"org:{force_id}")
        late = score_estate(session, AS_OF, entity=f"org:{force_id}")
        versions = session.scalars(
            select(Assessment.id)
            .where(Assessment.organisation_id == force_id, Assessment.product_id.is_(None))
            .order_by(Assessment.version)
        ).all()
    assert early.subjects[0].assessment_id != late.subjects[0].assessment_id
    assert late.subjects[0].assessment_id == versions[-1]


def _claim_everything_on_c3b(session: Session, product_id: int) -> None:
    assessment_id = session.scalar(
        select(func.max(Assessment.id)).where(Assessment.product_id == product_id)
    )
    outcome = default_framework().framework.outcome("C3.b")
    answer = session.scalar(
        select(Answer).where(Answer.assessment_id == assessment_id, Answer.outcome_id == "C3.b")
    )
    assert answer is not None
    answer.indicators_met = [
        i.id for i in outcome.indicators.partially_achieved + outcome.indicators.achieved
    ]
    answer.not_applicable = False
    answer.provenance = "self_asserted"


def _tls_check_finding_no_pq(session: Session, product_id: int, organisation_id: int) -> int:
    when = datetime(2026, 10, 20, tzinfo=UTC)
    run = CheckRun(
        organisation_id=organisation_id,
        product_id=product_id,
        kind="tls",
        target="portal.example:443",
        status="succeeded",
        score=20.0,
        created_at=when,
        started_at=when,
        finished_at=when,
    )
    session.add(run)
    session.flush()
    session.add(
        Finding(
            check_run_id=run.id,
            code="PQC-TLS-001",
            severity="high",
            title="No hybrid or quantum-safe key exchange offered",
            evidence={"groups": ["x25519"]},
            advice="Enable X25519MLKEM768.",
            outcome_ids=["C3.b"],
        )
    )
    return run.id


def test_a_tls_finding_contradicts_a_post_quantum_claim_end_to_end(
    seeded: sessionmaker[Session],
) -> None:
    with transaction(seeded) as session:
        product = session.scalar(select(Assessment).where(Assessment.product_id.is_not(None)))
        assert product is not None
        assert product.product_id is not None
        product_id, organisation_id = product.product_id, product.organisation_id
        _claim_everything_on_c3b(session, product_id)
        run_id = _tls_check_finding_no_pq(session, product_id, organisation_id)
    with seeded() as session:
        report = explain_entity(session, f"product:{product_id}", AS_OF)
    (contradiction,) = report["contradicted"]
    assert contradiction["outcome"] == "C3.b"
    assert contradiction["claimed"] == "achieved"
    assert contradiction["status"] == "not achieved"
    assert contradiction["contradicted_by"]["finding"] == "PQC-TLS-001"
    assert contradiction["contradicted_by"]["check_run_id"] == run_id
    assert report["framework"] == {
        "id": "ptsbd",
        "version": "1.0",
        "content_sha256": default_framework().content_sha256,
    }


def test_snapshots_are_stored_with_an_audit_event(seeded: sessionmaker[Session]) -> None:
    taken = datetime(2026, 11, 1, 6, tzinfo=UTC)
    with transaction(seeded) as session:
        scores = score_estate(session, AS_OF)
        stored = store_snapshots(session, Actor("tester"), default_framework(), scores, taken)
    with seeded() as session:
        assert session.scalar(select(func.count()).select_from(PostureSnapshot)) == stored == 58
        snapshot = session.scalar(
            select(PostureSnapshot).where(PostureSnapshot.product_id.is_(None))
        )
        assert snapshot is not None
        assert snapshot.taken_at == taken
        objectives = session.scalars(
            select(PostureSnapshotObjective.objective_id).where(
                PostureSnapshotObjective.snapshot_id == snapshot.id
            )
        )
        assert set(objectives) == {"A", "B", "C", "D", "E"}
        actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
        assert actions[-1] == "posture.snapshot"


def test_an_unknown_entity_is_refused_by_name(seeded: sessionmaker[Session]) -> None:
    with seeded() as session, pytest.raises(ValidationFailed, match="no entity 'atlantis'"):
        score_estate(session, AS_OF, entity="atlantis")
    with seeded() as session, pytest.raises(ValidationFailed, match="no product 99999"):
        score_estate(session, AS_OF, entity="product:99999")
