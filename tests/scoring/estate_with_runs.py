"""A seeded estate with recorded check runs: clean, capped, blocked and failed, several kinds per
subject, so scoring paths that read the database are compared on data shaped like real use."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from checks.catalogue import kinds
from checks.findings import finding, finding_catalogue
from checks.report import CheckReport, ReportStatus
from posture.audit import Actor
from posture.check_runs import record_check_run
from posture.demo.seed import seed_demo
from posture.storage.models import Assessment

AS_OF = date(2026, 11, 1)


def outcome_codes() -> list[str]:
    """Finding codes that bear on framework outcomes, sorted."""
    return sorted(
        code
        for code, definition in finding_catalogue().findings.items()
        if definition.newest_outcome_ids()
    )


def record_sample_run(
    session: Session,
    pick: random.Random,
    subject: tuple[int, int | None],
    index: int,
    at: datetime,
    failed: bool,
    codes: list[str],
    actor: Actor,
) -> None:
    """One run of a random kind with up to three random findings, recorded as a real check
    records it; a failed run could not assess its subject."""
    record_check_run(
        session,
        actor,
        CheckReport(
            kind=pick.choice(sorted(kinds())),
            target=f"subject{index}.example:443",
            started_at=at,
            finished_at=at,
            status=ReportStatus.NOT_ASSESSABLE if failed else ReportStatus.COMPLETED,
            score=None if failed else 70.0,
            findings=[finding(code) for code in pick.sample(codes, pick.randint(0, 3))],
        ),
        *subject,
    )


def seed_with_runs(session: Session, suppliers: int = 200, seed: int = 7, runs: int = 40) -> None:
    """The demo estate, then `runs` check runs recorded as a real check would record them."""
    seed_demo(session, suppliers, seed=seed, as_of=AS_OF)
    pick = random.Random(seed * 7919)  # noqa: S311 - a reproducible test estate, not a secret
    subjects = session.execute(
        select(Assessment.organisation_id, Assessment.product_id).distinct()
    ).all()
    subjects.sort(key=lambda row: (row[0], row[1] or 0))
    codes = outcome_codes()
    actor = Actor(user_id=None, label="test")
    noon = datetime.combine(AS_OF, datetime.min.time(), tzinfo=UTC) + timedelta(hours=12)
    for index in range(runs):
        organisation_id, product_id = pick.choice(subjects)
        # Some subjects get several runs of one kind, so the newest must win.
        if index % 9 == 8:
            organisation_id, product_id = subjects[index % 5]
        failed = index % 11 == 5
        at = noon - timedelta(days=pick.randint(0, 90), minutes=index)
        record_sample_run(
            session, pick, (organisation_id, product_id), index, at, failed, codes, actor
        )
