"""A force assessed against PTSbD starts a CAF 4.0 assessment: answers are offered from PTSbD
through the crosswalk, marked inferred, never counted until confirmed, and the CAF assessment is
scored on its own."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from frameworks.urns import outcome_urn
from kernel.errors import ValidationFailed
from posture.identity.permissions import Membership, NotFound, Principal
from posture.scoring.service import score_estate
from posture.storage.engine import transaction
from posture.storage.models import Answer, Assessment, AuditEvent, Organisation, User
from posture.storage.models.enums import AssessmentStatus, Role
from supplier_portal.assessment_inference import infer_into_draft
from supplier_portal.assessments import save_answer, start_assessment, submit_assessment
from supplier_portal.forms import AnswerForm
from tests.identity.world import add_force

PRIVILEGED_ACHIEVED = ["C1.b.PA1", "C1.b.A1", "C1.b.A2"]  # PTSbD C1.b, equal to CAF B2.c (9)
TRANSIT_PARTIAL = ["C2.a.PA1"]  # PTSbD C2.a, equal to CAF B3.b (9)


def _answer(session: Session, me: Principal, assessment_id: int, outcome: str, met: list[str]):
    form = AnswerForm(outcome_id=outcome, indicators_met=met)
    return save_answer(session, me, assessment_id, form)


def _caf_draft(session: Session, me: Principal, org_id: int) -> Assessment:
    return start_assessment(session, me, org_id, None, "caf-baseline", "ncsc-caf-4.0")


def _submitted_caf(sessions: sessionmaker[Session], me: Principal, org_id: int) -> None:
    """A CAF assessment with one answer of the force's own, submitted."""
    with transaction(sessions) as session:
        caf = _caf_draft(session, me, org_id)
        _answer(session, me, caf.id, "B2.c", ["B2.c.A1"])
        submit_assessment(session, me, caf.id)


@pytest.fixture
def force(sessions: sessionmaker[Session]) -> tuple[Principal, int, int]:
    """A force with a submitted PTSbD assessment; returns the assessor, org id and its id."""
    with transaction(sessions) as session:
        me = add_force(session, "kent", Role.FORCE_ASSESSOR)
        org_id = me.memberships[0].organisation_id
        ptsbd = start_assessment(session, me, org_id, None, "force-baseline")
        _answer(session, me, ptsbd.id, "C1.b", PRIVILEGED_ACHIEVED)
        _answer(session, me, ptsbd.id, "C2.a", TRANSIT_PARTIAL)
        _answer(session, me, ptsbd.id, "D1.b", ["D1.b.A1", "D1.b.A2"])  # intersects only
        submit_assessment(session, me, ptsbd.id)
        return me, org_id, ptsbd.id


def test_inferred_caf_answers_are_marked_and_name_their_source(
    sessions: sessionmaker[Session], force: tuple[Principal, int, int]
) -> None:
    me, org_id, ptsbd_id = force
    with transaction(sessions) as session:
        caf = _caf_draft(session, me, org_id)
        assert caf.framework == "ncsc-caf-4.0"
        result = infer_into_draft(session, me, caf.id)
        caf_id = caf.id
    assert result.source_assessment_id == ptsbd_id
    offered = {i.outcome_id: i for i in result.inferred}
    assert offered["B2.c"].level == "achieved"
    assert offered["B3.b"].level == "partially_achieved"
    # D1.b only intersects CAF outcomes: nothing is inferred from it.
    assert all("D1.b" not in [s.outcome_id for s in i.sources] for i in result.inferred)
    with sessions() as session:
        rows = {
            a.outcome_id: a
            for a in session.scalars(select(Answer).where(Answer.assessment_id == caf_id))
        }
    b2c = rows["B2.c"]
    assert b2c.outcome_urn == outcome_urn("ncsc-caf", "4.0", "B2.c")
    assert b2c.inferred_from["sources"] == [
        {"urn": outcome_urn("ptsbd", "1.0", "C1.b"), "label": "PoliceTech Secure by Design C1.b"}
    ]
    from supplier_portal.assessments import inferred_label

    assert (
        inferred_label(b2c) == "inferred from PoliceTech Secure by Design C1.b, confirm or change"
    )


