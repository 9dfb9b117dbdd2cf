"""Which queued answers an automated check contradicts, decided by the scoring engine itself.

Only a capping finding can leave a check's level below a claim: a clean run allows "achieved",
which no claim exceeds. So SQL first finds the subjects whose latest check runs carry a finding
the scoring policy caps, and only the queued assessments of those subjects are judged; their
check levels are read for those subjects
only (posture.scoring.check_levels); and the queued answers to outcomes held below "achieved"
go through the engine (encode + score_arrays), which alone says whether the claim is higher than
the check allows. The cost follows those candidates, not the estate, and the rule has one home.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, or_, select
from sqlalchemy.orm import Session

from checks.findings import Severity
from frameworks.loader import LoadedFramework
from posture.check_runs import latest_run_ids
from posture.framework_registry import register_framework
from posture.scoring.check_levels import check_levels
from posture.scoring.encode import encode
from posture.scoring.engine import score_arrays
from posture.scoring.inputs import AnswerRecord, CheckEvidence, Estate, SubjectAnswers, SubjectRef
from posture.scoring.load import RECORD_COLUMNS, answer_record
from posture.scoring.rules import ACHIEVED, LEVEL_NAMES
from posture.scoring.subjects import SubjectFilter, cutoff
from posture.scoring.tables import framework_tables
from posture.storage.models import Answer, Assessment, CheckRun, Finding

# Assessments per read: keeps every IN list well inside SQLite's bound-parameter limit.
CHUNK = 2_000
# Assessments judged at a time when only the queue's first contradicted answers are wanted.
FIRST_CHUNK = 500


@dataclass(frozen=True)
class Candidate:
    """A queued assessment, as the queue's own query reads it."""

    assessment_id: int
    organisation_id: int
    product_id: int | None
    profile_id: str
    framework_version_id: int


@dataclass(frozen=True)
class Contradiction:
    answer_id: int
    assessment_id: int
    outcome_id: str
    claimed: str


def _capping_severities(loaded: LoadedFramework) -> list[str]:
    return [s.value for s in Severity if loaded.scoring.cap_level(s.value) is not None]


def capped_subjects(
    session: Session,
    loaded: LoadedFramework,
    today: date,
    runs: Sequence[ColumnElement[bool]] = (),
) -> set[tuple[int, int | None]]:
    """(organisation id, product id) of the subjects whose latest check runs by `today` carry a
    finding the scoring policy caps; `runs` narrows the runs read when the queue is filtered."""
    latest = latest_run_ids(CheckRun.finished_at <= cutoff(today), *runs).subquery()
    query = (
        select(CheckRun.organisation_id, CheckRun.product_id)
        .join(latest, latest.c.id == CheckRun.id)
        .where(
            exists().where(
                Finding.check_run_id == CheckRun.id,
                Finding.severity.in_(_capping_severities(loaded)),
            )
        )
        .distinct()
    )
    return {(organisation_id, product_id) for organisation_id, product_id in session.execute(query)}


def candidates(
    session: Session,
    loaded: LoadedFramework,
    today: date,
    queued_assessments: Sequence[Candidate],
    runs: Sequence[ColumnElement[bool]] = (),
) -> list[Candidate]:
    """The queued assessments (in the order given: the queue's) of this framework version
    whose subject's latest check runs carry a capping finding."""
    capped = capped_subjects(session, loaded, today, runs)
    version = register_framework(session, loaded).id
    return [
        a
        for a in queued_assessments
        if a.framework_version_id == version
        and a.profile_id in loaded.profiles
        and (a.organisation_id, a.product_id) in capped
    ]


def submission_order() -> tuple[Any, ...]:
    """The queue's order of assessments: oldest submission first, never-stamped ones last on
    both backends (NULL sorts first on SQLite only), then by id."""
    return (Assessment.submitted_at.is_(None), Assessment.submitted_at, Assessment.id)


def _held_below_achieved(
    session: Session, loaded: LoadedFramework, today: date, chunk: Sequence[Candidate]
) -> dict[int, dict[str, CheckEvidence]]:
    """Assessment id -> the outcomes its subject's checks hold below "achieved"."""
    levels = check_levels(
        session, loaded, SubjectFilter.of((c.organisation_id, c.product_id) for c in chunk), today
    )
    held = {}
    for candidate in chunk:
        found = levels.get((candidate.organisation_id, candidate.product_id), {})
        below = {outcome: e for outcome, e in found.items() if e.level < ACHIEVED}
        if below:
            held[candidate.assessment_id] = below
    return held


