"""A certificate finding bears on the same outcomes whichever check saw the certificate."""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from checks.egress import Target
from checks.readiness import assemble
from checks.tls.check import combine, plan
from checks.tls.handshake import HandshakeResult
from checks.tls.probes import VersionProbe
from checks.tls.wire import Outcome, ServerAnswer
from frameworks.loader import default_framework
from posture.audit import Actor
from posture.check_runs import record_check_run
from posture.demo.seed import seed_demo
from posture.scoring.evidence import CheckRunFacts, RunFinding, run_levels
from posture.scoring.rules import ACHIEVED, NOT_ACHIEVED
from posture.scoring.service import explain_entity
from posture.storage.engine import transaction
from posture.storage.models import Answer, Assessment
from tests.peers.certificates import make_certificate
from tests.scoring.helpers import NOON, ptsbd, score, subject, with_checks
from tests.scoring.helpers import levels as levels_of

# The peer certificate expired yesterday by the real clock, so the check runs now.
CHECKED = datetime.now(UTC)
AS_OF = CHECKED.date()


def _tls_report_with_an_expired_certificate(folder: Path):  # type: ignore[no-untyped-def]
    """The TLS check's own combine step over a server that answers TLS 1.2 and 1.3, offers no
    post-quantum group and presents an expired certificate."""
    cert_path, _ = make_certificate(folder, "ecdsa", expired=True)
    certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
    answers = {
        probe: (
            ServerAnswer(Outcome.SERVER_HELLO, version=probe.version)
            if isinstance(probe, VersionProbe) and probe.version >= 0x0303
            else ServerAnswer(Outcome.ALERT)
        )
        for probe in plan()
    }
    handshake = HandshakeResult(True, protocol="TLSv1.3", chain=[certificate])
    target = Target("portal.example", 443, "192.0.2.10", socket.AF_INET)
    findings, subscores, result = combine(target, answers, handshake, CHECKED)
    details = result.as_details()
    return assemble("tls", "portal.example:443", CHECKED, findings, subscores, details)


@pytest.fixture
def product(sessions: sessionmaker[Session]) -> tuple[sessionmaker[Session], Assessment]:
    with transaction(sessions) as session:
        seed_demo(session, suppliers=2, seed=5, as_of=AS_OF)
    with sessions() as session:
        assessment = session.scalar(
            select(Assessment)
            .where(Assessment.product_id.is_not(None))
            .order_by(Assessment.version.desc())
        )
        assert assessment is not None
        session.expunge(assessment)
    return sessions, assessment


def _claim_c3d_achieved(session: Session, assessment: Assessment) -> None:
    outcome = default_framework().framework.outcome("C3.d")
    answer = session.scalar(
        select(Answer).where(Answer.assessment_id == assessment.id, Answer.outcome_id == "C3.d")
    )
    assert answer is not None, "C3.d applies to every product profile"
    answer.indicators_met = [
        i.id for i in outcome.indicators.partially_achieved + outcome.indicators.achieved
    ]
    answer.not_applicable = False
    answer.provenance = "self_asserted"


def test_an_expired_certificate_seen_by_the_tls_check_caps_certificate_management(
    product: tuple[sessionmaker[Session], Assessment], tmp_path: Path
) -> None:
    sessions, assessment = product
    report = _tls_report_with_an_expired_certificate(tmp_path)
    assert "CERT-001" in {f.code for f in report.findings}
    with transaction(sessions) as session:
        _claim_c3d_achieved(session, assessment)
        run = record_check_run(
            session, Actor("tester"), report, assessment.organisation_id, assessment.product_id
        )
        run_id = run.id
    with sessions() as session:
        explained = explain_entity(session, f"product:{assessment.product_id}", AS_OF)
    c3d = next(o for o in explained["outcomes"] if o["outcome"] == "C3.d")
    assert c3d["status"] == "not achieved"
    assert c3d["contradicted_by"]["finding"] == "CERT-001"
    assert c3d["contradicted_by"]["check_run_id"] == run_id


def _expired(kind: str) -> CheckRunFacts:
    return CheckRunFacts(
        7, kind, NOON, (RunFinding("CERT-001", "critical", "The certificate has expired"),)
    )


@pytest.mark.parametrize("kind", ["tls", "cert"])
def test_an_expired_certificate_caps_c3d_whichever_check_found_it(kind: str) -> None:
    loaded = ptsbd()
    levels = run_levels(_expired(kind), loaded.finding_links, loaded.scoring)
    assert levels["C3.d"].level == NOT_ACHIEVED
    assert levels["C3.d"].finding_code == "CERT-001"
    assert levels["C2.a"].level == NOT_ACHIEVED
    claimed = with_checks(subject(), C3_d=levels["C3.d"])
    result = score(claimed)
    assert levels_of(result, claimed)["C3.d"] == NOT_ACHIEVED
    assert int(result.contradicted[0]) == 1


def test_a_finding_caps_its_outcomes_even_from_a_kind_not_declared_to_raise_it() -> None:
    loaded = ptsbd()
    levels = run_levels(_expired("ssh"), loaded.finding_links, loaded.scoring)
    assert levels["C3.d"].level == NOT_ACHIEVED


def test_a_clean_tls_run_corroborates_every_outcome_its_findings_could_cap() -> None:
    loaded = ptsbd()
    clean = CheckRunFacts(8, "tls", NOON)
    levels = run_levels(clean, loaded.finding_links, loaded.scoring)
    assert set(levels) == {"B2.b", "C2.a", "C3.b", "C3.c", "C3.d"}
    assert all(e.level == ACHIEVED and e.finding_code is None for e in levels.values())
