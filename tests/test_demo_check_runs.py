"""The demo estate carries check runs as real checks store them: most products checked, real
finding codes, a few failed runs, a few claims contradicted; and adding them (or streaming the
estate in parts) changes no other row."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from checks.findings import finding_catalogue
from checks.report import CheckReport
from frameworks.loader import default_framework
from posture.demo.estate import DemoEstate, build_estate, stream_estate
from posture.demo.seed import seed_demo
from posture.scoring.rules import claimed_level
from posture.scoring.service import score_estate
from posture.storage.engine import transaction
from posture.storage.models import Answer, Assessment, CheckRun, Finding, Product

AS_OF = date(2026, 11, 1)
# sha256 of the answers table of seed_demo(200, seed=7, as_of=AS_OF): check runs draw on a
# generator of their own, so no answer may move when they are seeded. Taken again when demo
# products gained facts and their profiles came to be derived from them (migration 0024).
ANSWERS_DIGEST = "62f142637ca93104f28b2d328bc934573a4505730ad79dbb73f252316b867408"
ANSWER_COLUMNS = (
    "id",
    "assessment_id",
    "outcome_id",
    "indicators_met",
    "not_applicable",
    "justification",
    "comment",
    "provenance",
    "answered_at",
    "review_status",
    "review_message",
)


def _plain(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    return getattr(value, "value", value)


@pytest.fixture
def seeded(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    with transaction(sessions) as session:
        seed_demo(session, 200, seed=7, as_of=AS_OF)
    return sessions


@pytest.fixture(scope="module")
def seeded_once(module_sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    """The same estate seeded once per module and backend, for the tests that only read it
    (none commits); a test that records a run takes its own `seeded`."""
    with transaction(module_sessions) as session:
        seed_demo(session, 200, seed=7, as_of=AS_OF)
    return module_sessions


def test_seeding_leaves_the_answers_as_they_were_before_check_runs(
    seeded_once: sessionmaker[Session],
) -> None:
    digest = hashlib.sha256()
    columns = [getattr(Answer, name) for name in ANSWER_COLUMNS]
    with seeded_once() as session:
        for row in session.execute(select(*columns).order_by(Answer.id)):
            digest.update(json.dumps([_plain(v) for v in row]).encode() + b"\n")
    assert digest.hexdigest() == ANSWERS_DIGEST


def test_most_products_have_runs_of_real_kinds_with_catalogue_findings(
    seeded_once: sessionmaker[Session],
) -> None:
    catalogue = finding_catalogue().findings
    with seeded_once() as session:
        products = session.scalar(select(func.count()).select_from(Product))
        checked = session.scalar(
            select(func.count(func.distinct(CheckRun.product_id))).where(
                CheckRun.product_id.is_not(None)
            )
        )
        assert 0.6 <= checked / products <= 0.8
        kinds = set(session.scalars(select(CheckRun.kind).distinct()))
        assert kinds == {"tls", "ssh", "api", "cbom"}
        assert session.scalar(select(func.count()).where(CheckRun.product_id.is_(None))), (
            "some forces' own endpoints are checked"
        )
        findings = session.scalars(select(Finding)).all()
        assert findings
        for row in findings:
            definition = catalogue[row.code]
            assert (str(row.severity), row.title) == (definition.severity.value, definition.title)
            assert row.outcome_ids == definition.newest_outcome_ids()


def test_runs_hold_real_reports_finished_in_the_two_months_before_the_date(
    seeded_once: sessionmaker[Session],
) -> None:
    start = datetime.combine(AS_OF - timedelta(days=61), datetime.min.time(), UTC)
    end = datetime.combine(AS_OF, datetime.min.time(), UTC)
    with seeded_once() as session:
        runs = session.scalars(select(CheckRun)).all()
        codes = defaultdict(list)
        ordered = select(Finding.code, Finding.check_run_id).order_by(Finding.id)
        for code, run_id in session.execute(ordered):
            codes[run_id].append(code)
    failed = [run for run in runs if str(run.status) == "failed"]
    assert 0 < len(failed) < len(runs) * 0.1
    for run in runs:
        assert run.finished_at is not None
        assert start <= run.finished_at < end
        report = CheckReport.model_validate(run.result)
        assert (report.kind, report.target) == (run.kind, run.target)
        assert report.finished_at == run.finished_at
        assert report.result() is not None  # its kind's typed result reads it
        assert [f.code for f in report.findings] == codes[run.id]
        if str(run.status) == "failed":
            assert run.error
            assert "NET-001" in codes[run.id]


def _claims_capped(session: Session, product_id: int) -> bool:
    """A latest run's high or medium finding bears on an outcome the product claims above what
    that finding allows."""
    loaded = default_framework()
    assessment = session.scalar(
        select(Assessment)
        .where(Assessment.product_id == product_id)
        .order_by(Assessment.version.desc())
        .limit(1)
    )
    answers = {
        a.outcome_id: a
        for a in session.scalars(select(Answer).where(Answer.assessment_id == assessment.id))
    }
    for finding in session.scalars(
        select(Finding).join(CheckRun).where(CheckRun.product_id == product_id)
    ):
        cap = loaded.scoring.cap_level(str(finding.severity))
        for outcome_id in finding.outcome_ids:
            answer = answers.get(outcome_id)
            if cap is None or answer is None:
                continue
            claim = claimed_level(
                loaded.framework.outcome(outcome_id),
                tuple(answer.indicators_met),
                answer.not_applicable,
                answer.justification,
            )
            if claim.level > cap:
                return True
    return False


def test_a_few_products_evidence_contradicts_their_claims(
    seeded_once: sessionmaker[Session],
) -> None:
    with seeded_once() as session:
        scores = score_estate(session, AS_OF)
        contradicted = [
            subject.product_id
            for subject, count in zip(scores.subjects, scores.contradicted, strict=True)
            if count > 0
        ]
        checked = session.scalar(select(func.count(func.distinct(CheckRun.product_id))))
        assert contradicted
        assert None not in contradicted
        assert len(contradicted) <= 0.1 * checked
        for product_id in contradicted:
            assert _claims_capped(session, product_id)


def _parts(size: int) -> DemoEstate:
    loaded = default_framework()
    merged = DemoEstate()
    for part in stream_estate(
        loaded.framework, loaded.profiles, 1, 30, 3, AS_OF, loaded.scoring, suppliers_per_part=size
    ):
        merged.extend(part)
    return merged


def test_streaming_in_parts_gives_the_rows_of_one_part() -> None:
    whole = _parts(size=1_000)
    assert whole.check_runs
    assert whole.findings
    assert _parts(size=7) == whole
    assert _parts(size=1) == whole


def test_check_runs_depend_on_the_seed_alone() -> None:
    loaded = default_framework()
    first = build_estate(loaded.framework, loaded.profiles, 1, 40, 11, AS_OF)
    again = build_estate(loaded.framework, loaded.profiles, 1, 40, 11, AS_OF)
    other = build_estate(loaded.framework, loaded.profiles, 1, 40, 12, AS_OF)
    assert first.check_runs == again.check_runs
    assert first.findings == again.findings
    assert first.check_runs != other.check_runs


def test_every_kind_and_outcome_of_run_exports_as_the_checks_page_offers_it(
    seeded_once: sessionmaker[Session],
) -> None:
    from supplier_portal.check_exports import run_files

    with seeded_once() as session:
        runs = session.scalars(select(CheckRun).order_by(CheckRun.id)).all()
    shapes = {(run.kind, str(run.status), run.score): run for run in runs}
    assert len(shapes) >= 10  # the variants of four kinds, failed ones among them
    for run in shapes.values():
        files = run_files(run)
        assert {"JSON", "SARIF", "JUnit XML"} <= {item.label for item in files}
        assert all(item.data for item in files)


def test_a_check_run_recorded_after_seeding_gets_a_fresh_id(
    seeded: sessionmaker[Session],
) -> None:
    from checks.findings import finding
    from checks.report import ReportStatus
    from posture.audit import Actor
    from posture.check_runs import record_check_run

    with seeded() as session:
        last_run = session.scalar(select(func.max(CheckRun.id)))
        last_finding = session.scalar(select(func.max(Finding.id)))
        product = session.scalar(select(Product).order_by(Product.id).limit(1))
    at = datetime(2026, 11, 2, 9, tzinfo=UTC)
    report = CheckReport(
        kind="tls",
        target="new.supplier.example:443",
        started_at=at,
        finished_at=at,
        status=ReportStatus.COMPLETED,
        score=0.0,
        findings=[finding("PQC-TLS-001", groups_supported=["X25519"])],
    )
    with transaction(seeded) as session:
        run = record_check_run(
            session, Actor(user_id=None, label="test"), report, product.organisation_id, product.id
        )
        session.flush()
        assert run.id > last_run
    with seeded() as session:
        assert session.scalar(select(func.max(Finding.id))) == last_finding + 1
