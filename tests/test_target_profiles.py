"""A supplier's target profile follows from its facts: it cannot be chosen, a change of facts
re-targets its assessments with an audit event and an alert to the supplier, and an assessor may
raise it with a reason but never lower it."""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime

import pytest
from sqlalchemy import func, select

from frameworks.loader import default_framework
from kernel.errors import ValidationFailed
from posture.audit import SYSTEM
from posture.identity.permissions import NotFound, PermissionDenied
from posture.monitoring.inbox import alert_table
from posture.scoring.service import explain_entity
from posture.storage.engine import transaction
from posture.storage.models import Alert, Assessment, AuditEvent, ProfileRaise
from posture.storage.models.enums import Role
from posture.target_profiles import retarget_estate
from supplier_portal import assessments, products
from supplier_portal.forms import AnswerForm
from supplier_portal.product_fields import ProductChanges, ProductFields
from supplier_portal.profile_raises import RaiseForm, raise_profile
from tests.jobs.schedule import due_on_a_day, task_at, worker_huey

CRITICAL = "supplier-critical-national"
# Facts that ask for nothing more than the hosting does: each test changes the ones it is about.
DECLARED = {"vetting": "nppv2", "forces_served": 1, "records_held": 10_000}
SECRET_ABROAD = {
    "name": "Overseas Intelligence Cloud",
    "category": "analytics",
    "deployment_model": "saas",
    "max_classification": "secret",
    "data_locations": ["us"],
    **DECLARED,
}


def _profiles(sessions, product_id: int) -> dict[str, str]:  # type: ignore[no-untyped-def]
    with sessions() as session:
        rows = session.execute(
            select(Assessment.status, Assessment.profile_id).where(
                Assessment.product_id == product_id
            )
        ).all()
    return {str(status): profile for status, profile in rows}


def _count(sessions, model, *where) -> int:  # type: ignore[no-untyped-def]
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def test_a_secret_saas_product_abroad_is_critical_national_whatever_it_asks_for(
    world_db,
) -> None:
    world, sessions, _ = world_db
    me = world.principal(Role.SUPPLIER_ADMIN)
    org = world.orgs["s1"].organisation_id
    with transaction(sessions) as session:
        product_id = products.create_product(
            session, me, org, ProductFields.model_validate(SECRET_ABROAD)
        ).id
    for asked in ("supplier-on-premises", "supplier-saas", "force-enhanced"):
        with (
            pytest.raises(ValidationFailed, match=r"derived from its facts, not chosen") as refused,
            transaction(sessions) as session,
        ):
            assessments.start_assessment(session, me, org, product_id, asked)
        assert f"{CRITICAL} because it holds SECRET" in str(refused.value)
    assert _count(sessions, Assessment, Assessment.product_id == product_id) == 0
    with transaction(sessions) as session:
        draft = assessments.start_assessment(session, me, org, product_id)
        draft_id = draft.id
        assert draft.profile_id == CRITICAL
        # The data location outcome an on-premises profile puts out of scope is in scope.
        loaded = default_framework()
        location = loaded.framework.outcome("A4.b")
        assert loaded.profiles[CRITICAL].target_for(location) == "achieved"
        assessments.save_answer(
            session, me, draft_id, AnswerForm(outcome_id="A4.b", indicators_met=["A4.b.A1"])
        )
    with sessions() as session:
        target = assessments.supplier_target(session, me, org, product_id)
    assert target.explain() == f"{CRITICAL} because it holds SECRET"


def test_the_derivation_explains_itself_and_the_same_facts_give_the_same_words(world_db) -> None:
    world, sessions, _ = world_db
    me = world.principal(Role.SUPPLIER_ADMIN)
    org = world.orgs["s1"].organisation_id
    facts = {
        "category": "command_and_control",
        "deployment_model": "on_premises",
        "police_networks": ["pnn"],
        "max_classification": "official",
        "sensitive_caveat": True,
        **DECLARED,
    }
    explained = []
    with transaction(sessions) as session:
        for name in ("Control Room A", "Control Room B"):
            form = ProductFields.model_validate({"name": name, **facts})
            product = products.create_product(session, me, org, form)
            explained.append(assessments.supplier_target(session, me, org, product.id).explain())
    assert (
        explained
        == [f"{CRITICAL} because it connects to PNN and holds OFFICIAL with the SENSITIVE caveat"]
        * 2
    )


