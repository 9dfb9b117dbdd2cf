"""Severities are defined once, by the findings that carry them: the database column and the
scoring policy's caps use that one list, and the column still holds every value."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from checks.findings import Severity
from frameworks.library import shipped_library, validate_library
from frameworks.loader import DATA_ROOT
from posture.storage.engine import transaction
from posture.storage.models import CheckRun, Finding, Organisation
from posture.storage.models import enums as storage_enums

WHEN = datetime(2026, 11, 1, 9, tzinfo=UTC)


def test_storage_and_the_scoring_policy_use_the_findings_severities() -> None:
    assert storage_enums.Severity is Severity
    caps = shipped_library().latest("ptsbd").scoring.finding_caps
    assert caps
    assert all(type(severity) is Severity for severity in caps)


def test_a_scoring_policy_capping_an_unknown_severity_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(DATA_ROOT, data)
    scoring = data / "ptsbd" / "scoring-1.0.yaml"
    scoring.write_text(scoring.read_text().replace("  medium: partially_achieved", "  urgent: x"))
    problems = validate_library(data)[1]
    assert any("scoring-1.0.yaml" in p and "finding_caps.urgent" in p for p in problems)


def _run(session: Session) -> CheckRun:
    organisation = Organisation(slug="acme", name="Acme", kind="supplier", created_at=WHEN)
    session.add(organisation)
    session.flush()
    run = CheckRun(
        organisation_id=organisation.id,
        kind="tls",
        target="acme.example:443",
        status="succeeded",
        created_at=WHEN,
        finished_at=WHEN,
    )
    session.add(run)
    session.flush()
    return run


def test_the_severity_column_holds_every_severity_and_nothing_else(
    sessions: sessionmaker[Session],
) -> None:
    with transaction(sessions) as session:
        run_id = _run(session).id
        for severity in Severity:
            session.add(
                Finding(check_run_id=run_id, code="X-1", severity=severity, title=severity.value)
            )
    with sessions() as session:
        stored = session.scalars(select(Finding.severity).order_by(Finding.id)).all()
    assert stored == list(Severity)
    with pytest.raises(IntegrityError), transaction(sessions) as session:
        session.execute(
            text(
                "INSERT INTO findings (check_run_id, code, severity, title, evidence, advice, "
                "outcome_ids) VALUES (:run, 'X-2', 'urgent', 't', '{}', '', '[]')"
            ),
            {"run": run_id},
        )
