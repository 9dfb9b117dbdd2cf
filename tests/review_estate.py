"""A small seeded estate with a review queue to page through: a national assessor (whose own
organisation has an answer waiting too), contradictions made by recording check runs as a real
check records them, and an oracle that finds the contradictions the slow, obvious way."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from checks.findings import finding
from checks.report import CheckReport, ReportStatus
from frameworks.loader import default_framework
from posture.audit import Actor
from posture.check_runs import record_check_run
from posture.demo.seed import seed_demo
from posture.framework_registry import register_framework
from posture.identity.permissions import Membership, Principal
from posture.scoring.encode import encode
from posture.scoring.engine import score_arrays
from posture.scoring.load import load_estate
from posture.scoring.subjects import SubjectFilter
from posture.scoring.tables import framework_tables
from posture.storage.models import Answer, Assessment, Organisation, User
from posture.storage.models import Membership as MembershipRow
from posture.storage.models.enums import OrgKind, Role
from supplier_portal.review_queue import REVIEWABLE

AS_OF = date(2026, 11, 1)
TODAY = date(2026, 12, 1)
NOON = datetime(2026, 11, 1, 12, tzinfo=UTC)
# A high-severity TLS finding caps C3.b below "achieved" (checks/data/findings.yaml).
CAPPING_CODE, CAPPED_OUTCOME = "PQC-TLS-001", "C3.b"


@dataclass(frozen=True)
class ReviewEstate:
    assessor: Principal
    own_assessment_id: int  # waiting in the assessor's own organisation
    contradicted_answer_ids: list[int]  # made contradicted on purpose
    withdrawn_answer_id: int  # the same claim, but a newer clean run replaced the finding


def _claim_everything(session: Session, assessment: Assessment, outcome_id: str) -> int:
    """The assessment claims `outcome_id` achieved (every indicator holds), unreviewed."""
    outcome = default_framework().framework.outcome(outcome_id)
    met = [i.id for i in outcome.indicators.partially_achieved + outcome.indicators.achieved]
    answer = session.scalar(
        select(Answer).where(Answer.assessment_id == assessment.id, Answer.outcome_id == outcome_id)
    )
    if answer is None:
        answer = Answer(
            assessment_id=assessment.id, outcome_id=outcome_id, provenance="self_asserted"
        )
        session.add(answer)
    answer.indicators_met, answer.not_applicable, answer.review_status = met, False, None
    answer.answered_at = NOON - timedelta(days=30)
    session.flush()
    return answer.id


def _record_tls_run(
    session: Session, assessment: Assessment, code: str | None, at: datetime
) -> None:
    record_check_run(
        session,
        Actor(label="test"),
        CheckReport(
            kind="tls",
            target=f"a{assessment.id}.example:443",
            started_at=at,
            finished_at=at,
            status=ReportStatus.COMPLETED,
            score=40.0 if code else 100.0,
            findings=[finding(code)] if code else [],
        ),
        assessment.organisation_id,
        assessment.product_id,
    )


def build_review_estate(session: Session, suppliers: int = 12, seed: int = 3) -> ReviewEstate:
    seed_demo(session, suppliers, seed=seed, as_of=AS_OF)
    version_id = register_framework(session, default_framework()).id
    home = Organisation(
        slug="review-test-body", name="Review test body", kind=OrgKind.NATIONAL_BODY
    )
    session.add(home)
    session.flush()
    user = User(email="queue-assessor@example.police.uk", display_name="Queue assessor")
    session.add(user)
    session.flush()
    session.add(
        MembershipRow(user_id=user.id, organisation_id=home.id, role=Role.NATIONAL_ASSESSOR)
    )
    own = Assessment(
        organisation_id=home.id,
        framework_version_id=version_id,
        profile_id="force-baseline",
        status="submitted",
        version=1,
        created_at=NOON - timedelta(days=200),
        submitted_at=NOON - timedelta(days=200),
    )
    session.add(own)
    session.flush()
    session.add(
        Answer(
            assessment_id=own.id,
            outcome_id="A1.a",
            indicators_met=[],
            provenance="self_asserted",
            answered_at=NOON,
        )
    )
    queued = session.scalars(
        select(Assessment)
        .where(
            Assessment.status.in_(REVIEWABLE),
            Assessment.product_id.is_not(None),
        )
        .order_by(Assessment.id)
    ).all()
    tables = framework_tables(default_framework())
    in_scope = tables.outcome_ids.index(CAPPED_OUTCOME)
    queued = [a for a in queued if tables.targets[a.profile_id][in_scope] >= 0]
    contradicted = []
    # Two subjects whose newest TLS run finds no post-quantum key exchange, though they claim
    # C3.b achieved: contradicted. A third claims it too, but its newest run is clean (an older
    # run had the finding): not contradicted.
    for index, assessment in enumerate(queued[:3]):
        answer_id = _claim_everything(session, assessment, CAPPED_OUTCOME)
        if index < 2:
            _record_tls_run(session, assessment, CAPPING_CODE, NOON)
            contradicted.append(answer_id)
        else:
            _record_tls_run(session, assessment, CAPPING_CODE, NOON - timedelta(days=5))
            _record_tls_run(session, assessment, None, NOON)
            withdrawn = answer_id
    session.flush()
    assessor = Principal(user.id, user.email, (Membership(home.id, Role.NATIONAL_ASSESSOR),))
    return ReviewEstate(assessor, own.id, contradicted, withdrawn)


def waiting_answers(session: Session, assessor: Principal) -> set[int]:
    """Every unreviewed answer of a submitted assessment outside the assessor's organisations."""
    return set(
        session.scalars(
            select(Answer.id)
            .join(Assessment, Assessment.id == Answer.assessment_id)
            .where(
                Answer.review_status.is_(None),
                Assessment.status.in_(REVIEWABLE),
                Assessment.organisation_id.not_in(sorted(assessor.organisation_ids())),
            )
        )
    )


def contradicted_the_slow_way(session: Session, assessor: Principal, today: date) -> set[int]:
    """The oracle: every queued subject scored whole by the engine, one subject at a time."""
    loaded = default_framework()
    tables = framework_tables(loaded)
    waiting = waiting_answers(session, assessor)
    rows = session.execute(
        select(Answer.id, Answer.assessment_id, Answer.outcome_id).where(Answer.id.in_(waiting))
    ).all()
    by_pair = {(a, o): i for i, a, o in rows}
    subjects = session.execute(
        select(Assessment.organisation_id, Assessment.product_id)
        .where(Assessment.id.in_({a for _, a, _ in rows}))
        .distinct()
    ).all()
    found = set()
    for organisation_id, product_id in subjects:
        estate = load_estate(
            session, loaded, today, SubjectFilter.of([(organisation_id, product_id)])
        )
        if not estate.subjects:
            continue
        arrays = encode(estate, tables)
        scores = score_arrays(arrays, tables)
        for index in scores.row_contradicted.nonzero()[0]:
            assessment_id = arrays.subjects[int(arrays.subject[index])].assessment_id
            outcome_id = tables.outcome_ids[int(arrays.outcome[index])]
            if (assessment_id, outcome_id) in by_pair:
                found.add(by_pair[(assessment_id, outcome_id)])
    return found