def test_changing_a_products_facts_retargets_its_assessments_and_tells_the_supplier(
    world_db,
) -> None:
    world, sessions, _ = world_db
    me = world.principal(Role.SUPPLIER_ADMIN)
    product_id = world.orgs["s1"].product_id
    assert _profiles(sessions, product_id) == {
        "submitted": "supplier-saas",
        "draft": "supplier-saas",
    }
    with transaction(sessions) as session:
        products.amend_product(session, me, product_id, ProductChanges(description="v2"))
    assert _count(sessions, AuditEvent, AuditEvent.action == "assessment.retargeted") == 0

    changes = ProductChanges.model_validate({"national_systems": ["pnd"]})
    with transaction(sessions) as session:
        products.amend_product(session, me, product_id, changes)
    assert _profiles(sessions, product_id) == {"submitted": CRITICAL, "draft": CRITICAL}
    with sessions() as session:
        moved = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "assessment.retargeted")
        ).all()
        # The product's draft and submitted assessment, and the supplier's own (it meets its
        # most demanding product's profile).
        assert sorted(e.shown_data["to"] for e in moved) == [CRITICAL] * 3
        assert {e.shown_data["from"] for e in moved} == {"supplier-saas"}
        assert sorted(e.shown_data["because"] for e in moved) == [
            f"{CRITICAL} because it has access to PND",
            f"{CRITICAL} because it has access to PND",
            f"{CRITICAL} because its product 's1 Evidence Vault' needs "
            f"{CRITICAL} because it has access to PND",
        ]
        alerts = alert_table(session, me, product_id=product_id)
    assert alerts["code"].tolist() == ["MON-PROFILE-RETARGETED"]
    # Another supplier is not told.
    with sessions() as session:
        theirs = alert_table(session, world.principal(Role.SUPPLIER_ADMIN, org="s2"))
    assert "MON-PROFILE-RETARGETED" not in theirs["code"].tolist()

    # The product's score is now measured against the new profile.
    with sessions() as session:
        explained = explain_entity(session, f"product:{product_id}", date(2026, 12, 6))
    assert explained["profile"] == CRITICAL

    # Facts can come down again: the draft follows them, but the submitted assessment keeps
    # the bar it was submitted against (its next version is measured against the new one), and
    # a gate still passes on it, since it proves the lower target too.
    with transaction(sessions) as session:
        products.amend_product(
            session, me, product_id, ProductChanges.model_validate({"national_systems": []})
        )
    assert _profiles(sessions, product_id) == {"submitted": CRITICAL, "draft": "supplier-saas"}
    assert _count(sessions, Alert, Alert.code == "MON-PROFILE-RETARGETED") == 2


def test_a_supplier_as_a_whole_meets_its_most_demanding_product(world_db) -> None:
    world, sessions, _ = world_db
    me = world.principal(Role.SUPPLIER_ADMIN)
    org = world.orgs["s1"].organisation_id
    own = Assessment.product_id.is_(None), Assessment.organisation_id == org
    with sessions() as session:
        assert session.scalar(select(Assessment.profile_id).where(*own)) == "supplier-saas"
    with transaction(sessions) as session:
        secret = products.create_product(
            session, me, org, ProductFields.model_validate(SECRET_ABROAD)
        )
    with sessions() as session:
        assert session.scalar(select(Assessment.profile_id).where(*own)) == CRITICAL
        target = assessments.supplier_target(session, me, org, None)
    assert target.explain().startswith(
        f"{CRITICAL} because its product 'Overseas Intelligence Cloud' needs {CRITICAL}"
    )
    with transaction(sessions) as session:
        products.withdraw_product(session, me, secret.id)
    with sessions() as session:
        # The supplier's own assessment was submitted against the critical profile and keeps it;
        # a new draft would be measured against the lower target.
        assert session.scalar(select(Assessment.profile_id).where(*own)) == CRITICAL
        target = assessments.supplier_target(session, me, org, None)
    assert target.profile_id == "supplier-saas"


