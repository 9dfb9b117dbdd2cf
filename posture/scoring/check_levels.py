"""The levels each subject's latest automated checks allow, read for the subjects asked about.

Only the columns scoring needs are read (never a run's stored result), and the subject filter sits
inside the ranking query. Runs are taken in id order, so when two runs allow the same lowest level
the older run is the one cited, on every backend.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime
from itertools import groupby
from operator import itemgetter

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
    # One query, so the ranking window is evaluated once: each latest run with its findings
    # beside it in finding order (a run without findings comes once, with NULLs).
    statement = (
        select(
            CheckRun.id,
            CheckRun.organisation_id,
            CheckRun.product_id,
            CheckRun.kind,
            CheckRun.finished_at,
            cast(CheckRun.status, String),
            Finding.code,
            cast(Finding.severity, String),
            Finding.title if titles else literal(""),
        )
        .join(latest, latest.c.id == CheckRun.id)
        .outerjoin(Finding, Finding.check_run_id == CheckRun.id)
        .order_by(CheckRun.id, Finding.id)
    )
    result = session.connection().execute(statement)
    try:
        # Plain values straight from the driver's cursor, without per-row result processing.
        rows = result.cursor.fetchall()
    finally:
        result.close()
    runs = []
    for _, group in groupby(rows, key=itemgetter(0)):
        first, *rest = group
        run_id, organisation_id, product_id, kind, finished_at, status = first[:6]
        findings = tuple(
            RunFinding(row[6], row[7], row[8]) for row in (first, *rest) if row[6] is not None
        )
        facts = CheckRunFacts(
            run_id,
            str(kind),
            _utc(finished_at),
            findings,
            assessed=status == RunStatus.SUCCEEDED,
        )
        runs.append(((organisation_id, product_id), facts))
    return runs


def _utc(value: str | datetime) -> datetime:
    """A driver's timestamp as UtcDateTime reads it: SQLite gives the stored naive UTC text."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


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