def test_an_assessment_holding_inferred_answers_cannot_be_submitted_until_each_is_confirmed(
    sessions: sessionmaker[Session], force: tuple[Principal, int, int]
) -> None:
    me, org_id, _ = force
    with transaction(sessions) as session:
        caf = _caf_draft(session, me, org_id)
        offered = [i.outcome_id for i in infer_into_draft(session, me, caf.id).inferred]
        caf_id = caf.id
    assert offered
    with (
        pytest.raises(ValidationFailed, match=r"confirm or change the inferred answers to B2\.c"),
        transaction(sessions) as session,
    ):
        submit_assessment(session, me, caf_id)
    with transaction(sessions) as session:
        for outcome_id in offered:
            answer = session.scalar(
                select(Answer).where(
                    Answer.assessment_id == caf_id, Answer.outcome_id == outcome_id
                )
            )
            # Confirming is saving: the person stands behind the answer from now on.
            _answer(session, me, caf_id, outcome_id, list(answer.indicators_met))
        submitted = submit_assessment(session, me, caf_id)
        assert submitted.status == AssessmentStatus.SUBMITTED
    with sessions() as session:
        left = session.scalar(
            select(func.count())
            .select_from(Answer)
            .where(Answer.assessment_id == caf_id, Answer.inferred_from.is_not(None))
        )
        confirmed = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "answer.saved")
            .order_by(AuditEvent.id.desc())
        ).first()
    assert left == 0
    assert confirmed is not None
    assert confirmed.shown_data["confirmed_inferred"] is True


def test_a_caf_assessment_is_scored_against_caf_and_leaves_the_ptsbd_one_current(
    sessions: sessionmaker[Session], force: tuple[Principal, int, int]
) -> None:
    from posture.assessment_frameworks import framework_named

    me, org_id, ptsbd_id = force
    with transaction(sessions) as session:
        caf = _caf_draft(session, me, org_id)
        assert caf.version == 1
        assert caf.supersedes_id is None
        _answer(session, me, caf.id, "B2.c", ["B2.c.A1"])
        submit_assessment(session, me, caf.id)
    with transaction(sessions) as session:
        assert session.get(Assessment, ptsbd_id).status == AssessmentStatus.SUBMITTED
        caf_scores = score_estate(session, date.today(), loaded=framework_named("ncsc-caf-4.0"))
        ptsbd_scores = score_estate(session, date.today())
    assert len(caf_scores.subjects) == 1
    assert len(ptsbd_scores.subjects) == 1
    assert caf_scores.score[0] != ptsbd_scores.score[0]


def test_a_drafts_own_answers_are_never_overwritten_by_inference(
    sessions: sessionmaker[Session], force: tuple[Principal, int, int]
) -> None:
    me, org_id, _ = force
    with transaction(sessions) as session:
        caf = _caf_draft(session, me, org_id)
        own = _answer(session, me, caf.id, "B2.c", ["B2.c.NA1"])
        result = infer_into_draft(session, me, caf.id)
        assert "B2.c" in result.kept
        assert own.indicators_met == ["B2.c.NA1"]
        assert own.inferred_from is None


def test_inference_refuses_another_forces_assessment_and_a_non_draft(
    sessions: sessionmaker[Session], force: tuple[Principal, int, int]
) -> None:
    me, _org_id, ptsbd_id = force
    with transaction(sessions) as session:
        other = add_force(session, "essex", Role.FORCE_ASSESSOR)
        other_org = other.memberships[0].organisation_id
        their_caf = start_assessment(
            session, other, other_org, None, "caf-baseline", "ncsc-caf-4.0"
        )
        their_id = their_caf.id
    with pytest.raises(NotFound), transaction(sessions) as session:
        infer_into_draft(session, other, their_id, source_id=ptsbd_id)
    with (
        pytest.raises(ValidationFailed, match="no submitted assessment against a framework"),
        transaction(sessions) as session,
    ):
        infer_into_draft(session, other, their_id)
    with (
        pytest.raises(ValidationFailed, match="only into a draft"),
        transaction(sessions) as session,
    ):
        infer_into_draft(session, me, ptsbd_id)
    with sessions() as session:
        assert (
            session.scalar(
                select(func.count()).select_from(Answer).where(Answer.assessment_id == their_id)
            )
            == 0
        )


def test_an_unknown_framework_is_refused_with_the_known_ones(
    sessions: sessionmaker[Session], force: tuple[Principal, int, int]
) -> None:
    me, org_id, _ = force
    with (
        pytest.raises(ValidationFailed, match=r"unknown framework 'ncsc-caf-3\.2'.*ncsc-caf-4\.0"),
        transaction(sessions) as session,
    ):
        start_assessment(session, me, org_id, None, "caf-baseline", "ncsc-caf-3.2")
    with (
        pytest.raises(ValidationFailed, match="unknown profile 'force-baseline'"),
        transaction(sessions) as session,
    ):
        start_assessment(session, me, org_id, None, "force-baseline", "ncsc-caf-4.0")