def test_a_force_still_chooses_its_own_profile_and_never_a_suppliers(world_db) -> None:
    world, sessions, _ = world_db
    me = world.principal(Role.FORCE_ASSESSOR)
    org = world.orgs["f1"].organisation_id
    with (
        pytest.raises(ValidationFailed, match=r"choose the force profile"),
        transaction(sessions) as s,
    ):
        assessments.start_assessment(s, me, org, None)
    with (
        pytest.raises(ValidationFailed, match=r"is for supplier subjects"),
        transaction(sessions) as s,
    ):
        assessments.start_assessment(s, me, org, None, "supplier-saas")
    with transaction(sessions) as session:
        draft = assessments.start_assessment(session, me, org, None, "force-enhanced", "ptsbd")
        assert draft.profile_id == "force-baseline"  # the open draft, kept as it was started


def test_an_assessor_raises_a_profile_with_a_reason_and_can_never_lower_it(world_db) -> None:
    world, sessions, _ = world_db
    assessor = world.principal(Role.NATIONAL_ASSESSOR)
    product_id = world.orgs["s1"].product_id
    reason = "Feeds custody images to a national service from next quarter"
    with transaction(sessions) as session:
        _, moved = raise_profile(
            session, assessor, product_id, RaiseForm(profile_id=CRITICAL, reason=reason)
        )
    assert {m.after for m in moved} == {CRITICAL}
    assert _profiles(sessions, product_id) == {"submitted": CRITICAL, "draft": CRITICAL}
    with sessions() as session:
        target = assessments.supplier_target(
            session,
            world.principal(Role.SUPPLIER_ADMIN),
            world.orgs["s1"].organisation_id,
            product_id,
        )
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "product.profile_raised")
        ).one()
    assert target.explain().startswith(f"{CRITICAL}, raised by an assessor from supplier-saas")
    assert reason in target.explain()
    assert event.shown_data["to"] == CRITICAL
    assert event.shown_data["reason"] == reason

    # The raise holds when the facts would derive less.
    me = world.principal(Role.SUPPLIER_ADMIN)
    with transaction(sessions) as session:
        products.amend_product(
            session, me, product_id, ProductChanges(deployment_model="on_premises")
        )
    assert _profiles(sessions, product_id) == {"submitted": CRITICAL, "draft": CRITICAL}

    refusals = [
        (RaiseForm(profile_id="supplier-saas", reason=reason), r"never lowered"),
        (RaiseForm(profile_id=CRITICAL, reason=reason), r"must already meet"),
        (RaiseForm(profile_id="force-enhanced", reason=reason), r"not a supplier profile"),
        (
            RaiseForm(profile_id="caf-baseline", reason=reason, framework="ncsc-caf-4.0"),
            r"has no profile for suppliers",
        ),
    ]
    for form, message in refusals:
        before = _count(sessions, AuditEvent)
        with pytest.raises(ValidationFailed, match=message), transaction(sessions) as session:
            raise_profile(session, assessor, product_id, form)
        assert _count(sessions, AuditEvent) == before
    with pytest.raises(ValueError, match=r"at least 10 characters"):
        RaiseForm(profile_id=CRITICAL, reason="because")
    with pytest.raises(ValueError, match=r"String should match pattern"):
        RaiseForm(profile_id=CRITICAL, reason="a reason with a bell \x07 in it")


