"""The levels each subject's latest automated checks allow, read for the subjects asked about.

Only the columns scoring needs are read (never a run's stored result), and the subject filter sits
inside the ranking query. Runs are taken in id order, so when two runs allow the same lowest level
the older run is the one cited, on every backend.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from sqlalchemy import String, cast, literal, select
from sqlalchemy.orm import Session

from frameworks.loader import LoadedFramework
from posture.check_runs import latest_run_ids
from posture.scoring.evidence import CheckRunFacts, RunFinding, subject_levels
from posture.scoring.inputs import CheckEvidence
from posture.scoring.subjects import SubjectFilter, cutoff
from posture.storage.models import CheckRun, Finding
from posture.storage.models.enums import RunStatus

SubjectKey = tuple[int, int | None]


def latest_runs(
    session: Session, subjects: SubjectFilter | None, as_of: date, titles: bool = True
) -> list[tuple[SubjectKey, CheckRunFacts]]:
    """Each subject's newest finished run of each kind by `as_of`, with its findings, in run id
    order. Without `titles`, findings carry their code and severity only: a level depends on
    nothing else, and the whole estate's findings are read faster without the text."""
    conditions = [CheckRun.finished_at <= cutoff(as_of)]
    if subjects is not None:
        conditions.append(subjects.matches(CheckRun.organisation_id, CheckRun.product_id))
    latest = latest_run_ids(*conditions).subquery()
    # Core execution: plain columns need none of the ORM's per-row machinery.
    connection = session.connection()
    runs = connection.execute(
        select(
            CheckRun.id,
            CheckRun.organisation_id,
            CheckRun.product_id,
            CheckRun.kind,
            CheckRun.finished_at,
            CheckRun.status,
        )
        .join(latest, latest.c.id == CheckRun.id)
        .order_by(CheckRun.id)
    ).all()
    if not runs:
        return []
    findings: dict[int, list[RunFinding]] = defaultdict(list)
    found = connection.execute(
        select(
            Finding.check_run_id,
            Finding.code,
            cast(Finding.severity, String),
            Finding.title if titles else literal(""),
        )
        .join(latest, latest.c.id == Finding.check_run_id)
        .order_by(Finding.check_run_id, Finding.id)
    )
    try:
        # Plain text and integers: taken from the driver's cursor as they come.
        for run_id, code, severity, title in found.cursor.fetchall():
            findings[run_id].append(RunFinding(code, severity, title))
    finally:
        found.close()
    return [
        (
            (organisation_id, product_id),
            CheckRunFacts(
                run_id,
                str(kind),
                finished_at,
                tuple(findings[run_id]),
                assessed=status == RunStatus.SUCCEEDED,
            ),
        )
        for run_id, organisation_id, product_id, kind, finished_at, status in runs
    ]


def check_levels(
    session: Session, loaded: LoadedFramework, subjects: SubjectFilter | None, as_of: date
) -> dict[SubjectKey, dict[str, CheckEvidence]]:
    by_subject: dict[SubjectKey, list[CheckRunFacts]] = defaultdict(list)
    for key, run in latest_runs(session, subjects, as_of):
        by_subject[key].append(run)
    return {
        key: subject_levels(subject_runs, loaded.finding_links, loaded.scoring)
        for key, subject_runs in by_subject.items()
    }