def _judged(
    session: Session,
    loaded: LoadedFramework,
    today: date,
    chunk: Sequence[Candidate],
    queued: Sequence[ColumnElement[bool]],
) -> list[Contradiction]:
    held = _held_below_achieved(session, loaded, today, chunk)
    if not held:
        return []
    # Exactly the (assessment, outcome) pairs held below "achieved", one IN list per outcome.
    by_outcome: dict[str, list[int]] = {}
    for assessment_id, below in sorted(held.items()):
        for outcome_id in below:
            by_outcome.setdefault(outcome_id, []).append(assessment_id)
    pairs = or_(
        *(
            and_(Answer.outcome_id == outcome_id, Answer.assessment_id.in_(assessment_ids))
            for outcome_id, assessment_ids in sorted(by_outcome.items())
        )
    )
    answers: dict[int, dict[str, tuple[int, AnswerRecord]]] = {}
    for answer_id, assessment_id, outcome_id, *record in session.execute(
        select(Answer.id, Answer.assessment_id, Answer.outcome_id, *RECORD_COLUMNS)
        .join(Assessment, Assessment.id == Answer.assessment_id)
        .where(pairs, *queued)
    ):
        answers.setdefault(assessment_id, {})[outcome_id] = (answer_id, answer_record(*record))
    # Each subject carries only the answers a check could contradict: the engine's verdict on a
    # row depends on that row's answer and check alone.
    by_id = {c.assessment_id: c for c in chunk}
    estate = Estate(
        as_of=today,
        subjects=[
            SubjectAnswers(
                subject=SubjectRef(
                    kind="product" if by_id[a].product_id else "organisation",
                    organisation_id=by_id[a].organisation_id,
                    product_id=by_id[a].product_id,
                    assessment_id=a,
                    label="",
                ),
                profile_id=by_id[a].profile_id,
                answers={outcome: record for outcome, (_, record) in found.items()},
                checks=held[a],
            )
            for a, found in sorted(answers.items())
        ],
    )
    if not estate.subjects:
        return []
    tables = framework_tables(loaded)
    rows = encode(estate, tables)
    scores = score_arrays(rows, tables)
    contradicted = []
    for index in scores.row_contradicted.nonzero()[0]:
        assessment_id = rows.subjects[int(rows.subject[index])].assessment_id
        assert assessment_id is not None
        outcome_id = tables.outcome_ids[int(rows.outcome[index])]
        answer_id = answers[assessment_id][outcome_id][0]
        claimed = LEVEL_NAMES[int(scores.row_claimed[index])]
        contradicted.append(Contradiction(answer_id, assessment_id, outcome_id, claimed))
    return contradicted


def contradictions(
    session: Session,
    loaded: LoadedFramework,
    today: date,
    queued: Sequence[ColumnElement[bool]],
    queued_assessments: Sequence[Candidate],
    runs: Sequence[ColumnElement[bool]] = (),
    enough: int | None = None,
) -> tuple[list[Contradiction], bool]:
    """The queued answers (unreviewed, as `queued` selects them) a check contradicts, and
    whether that is all of them. `queued_assessments` are the assessments those answers belong
    to, in queue order.

    With `enough`, assessments are judged a slice at a time in queue order, each slice reading
    only its own subjects' check runs, and judging stops once that many are found: every later
    assessment's answers come after them in the queue, so they are exactly the queue's first
    contradicted answers (all the first pages need). Without it, every assessment is judged."""
    found: list[Contradiction] = []
    if enough is None:
        # Everything is wanted: one read of the capped subjects serves every slice.
        chosen = candidates(session, loaded, today, queued_assessments, runs)
        for start in range(0, len(chosen), CHUNK):
            found += _judged(session, loaded, today, chosen[start : start + CHUNK], queued)
        return found, True
    for start in range(0, len(queued_assessments), FIRST_CHUNK):
        if len(found) >= enough:
            return found, False
        part = queued_assessments[start : start + FIRST_CHUNK]
        subjects = SubjectFilter.of((a.organisation_id, a.product_id) for a in part)
        own_runs = [*runs, subjects.matches(CheckRun.organisation_id, CheckRun.product_id)]
        chosen = candidates(session, loaded, today, part, own_runs)
        if chosen:
            found += _judged(session, loaded, today, chosen, queued)
    return found, True