@pytest.mark.parametrize(
    "role", [Role.SUPPLIER_ADMIN, Role.FORCE_ASSESSOR, Role.PROCUREMENT_OFFICER]
)
def test_only_an_assessor_may_raise_a_profile(world_db, role: Role) -> None:
    world, sessions, _ = world_db
    product_id = world.orgs["s1"].product_id
    form = RaiseForm(profile_id=CRITICAL, reason="A reason long enough to be one")
    with pytest.raises(PermissionDenied), transaction(sessions) as session:
        raise_profile(session, world.principal(role), product_id, form)
    assert _count(sessions, ProfileRaise) == 0
    assert _profiles(sessions, product_id) == {
        "submitted": "supplier-saas",
        "draft": "supplier-saas",
    }


def test_twenty_changes_at_once_leave_every_assessment_on_the_last_facts_target(
    world_db,
) -> None:
    world, sessions, _ = world_db
    me = world.principal(Role.SUPPLIER_ADMIN)
    product_id = world.orgs["s1"].product_id
    assessor = world.principal(Role.NATIONAL_ASSESSOR)

    with transaction(sessions) as session:
        raise_profile(
            session,
            assessor,
            product_id,
            RaiseForm(profile_id=CRITICAL, reason="Raised before the facts move"),
        )

    def change(number: int) -> None:
        systems = ["pnc"] if number % 2 else []
        with transaction(sessions) as session:
            products.amend_product(
                session,
                me,
                product_id,
                ProductChanges.model_validate(
                    {"national_systems": systems, "description": f"change {number}"}
                ),
            )

    with ThreadPoolExecutor(max_workers=20) as pool:
        list(pool.map(change, range(20)))
    # Every change landed, one after another, each audited once.
    assert _count(sessions, AuditEvent, AuditEvent.action == "product.updated") == 20
    # The raise makes the critical profile the floor whatever order the changes landed in.
    assert _profiles(sessions, product_id) == {"submitted": CRITICAL, "draft": CRITICAL}
    with sessions() as session:
        events = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "assessment.retargeted")
            .order_by(AuditEvent.id)
        ).all()
    # Each move starts where the one before it ended: no change was lost or applied twice.
    for assessment_id in {e.object_id for e in events}:
        path = [e.shown_data for e in events if e.object_id == assessment_id]
        for before, after in itertools.pairwise(path):
            assert after["from"] == before["to"]


def test_a_product_that_declares_nothing_must_meet_the_most_demanding_profile(world_db) -> None:
    world, sessions, _ = world_db
    me = world.principal(Role.SUPPLIER_ADMIN)
    org = world.orgs["s1"].organisation_id
    bare = {"name": "Quiet Records", "category": "records_management", "deployment_model": "saas"}
    with transaction(sessions) as session:
        product_id = products.create_product(
            session, me, org, ProductFields.model_validate(bare)
        ).id
        draft = assessments.start_assessment(session, me, org, product_id)
        assert draft.profile_id == CRITICAL
        target = assessments.supplier_target(session, me, org, product_id)
    assert target.explain() == (
        f"{CRITICAL} because it does not declare the classification of the data it holds, "
        "where it holds data, the vetting its staff need, how many forces it serves and how "
        "many records it holds"
    )
    # Declaring them (no vetting needed is a declaration) brings the draft down to what the
    # facts ask for.
    declared = ProductChanges.model_validate(
        {
            "max_classification": "official",
            "data_locations": ["uk"],
            "vetting": "not_needed",
            "forces_served": 1,
            "records_held": 2_000,
        }
    )
    with transaction(sessions) as session:
        products.amend_product(session, me, product_id, declared)
    assert _profiles(sessions, product_id) == {"draft": "supplier-saas"}


def _left_behind(sessions, world, profile: str = "supplier-on-premises") -> int:  # type: ignore[no-untyped-def]
    """s1's draft measuring against `profile` though its facts derive supplier-saas (as after a
    release that changes the rules), with one answer."""
    me = world.principal(Role.SUPPLIER_ADMIN)
    product_id = world.orgs["s1"].product_id
    with transaction(sessions) as session:
        draft = session.scalars(
            select(Assessment).where(
                Assessment.product_id == product_id, Assessment.status == "draft"
            )
        ).one()
        draft.profile_id = profile
        assessments.save_answer(
            session, me, draft.id, AnswerForm(outcome_id="A1.a", indicators_met=[])
        )
        return draft.id