def test_twenty_concurrent_inferences_into_one_draft_write_each_answer_once(
    sessions: sessionmaker[Session], force: tuple[Principal, int, int]
) -> None:
    me, org_id, _ = force
    with transaction(sessions) as session:
        caf_id = _caf_draft(session, me, org_id).id

    def infer(_: int) -> int:
        with transaction(sessions) as session:
            return len(infer_into_draft(session, me, caf_id).inferred)

    with ThreadPoolExecutor(max_workers=20) as pool:
        written = list(pool.map(infer, range(20)))
    with sessions() as session:
        rows = session.scalars(
            select(Answer.outcome_id).where(Answer.assessment_id == caf_id)
        ).all()
    assert sorted(written, reverse=True)[0] == len(rows) > 0
    assert sum(written) == len(rows)  # the first writes them all; the rest find them answered
    assert len(set(rows)) == len(rows)


def test_snapshots_and_dashboards_are_per_framework(
    sessions: sessionmaker[Session], force: tuple[Principal, int, int]
) -> None:
    from datetime import UTC, datetime, timedelta

    from posture.assessment_frameworks import framework_named
    from posture.audit import Actor
    from posture.dashboards import snapshot_frameworks, snapshot_runs, weakest_objectives
    from posture.scoring.snapshots import store_snapshots

    me, org_id, _ = force
    _submitted_caf(sessions, me, org_id)
    caf_at = datetime.now(UTC).replace(microsecond=0)
    ptsbd_at = caf_at.replace(second=0) - timedelta(minutes=5)
    with transaction(sessions) as session:
        for key, at in (("ptsbd-1.0", ptsbd_at), ("ncsc-caf-4.0", caf_at)):
            loaded = framework_named(key)
            scores = score_estate(session, at.date(), loaded=loaded)
            assert store_snapshots(session, Actor("test"), loaded, scores, at) == 1
    with sessions() as session:
        assert snapshot_frameworks(session, me) == [("ptsbd", "1.0"), ("ncsc-caf", "4.0")]
        ptsbd_runs = snapshot_runs(session, me)
        caf_runs = snapshot_runs(session, me, ("ncsc-caf", "4.0"))
        # The newer CAF run is not PTSbD's latest: scores of two frameworks never mix.
        assert (ptsbd_runs.latest, ptsbd_runs.previous) == (ptsbd_at, None)
        assert (caf_runs.latest, caf_runs.previous) == (caf_at, None)
        assert snapshot_runs(session, me, ("cyber-essentials", "3.3")).latest is None
        caf_objectives = set(weakest_objectives(session, me, caf_runs)["objective"])
        ptsbd_objectives = set(weakest_objectives(session, me, ptsbd_runs)["objective"])
    assert caf_objectives
    assert caf_objectives <= {"A", "B", "C", "D"}
    assert "E" in ptsbd_objectives  # PTSbD's objective E (resilience and exit) is not the CAF's


def test_the_score_command_scores_and_snapshots_one_framework(
    sessions: sessionmaker[Session], force: tuple[Principal, int, int], backend_settings
) -> None:
    import json

    from typer.testing import CliRunner

    from assure_cli.score import app

    me, org_id, _ = force
    _submitted_caf(sessions, me, org_id)
    runner = CliRunner()
    env = {
        "ASSURE_DATA_DIR": str(backend_settings.data_dir),
        "ASSURE_DATABASE_URL": backend_settings.effective_database_url,
    }
    result = runner.invoke(app, ["--framework", "ncsc-caf-4.0", "--snapshot", "--json"], env=env)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["subjects"] == 1
    assert report["snapshots_stored"] == 1
    refused = runner.invoke(app, ["--framework", "ncsc-caf-9.9"], env=env)
    assert refused.exit_code != 0
    assert "unknown framework 'ncsc-caf-9.9'" in refused.output


