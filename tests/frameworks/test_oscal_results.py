"""An assessment an assessor accepted exports as OSCAL assessment results that validate against
NIST's schema, stating each outcome's level, the rule behind it and the automated findings that
bear on it; nothing short of accepted is exported, and no tenant reaches another's."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from checks.findings import CheckFinding
from checks.report import CheckReport, ReportStatus
from frameworks.oscal.assessment_results import (
    AssessmentResultsInput,
    OutcomeResult,
    assessment_results_document,
)
from frameworks.oscal.export import NAMESPACE
from frameworks.oscal.validation import oscal_schema_errors
from frameworks.urns import finding_urn, outcome_urn
from kernel.errors import ValidationFailed
from posture.assessment_export import export_assessment_results
from posture.audit import SYSTEM
from posture.check_runs import record_check_run
from posture.identity.permissions import NotFound, PermissionDenied, Principal
from posture.storage.engine import transaction
from posture.storage.models import Answer, Assessment, Product
from posture.storage.models.enums import AssessmentStatus, Role
from supplier_portal.assessments import save_answer, start_assessment, submit_assessment
from supplier_portal.forms import AnswerForm
from supplier_portal.reviews import review_answer
from tests.identity.world import World, build_world

ANSWERS = (
    AnswerForm(outcome_id="A1.a", indicators_met=["A1.a.A1", "A1.a.A2"]),
    AnswerForm(outcome_id="C3.b", indicators_met=["C3.b.PA1"]),
    AnswerForm(outcome_id="B1.a", indicators_met=["B1.a.NA1", "B1.a.A1"]),
    AnswerForm(
        outcome_id="A2.a",
        not_applicable=True,
        justification="The product holds no risk register; the force keeps it.",
    ),
)
EXPECTED_LEVELS = {
    "A1.a": "achieved",
    "C3.b": "partially achieved",
    "B1.a": "not achieved",
    "A2.a": "not applicable",
    "E1.a": "not achieved",  # in the supplier-saas scope, never answered
}


@dataclass(frozen=True)
class Accepted:
    world: World
    assessment_id: int
    latest_run_id: int


def _latest_tls_run(session: Session, world: World) -> int:
    """A TLS run newer than the world's own, so only its findings are the latest evidence."""
    s1 = world.orgs["s1"]
    now = datetime.now(UTC)
    report = CheckReport(
        kind="tls",
        target="vault.s1.example:443",
        started_at=now - timedelta(seconds=5),
        finished_at=now,
        status=ReportStatus.COMPLETED,
        score=40.0,
        findings=[
            CheckFinding(
                code="PQC-TLS-001",
                severity="high",
                title="No quantum-safe key exchange offered",
                advice="Offer a hybrid ML-KEM group.",
                outcome_ids=["C3.b"],
            )
        ],
    )
    return record_check_run(session, SYSTEM, report, s1.organisation_id, s1.product_id).id


def submitted_assessment(session: Session) -> tuple[World, int]:
    """s1's product assessed through the portal's own services and submitted for review."""
    world = build_world(session)
    supplier = world.principal(Role.SUPPLIER_ADMIN)
    s1 = world.orgs["s1"]
    assessment = start_assessment(
        session, supplier, s1.organisation_id, s1.product_id, "supplier-saas"
    )
    for form in ANSWERS:
        save_answer(session, supplier, assessment.id, form)
    submit_assessment(session, supplier, assessment.id)
    return world, assessment.id


def accept_all(session: Session, world: World, assessment_id: int) -> None:
    assessor = world.principal(Role.NATIONAL_ASSESSOR)
    answer_ids = session.scalars(
        select(Answer.id).where(Answer.assessment_id == assessment_id).order_by(Answer.id)
    ).all()
    for answer_id in answer_ids:
        review_answer(session, assessor, answer_id, "accept")


def build_accepted(sessions: sessionmaker[Session]) -> Accepted:
    with transaction(sessions) as session:
        world, assessment_id = submitted_assessment(session)
        accept_all(session, world, assessment_id)
        run_id = _latest_tls_run(session, world)
    return Accepted(world, assessment_id, run_id)


@pytest.fixture
def accepted(sessions: sessionmaker[Session]) -> Accepted:
    return build_accepted(sessions)


def _ours(node: dict, name: str) -> list[str]:
    return [p["value"] for p in node.get("props", []) if p["name"] == name and p["ns"] == NAMESPACE]