def test_a_draft_left_below_its_target_is_not_submitted_until_it_follows(world_db) -> None:
    world, sessions, _ = world_db
    me = world.principal(Role.SUPPLIER_ADMIN)
    draft_id = _left_behind(sessions, world)
    before = _count(sessions, AuditEvent)
    with (
        pytest.raises(ValidationFailed, match=r"must now meet supplier-saas because"),
        transaction(sessions) as session,
    ):
        assessments.submit_assessment(session, me, draft_id)
    assert _count(sessions, AuditEvent) == before
    assert _profiles(sessions, world.orgs["s1"].product_id)["draft"] == "supplier-on-premises"

    # Opening the draft moves it (audited, the supplier told); then it can be submitted.
    with transaction(sessions) as session:
        moved = assessments.sync_draft_target(session, me, draft_id)
    assert moved is not None
    assert (moved.before, moved.after, moved.up) == ("supplier-on-premises", "supplier-saas", True)
    with transaction(sessions) as session:
        assert assessments.sync_draft_target(session, me, draft_id) is None, "once"
        submitted = assessments.submit_assessment(session, me, draft_id)
        assert (submitted.status, submitted.profile_id) == ("submitted", "supplier-saas")
    assert _count(sessions, Alert, Alert.code == "MON-PROFILE-RETARGETED") == 1
    # Another supplier is not told it exists.
    with pytest.raises(NotFound), transaction(sessions) as session:
        assessments.sync_draft_target(
            session, world.principal(Role.SUPPLIER_ADMIN, org="s2"), draft_id
        )


def test_the_daily_run_moves_every_assessment_the_rules_left_behind(world_db) -> None:
    world, sessions, settings = world_db
    draft_id = _left_behind(sessions, world)
    huey = worker_huey(settings)
    name = "profiles.retarget"
    due = due_on_a_day(huey, name)
    assert due == [datetime(2026, 5, 1, 1, 7)]
    task = task_at(huey, name, due[0])
    assert task.execute()["summary"] == {"moved": 1}
    assert task.execute()["ran"] is False, "a second trigger on the same day runs nothing"
    with transaction(sessions) as session:
        assert retarget_estate(session, SYSTEM) == 0, "a second run finds nothing left behind"
    with sessions() as session:
        assert session.get(Assessment, draft_id).profile_id == "supplier-saas"
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "assessment.retargeted")
        ).one()
    assert event.actor_label == "system"
    assert _count(sessions, Alert, Alert.code == "MON-PROFILE-RETARGETED") == 1


def test_assessors_are_told_once_when_facts_fall_below_a_submitted_assessment(world_db) -> None:
    world, sessions, _ = world_db
    me = world.principal(Role.SUPPLIER_ADMIN)
    product_id = world.orgs["s1"].product_id
    up = ProductChanges.model_validate({"national_systems": ["pnd"]})
    with transaction(sessions) as session:
        products.amend_product(session, me, product_id, up)
    assert _profiles(sessions, product_id) == {"submitted": CRITICAL, "draft": CRITICAL}
    fell = Alert.code == "MON-PROFILE-TARGET-FELL"
    assert _count(sessions, Alert, fell) == 0
    with transaction(sessions) as session:
        products.amend_product(
            session, me, product_id, ProductChanges.model_validate({"national_systems": []})
        )
    assert _profiles(sessions, product_id) == {"submitted": CRITICAL, "draft": "supplier-saas"}
    with sessions() as session:
        told = alert_table(session, world.principal(Role.NATIONAL_ASSESSOR), product_id=product_id)
    fell_rows = told[told["code"] == "MON-PROFILE-TARGET-FELL"]
    assert len(fell_rows) == 1, "a national assessor sees it"
    # Another change of facts that leaves the same target says nothing new.
    with transaction(sessions) as session:
        products.amend_product(
            session, me, product_id, ProductChanges.model_validate({"records_held": 60_000})
        )
    assert _count(sessions, Alert, fell) == 1