def test_a_caf_assessment_filled_by_inference_is_accepted_and_exports_valid_oscal_results(
    sessions: sessionmaker[Session], force: tuple[Principal, int, int]
) -> None:
    """The issue's whole path: infer, confirm, submit, accept, export, validate."""
    from frameworks.oscal.export import NAMESPACE
    from frameworks.oscal.validation import oscal_schema_errors
    from posture.assessment_export import export_assessment_results
    from supplier_portal.reviews import review_answer

    me, org_id, _ = force
    with transaction(sessions) as session:
        caf = _caf_draft(session, me, org_id)
        caf_id = caf.id
        for inferred in infer_into_draft(session, me, caf_id).inferred:
            _answer(session, me, caf_id, inferred.outcome_id, list(inferred.indicators_met))
        _answer(session, me, caf_id, "C1.f", ["C1.f.NA1"])  # no PTSbD outcome speaks for it
        submit_assessment(session, me, caf_id)
        national = Organisation(slug="ncpb", name="National body", kind="national_body")
        user = User(email="assessor@national.police.uk", display_name="National assessor")
        session.add_all([national, user])
        session.flush()
        assessor = Principal(
            user.id, user.email, (Membership(national.id, Role.NATIONAL_ASSESSOR),)
        )
        for answer_id in session.scalars(select(Answer.id).where(Answer.assessment_id == caf_id)):
            review_answer(session, assessor, answer_id, "accept")
    with sessions() as session:
        assert session.get(Assessment, caf_id).status == AssessmentStatus.ACCEPTED
        document = export_assessment_results(session, assessor, caf_id)
    assert oscal_schema_errors(document) == []
    findings = document["assessment-results"]["results"][0]["findings"]
    by_outcome = {f["target"]["target-id"]: f for f in findings}

    def ours(node: dict, name: str) -> list[str]:
        return [
            p["value"] for p in node.get("props", []) if p["name"] == name and p["ns"] == NAMESPACE
        ]

    assert ours(by_outcome["B2.c"], "outcome-urn") == [outcome_urn("ncsc-caf", "4.0", "B2.c")]
    assert by_outcome["B2.c"]["target"]["status"]["state"] == "satisfied"
    assert by_outcome["C1.f"]["target"]["status"]["state"] == "not-satisfied"


def test_an_answer_an_assessor_rejected_speaks_for_nothing_elsewhere(
    sessions: sessionmaker[Session], force: tuple[Principal, int, int]
) -> None:
    from sqlalchemy import update

    me, org_id, ptsbd_id = force
    with transaction(sessions) as session:
        session.execute(
            update(Answer)
            .where(Answer.assessment_id == ptsbd_id, Answer.outcome_id == "C1.b")
            .values(review_status="rejected")
        )
        caf = _caf_draft(session, me, org_id)
        offered = {i.outcome_id for i in infer_into_draft(session, me, caf.id).inferred}
    assert "B2.c" not in offered  # it came only from the rejected C1.b
    assert "B3.b" in offered


def test_one_draft_per_framework_family_and_another_version_is_refused(
    sessions: sessionmaker[Session], force: tuple[Principal, int, int]
) -> None:
    me, org_id, _ = force
    with transaction(sessions) as session:
        old = start_assessment(
            session, me, org_id, None, "cyber-essentials-force", "cyber-essentials-3.2"
        )
        again = start_assessment(
            session, me, org_id, None, "cyber-essentials-force", "cyber-essentials-3.2"
        )
        assert again.id == old.id
    with (
        pytest.raises(ValidationFailed, match=r"a draft against cyber-essentials-3\.2 is open"),
        transaction(sessions) as session,
    ):
        start_assessment(
            session, me, org_id, None, "cyber-essentials-force", "cyber-essentials-3.3"
        )


def test_with_no_source_named_the_newest_crosswalked_assessment_is_used(
    sessions: sessionmaker[Session], force: tuple[Principal, int, int]
) -> None:
    """A CAF assessment submitted after the PTSbD one cannot speak for Cyber Essentials (no
    crosswalk joins them), so the PTSbD one is used."""
    me, org_id, ptsbd_id = force
    _submitted_caf(sessions, me, org_id)
    with transaction(sessions) as session:
        ce = start_assessment(
            session, me, org_id, None, "cyber-essentials-force", "cyber-essentials-3.3"
        )
        result = infer_into_draft(session, me, ce.id)
    assert result.source_assessment_id == ptsbd_id
    assert result.source_framework == "ptsbd-1.0"
    assert [i.outcome_id for i in result.inferred] == ["administrative-accounts"]


def test_an_answer_cannot_be_moved_to_another_outcome(
    sessions: sessionmaker[Session], force: tuple[Principal, int, int]
) -> None:
    me, org_id, _ = force
    with transaction(sessions) as session:
        caf = _caf_draft(session, me, org_id)
        answer = _answer(session, me, caf.id, "B2.c", ["B2.c.A1"])
        answer.outcome_id = "B2.a"
        with pytest.raises(ValueError, match="outcome_id cannot change"):
            session.flush()
        session.rollback()