def _export(sessions: sessionmaker[Session], principal: Principal, assessment_id: int) -> dict:
    with sessions() as session:
        return export_assessment_results(session, principal, assessment_id)


def test_an_accepted_assessment_exports_valid_results_with_each_outcomes_level(
    sessions: sessionmaker[Session], accepted: Accepted
) -> None:
    assessor = accepted.world.principal(Role.NATIONAL_ASSESSOR)
    document = _export(sessions, assessor, accepted.assessment_id)
    assert oscal_schema_errors(document) == []
    result = document["assessment-results"]["results"][0]
    findings = {f["target"]["target-id"]: f for f in result["findings"]}
    for outcome_id, level in EXPECTED_LEVELS.items():
        assert _ours(findings[outcome_id], "claimed-level") == [level], outcome_id
        assert _ours(findings[outcome_id], "outcome-urn") == [
            outcome_urn("ptsbd", "1.0", outcome_id)
        ]
        assert findings[outcome_id]["target"]["type"] == "objective-id"
    states = {key: f["target"]["status"]["state"] for key, f in findings.items()}
    assert states["A1.a"] == states["A2.a"] == "satisfied"
    assert states["C3.b"] == states["B1.a"] == states["E1.a"] == "not-satisfied"
    assert "not-achieved indicator B1.a.NA1 holds" in findings["B1.a"]["description"]
    assert _ours(findings["A1.a"], "provenance") == ["independent"]
    assert _ours(findings["A1.a"], "review-status") == ["accepted"]
    assert _ours(findings["E1.a"], "provenance") == ["none"]
    reviewed = result["reviewed-controls"]["control-selections"][0]["include-controls"]
    assert {c["control-id"] for c in reviewed} == set(findings)


def test_the_latest_check_findings_are_linked_to_the_outcomes_they_bear_on(
    sessions: sessionmaker[Session], accepted: Accepted
) -> None:
    document = _export(
        sessions, accepted.world.principal(Role.NATIONAL_ASSESSOR), accepted.assessment_id
    )
    result = document["assessment-results"]["results"][0]
    observations = {o["uuid"]: o for o in result["observations"]}
    c3b = next(f for f in result["findings"] if f["target"]["target-id"] == "C3.b")
    linked = [observations[r["observation-uuid"]] for r in c3b["related-observations"]]
    tests = [o for o in linked if o["methods"] == ["TEST"]]
    assert len(tests) == 1  # the world's older TLS run is no longer the latest
    assert _ours(tests[0], "finding-urn") == [finding_urn("PQC-TLS-001")]
    assert _ours(tests[0], "severity") == ["high"]
    assert _ours(tests[0], "check-run-id") == [str(accepted.latest_run_id)]
    assert tests[0]["title"] == "No quantum-safe key exchange offered"
    examined = [o for o in linked if o["methods"] == ["EXAMINE"]]
    assert _ours(examined[0], "indicator-met") == [
        "urn:policetech-assure:indicator:ptsbd-1.0:c3.b.pa1"
    ]
    a1a = next(f for f in result["findings"] if f["target"]["target-id"] == "A1.a")
    assert all(
        observations[r["observation-uuid"]]["methods"] == ["EXAMINE"]
        for r in a1a["related-observations"]
    )


def test_the_plan_reference_names_the_framework_version_in_back_matter(
    sessions: sessionmaker[Session], accepted: Accepted
) -> None:
    document = _export(
        sessions, accepted.world.principal(Role.NATIONAL_ASSESSOR), accepted.assessment_id
    )["assessment-results"]
    href = document["import-ap"]["href"]
    resources = {r["uuid"]: r for r in document["back-matter"]["resources"]}
    assert href.startswith("#")
    assert _ours(resources[href[1:]], "framework-urn") == [
        "urn:policetech-assure:framework:ptsbd-1.0"
    ]


def test_the_supplier_exports_its_own_accepted_assessment_the_same(
    sessions: sessionmaker[Session], accepted: Accepted
) -> None:
    world = accepted.world
    own = _export(sessions, world.principal(Role.SUPPLIER_ADMIN), accepted.assessment_id)
    assert own == _export(sessions, world.principal(Role.NATIONAL_ASSESSOR), accepted.assessment_id)


