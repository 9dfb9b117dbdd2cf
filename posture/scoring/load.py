"""Read the estate as it stood on a date: each subject's current assessment, its answers, and the
levels its latest automated checks allow."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from frameworks.loader import LoadedFramework
from posture.check_runs import latest_run_ids
from posture.framework_registry import register_framework
from posture.scoring.evidence import CheckRunFacts, RunFinding, subject_levels
from posture.scoring.inputs import (
    AnswerRecord,
    CheckEvidence,
    Estate,
    SubjectAnswers,
    SubjectRef,
)
from posture.storage.models import (
    Answer,
    Assessment,
    CheckRun,
    Finding,
    Organisation,
    Product,
)
from posture.storage.models.enums import AssessmentStatus, RunStatus


def _cutoff(as_of: date) -> datetime:
    return datetime.combine(as_of, time.max, tzinfo=UTC)


def _current_assessments(
    session: Session, framework_version_id: int, as_of: date, entity: SubjectFilter | None
) -> list[tuple[Assessment, str]]:
    ranked = (
        select(
            Assessment.id,
            func.row_number()
            .over(
                partition_by=(Assessment.organisation_id, Assessment.product_id),
                order_by=Assessment.version.desc(),
            )
            .label("rank"),
        )
        .where(
            Assessment.framework_version_id == framework_version_id,
            Assessment.status != AssessmentStatus.DRAFT,
            Assessment.created_at <= _cutoff(as_of),
        )
        .subquery()
    )
    query = (
        select(Assessment, func.coalesce(Product.name, Organisation.name))
        .join(ranked, and_(ranked.c.id == Assessment.id, ranked.c.rank == 1))
        .join(Organisation, Organisation.id == Assessment.organisation_id)
        .outerjoin(Product, Product.id == Assessment.product_id)
        .order_by(Assessment.organisation_id, Assessment.product_id)
    )
    if entity is not None:
        query = entity.apply(query)
    return [(assessment, label) for assessment, label in session.execute(query).all()]


class SubjectFilter:
    """One subject: an organisation (by id) or a product (by id)."""

    def __init__(self, organisation_id: int | None = None, product_id: int | None = None):
        self.organisation_id, self.product_id = organisation_id, product_id

    def apply(self, query):  # type: ignore[no-untyped-def]
        if self.product_id is not None:
            return query.where(Assessment.product_id == self.product_id)
        return query.where(
            Assessment.organisation_id == self.organisation_id, Assessment.product_id.is_(None)
        )


def _check_levels(
    session: Session,
    loaded: LoadedFramework,
    subjects: set[tuple[int, int | None]],
    as_of: date,
) -> dict[tuple[int, int | None], dict[str, CheckEvidence]]:
    latest = latest_run_ids(CheckRun.finished_at <= _cutoff(as_of))
    runs = session.scalars(select(CheckRun).where(CheckRun.id.in_(latest))).all()
    runs = [r for r in runs if (r.organisation_id, r.product_id) in subjects]
    if not runs:
        return {}
    findings: dict[int, list[RunFinding]] = defaultdict(list)
    for finding in session.scalars(
        select(Finding)
        .where(Finding.check_run_id.in_([r.id for r in runs]))
        .order_by(Finding.check_run_id, Finding.id)
    ):
        findings[finding.check_run_id].append(
            RunFinding(finding.code, str(finding.severity), finding.title)
        )
    by_subject: dict[tuple[int, int | None], list[CheckRunFacts]] = defaultdict(list)
    for run in runs:
        assert run.finished_at is not None
        by_subject[(run.organisation_id, run.product_id)].append(
            CheckRunFacts(
                run.id,
                str(run.kind),
                run.finished_at,
                tuple(findings[run.id]),
                assessed=run.status == RunStatus.SUCCEEDED,
            )
        )
    return {
        key: subject_levels(subject_runs, loaded.finding_links, loaded.scoring)
        for key, subject_runs in by_subject.items()
    }


def load_estate(
    session: Session, loaded: LoadedFramework, as_of: date, entity: SubjectFilter | None = None
) -> Estate:
    framework_row = register_framework(session, loaded)
    current = _current_assessments(session, framework_row.id, as_of, entity)
    answers: dict[int, dict[str, AnswerRecord]] = defaultdict(dict)
    ids = [assessment.id for assessment, _ in current]
    for start in range(0, len(ids), 5000):
        rows = session.execute(
            select(
                Answer.assessment_id,
                Answer.outcome_id,
                Answer.indicators_met,
                Answer.provenance,
                Answer.answered_at,
                Answer.not_applicable,
                Answer.justification,
            ).where(
                Answer.assessment_id.in_(ids[start : start + 5000]),
                # An assessor's rejection withdraws the answer: the outcome counts as unanswered.
                or_(Answer.review_status.is_(None), Answer.review_status != "rejected"),
            )
        )
        for assessment_id, outcome_id, met, provenance, answered_at, na, why in rows:
            answers[assessment_id][outcome_id] = AnswerRecord(
                tuple(met), str(provenance), answered_at, na, why
            )
    subject_keys = {(a.organisation_id, a.product_id) for a, _ in current}
    checks = _check_levels(session, loaded, subject_keys, as_of)
    subjects = [
        SubjectAnswers(
            subject=SubjectRef(
                kind="product" if assessment.product_id else "organisation",
                organisation_id=assessment.organisation_id,
                product_id=assessment.product_id,
                assessment_id=assessment.id,
                label=label,
            ),
            profile_id=assessment.profile_id,
            answers=answers[assessment.id],
            checks=checks.get((assessment.organisation_id, assessment.product_id), {}),
        )
        for assessment, label in current
        if assessment.profile_id in loaded.profiles
    ]
    return Estate(as_of=as_of, subjects=subjects)
