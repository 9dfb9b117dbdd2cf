"""A run that could not look at its subject corroborates nothing: an endpoint that never answered
in TLS must not count as a clean post-quantum key exchange, an unreadable CBOM as a clean
inventory. Its findings still cap the outcomes they link to."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from checks.findings import finding, finding_catalogue
from checks.report import CheckReport, ReportStatus
from frameworks.library import shipped_library
from frameworks.loader import LoadedFramework
from posture.audit import Actor
from posture.check_runs import record_check_run
from posture.demo.seed import seed_demo
from posture.scoring.encode import encode
from posture.scoring.engine import score_arrays
from posture.scoring.evidence import CheckRunFacts, RunFinding, run_levels, subject_levels
from posture.scoring.inputs import AnswerRecord, Estate, SubjectAnswers, SubjectRef
from posture.scoring.rules import ACHIEVED
from posture.scoring.service import explain_entity
from posture.scoring.tables import framework_tables
from posture.storage.engine import transaction
from posture.storage.models import Answer, Assessment
from tests.scoring.helpers import AS_OF, NOON

TODAY = datetime.now(UTC).date()
# Each means the run saw nothing of what it was asked to judge.
EXPECTED_BLOCKING = {
    "NET-001",
    "TLS-PROTO-001",
    "TLS-PROTO-002",
    "TLS-PROTO-003",
    "TLS-PROTO-004",
    "SSH-005",
    "CERT-006",
    "JWKS-005",
    "CBOM-004",
    "CBOM-007",
    "API-000",
    "INPUT-LIMIT",
    "CHECK-001",
    "API-033",
    # A live API run that could not test what it reports: it did not complete, was cut at its
    # limit, tested nothing, or its identities were refused, unproven or mostly refused, or
    # schemathesis warned that it never reached the operations behind authentication, was
    # rate-limited or knocked on the wrong base URL.
    "API-LIVE-001",
    "API-LIVE-002",
    "API-LIVE-004",
    "API-LIVE-005",
    "API-LIVE-006",
    "API-LIVE-007",
    "API-LIVE-008",
    "API-LIVE-009",
    "API-LIVE-010",
}


def _latest() -> LoadedFramework:
    return shipped_library().latest("ptsbd")


def _run(kind: str, *codes: str) -> CheckRunFacts:
    catalogue = finding_catalogue().findings
    found = tuple(RunFinding(c, catalogue[c].severity.value, catalogue[c].title) for c in codes)
    return CheckRunFacts(21, kind, NOON, found)


def test_the_catalogue_marks_exactly_the_findings_of_runs_that_saw_nothing() -> None:
    assert _latest().finding_links.blocking == EXPECTED_BLOCKING


@pytest.mark.parametrize(
    ("kind", "code"),
    sorted(
        (kind, code)
        for code in EXPECTED_BLOCKING
        for kind in finding_catalogue().findings[code].raised_by
    ),
)
def test_a_blocked_run_corroborates_no_outcome(kind: str, code: str) -> None:
    loaded = _latest()
    levels = run_levels(_run(kind, code), loaded.finding_links, loaded.scoring)
    assert all(evidence.level < ACHIEVED for evidence in levels.values()), levels
    assert set(levels) <= set(loaded.finding_links.outcomes_for(code))


def test_a_tls_endpoint_that_closed_every_probe_neither_passes_nor_hides_the_key_exchange() -> None:
    loaded = _latest()
    clean = run_levels(_run("tls"), loaded.finding_links, loaded.scoring)
    closed = run_levels(_run("tls", "TLS-PROTO-002"), loaded.finding_links, loaded.scoring)
    assert clean["C3.b"].level == ACHIEVED  # a run that answered and raised nothing corroborates
    assert "C3.b" not in closed
    assert closed["C2.a"].level < ACHIEVED
    assert closed["C2.a"].finding_code == "TLS-PROTO-002"


def test_an_info_finding_in_a_blocked_run_does_not_bring_back_corroboration() -> None:
    loaded = _latest()
    levels = run_levels(_run("tls", "NET-001", "PQC-TLS-004"), loaded.finding_links, loaded.scoring)
    assert "C3.b" not in levels


def _confidence(loaded: LoadedFramework, runs: list[CheckRunFacts]) -> float:
    profile = next(iter(loaded.profiles.values()))
    scope = [o for o in loaded.framework.outcomes() if profile.target_for(o) is not None]
    answers = {
        o.id: AnswerRecord(
            tuple(i.id for i in o.indicators.partially_achieved + o.indicators.achieved),
            "documentary",
            NOON,
        )
        for o in scope
    }
    subject = SubjectAnswers(
        SubjectRef("product", 1, 1, 1, "Checked product"),
        profile.id,
        answers,
        subject_levels(runs, loaded.finding_links, loaded.scoring),
    )
    tables = framework_tables(loaded)
    return float(score_arrays(encode(Estate(AS_OF, [subject]), tables), tables).confidence[0])


def test_an_unreachable_endpoint_adds_no_confidence_to_a_claim() -> None:
    loaded = _latest()
    unchecked = _confidence(loaded, [])
    unreachable = _confidence(loaded, [_run("ssh", "NET-001")])
    answered = _confidence(loaded, [_run("ssh")])
    assert unreachable == pytest.approx(unchecked)
    assert answered > unchecked


def _c3b_claimed(sessions: sessionmaker[Session]) -> Assessment:
    with transaction(sessions) as session:
        seed_demo(session, suppliers=2, seed=5, as_of=TODAY)
        assessment = session.scalar(
            select(Assessment)
            .where(Assessment.product_id.is_not(None))
            .order_by(Assessment.version.desc())
        )
        assert assessment is not None
        answer = session.scalar(
            select(Answer).where(Answer.assessment_id == assessment.id, Answer.outcome_id == "C3.b")
        )
        assert answer is not None
        outcome = _latest().framework.outcome("C3.b")
        answer.indicators_met = [
            i.id for i in outcome.indicators.partially_achieved + outcome.indicators.achieved
        ]
        answer.not_applicable = False
        answer.provenance = "self_asserted"
        session.expunge(assessment)
    return assessment


def _report(status: ReportStatus, minutes: int, *codes: str) -> CheckReport:
    at = datetime.now(UTC) - timedelta(minutes=60 - minutes)
    return CheckReport(
        kind="tls",
        target="portal.example:443",
        started_at=at,
        finished_at=at,
        status=status,
        score=100.0 if status is ReportStatus.COMPLETED else None,
        findings=[finding(code) for code in codes],
    )


def _c3b(sessions: sessionmaker[Session], assessment: Assessment) -> dict[str, object]:
    with sessions() as session:
        explained = explain_entity(session, f"product:{assessment.product_id}", TODAY)
    return next(o for o in explained["outcomes"] if o["outcome"] == "C3.b")


def test_a_newer_run_that_could_not_assess_replaces_an_older_clean_run(
    sessions: sessionmaker[Session],
) -> None:
    assessment = _c3b_claimed(sessions)
    subject = (assessment.organisation_id, assessment.product_id)
    with transaction(sessions) as session:
        clean = record_check_run(
            session, Actor("tester"), _report(ReportStatus.COMPLETED, 10), *subject
        )
        clean_id = clean.id
    assert _c3b(sessions, assessment).get("corroborated_by_check_run") == clean_id
    with transaction(sessions) as session:
        record_check_run(
            session,
            Actor("tester"),
            _report(ReportStatus.NOT_ASSESSABLE, 20, "INPUT-LIMIT"),
            *subject,
        )
    assert "corroborated_by_check_run" not in _c3b(sessions, assessment)