def test_a_submitted_or_partly_reviewed_assessment_is_refused(
    sessions: sessionmaker[Session],
) -> None:
    with transaction(sessions) as session:
        world, assessment_id = submitted_assessment(session)
    assessor = world.principal(Role.NATIONAL_ASSESSOR)
    with pytest.raises(ValidationFailed, match=r"is submitted; only an assessment an assessor"):
        _export(sessions, assessor, assessment_id)
    with transaction(sessions) as session:
        first = session.scalar(select(Answer.id).where(Answer.assessment_id == assessment_id))
        assert first is not None
        review_answer(session, assessor, first, "accept")
    with pytest.raises(ValidationFailed, match="is under review"):
        _export(sessions, assessor, assessment_id)


def test_a_draft_is_refused(sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as session:
        world = build_world(session)
    draft = world.orgs["s2"].draft_assessment_id
    with pytest.raises(ValidationFailed, match="is draft"):
        _export(sessions, world.principal(Role.NATIONAL_ASSESSOR), draft)


def test_another_tenant_gets_not_found_as_for_a_missing_assessment(
    sessions: sessionmaker[Session], accepted: Accepted
) -> None:
    world = accepted.world
    other = world.principal(Role.SUPPLIER_ADMIN, "s2")
    with pytest.raises(NotFound, match="assessment not found"):
        _export(sessions, other, accepted.assessment_id)
    with pytest.raises(NotFound, match="assessment not found"):
        _export(sessions, other, 999_999)
    with pytest.raises(PermissionDenied):  # procurement officers do not read assessments
        _export(sessions, world.principal(Role.PROCUREMENT_OFFICER), accepted.assessment_id)


def test_hostile_names_and_justifications_still_export_valid_results(
    sessions: sessionmaker[Session], accepted: Accepted
) -> None:
    # The portal strips names; a row written some other way may hold anything PostgreSQL takes.
    hostile = '  Vault\u202e"}]\n\x07<script>' + "x" * 150 + "\t  "
    with transaction(sessions) as session:
        session.execute(
            update(Product)
            .where(Product.id == accepted.world.orgs["s1"].product_id)
            .values(name=hostile)
        )
        session.execute(
            update(Answer)
            .where(Answer.assessment_id == accepted.assessment_id, Answer.outcome_id == "A2.a")
            .values(justification="\x1b[2J }]}\u202e\n" * 300)
        )
    document = _export(
        sessions, accepted.world.principal(Role.NATIONAL_ASSESSOR), accepted.assessment_id
    )
    assert oscal_schema_errors(document) == []
    component = document["assessment-results"]["results"][0]["local-definitions"]["components"]
    assert component[0]["title"] == 'Vault "}] <script>' + "x" * 150
    a2a = next(
        f
        for f in document["assessment-results"]["results"][0]["findings"]
        if f["target"]["target-id"] == "A2.a"
    )
    assert "\x1b[2J }]}" in a2a["target"]["status"]["remarks"]


def test_the_document_is_the_same_every_time_for_one_acceptance(
    sessions: sessionmaker[Session], accepted: Accepted
) -> None:
    assessor = accepted.world.principal(Role.NATIONAL_ASSESSOR)
    assert _export(sessions, assessor, accepted.assessment_id) == _export(
        sessions, assessor, accepted.assessment_id
    )
    with sessions() as session:
        assessment = session.get(Assessment, accepted.assessment_id)
        assert assessment is not None
        assert assessment.status == AssessmentStatus.ACCEPTED


def _input(outcome_id: str) -> AssessmentResultsInput:
    when = datetime(2026, 11, 1, tzinfo=UTC)
    return AssessmentResultsInput(
        assessment_id=1,
        assessment_version=1,
        organisation_name="Force",
        framework_id="ptsbd",
        framework_version="1.0",
        framework_title="PoliceTech Secure by Design",
        content_sha256="0" * 64,
        profile_id="force-baseline",
        profile_title="Force baseline",
        submitted_at=when,
        accepted_at=when,
        outcomes=[
            OutcomeResult(
                outcome_id=outcome_id,
                label="An outcome",
                level="achieved",
                rule="every achieved indicator holds",
            )
        ],
    )


def test_an_organisation_subject_is_a_party_and_validates() -> None:
    document = assessment_results_document(_input("A1.a"))
    assert oscal_schema_errors(document) == []
    result = document["assessment-results"]["results"][0]
    assert "local-definitions" not in result
    parties = document["assessment-results"]["metadata"]["parties"]
    assert parties[0]["name"] == "Force"


def test_an_outcome_id_oscal_cannot_name_is_refused_while_building() -> None:
    # OSCAL control ids are tokens; a colon, as in OWASP's API1:2023, is not allowed in one.
    with pytest.raises(ValidationError, match="target_id"):
        assessment_results_document(_input("API1:2023"))
