"""A force's SIRO excuses a product it deploys from one in-scope outcome, for no longer than the
appetite allows (less for a critical outcome), once at a time; the exception shows in the
product's score explanation and to buyers, and changes no score. Refusals change nothing."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy.orm import Session, sessionmaker

from kernel.errors import ValidationFailed
from posture.identity.permissions import Membership, NotFound, PermissionDenied, Principal
from posture.portfolio.deployments import deploy_product, end_deployment
from posture.risk.exceptions import (
    ExceptionForm,
    active_exceptions,
    exception_counts,
    grant_exception,
    revoke_exception,
)
from posture.scoring.service import explain_entity
from posture.storage.engine import transaction
from posture.storage.models import Membership as MembershipRow
from posture.storage.models import Organisation, OutcomeException, Product, User
from posture.storage.models.enums import Role
from supplier_portal.procurement import shortlists
from supplier_portal.procurement.facts import product_facts
from supplier_portal.procurement.gates import Gates, evaluate
from supplier_portal.procurement.shortlists import ProductInputs, RequirementForm
from tests.procurement import conftest as procurement
from tests.risk_register.listing import list_product
from tests.risk_register.test_treatments import count, events, second_force, snapshot

TODAY = date(2026, 12, 6)
CONTROLS = "Vault access only from the force network, reviewed weekly by the ISO."
RATIONALE = "The supplier's fix ships in the next release; the force needs the vault now."


def _form(world, days: int = 90, outcome: str = "A4.b", **changes: Any) -> ExceptionForm:  # type: ignore[no-untyped-def]
    fields = {
        "organisation_id": world.orgs["f1"].organisation_id,
        "product_id": world.orgs["s1"].product_id,
        "outcome_id": outcome,
        "compensating_controls": CONTROLS,
        "rationale": RATIONALE,
        "expires_on": TODAY + timedelta(days=days),
        **changes,
    }
    return ExceptionForm.model_validate(fields)


def _grant(sessions, principal, form, today=TODAY) -> OutcomeException:  # type: ignore[no-untyped-def]
    with transaction(sessions) as session:
        return grant_exception(session, principal, form, today)


def _deploy(sessions: sessionmaker[Session], world, org: str = "f1") -> None:  # type: ignore[no-untyped-def]
    with transaction(sessions) as session:
        product_id = world.orgs["s1"].product_id
        list_product(session, product_id)
        deploy_product(
            session,
            world.principal(Role.FORCE_ASSESSOR),
            world.orgs[org].organisation_id,
            world.orgs["s1"].product_id,
        )


@pytest.fixture
def deployed(world_db):  # type: ignore[no-untyped-def]
    world, sessions, _ = world_db
    _deploy(sessions, world)
    return world, sessions


def test_a_siro_excuses_a_critical_outcome_for_ninety_days(deployed) -> None:
    world, sessions = deployed
    exception = _grant(sessions, world.principal(Role.SIRO), _form(world, days=90))
    assert (exception.framework_id, exception.outcome_id) == ("ptsbd-1.0", "A4.b")
    assert exception.expires_on == date(2027, 3, 6)
    (event,) = events(sessions, "risk.exception_granted")
    assert event.data["exception_id"] == exception.id
    assert event.data["outcome_id"] == "A4.b"
    assert event.data["framework_id"] == "ptsbd-1.0"
    assert event.data["expires_on"] == "2027-03-06"
    assert event.shown_data["compensating_controls"] == CONTROLS
    assert event.organisation_id == world.orgs["f1"].organisation_id


def test_a_critical_outcome_is_excused_for_ninety_days_at_most(deployed) -> None:
    world, sessions = deployed
    before = snapshot(sessions)
    with pytest.raises(ValidationFailed, match="critical outcome may run for at most 90 days"):
        _grant(sessions, world.principal(Role.SIRO), _form(world, days=91))
    assert snapshot(sessions) == before


def test_another_outcome_may_run_for_180_days_but_not_181(deployed) -> None:
    world, sessions = deployed
    siro = world.principal(Role.SIRO)
    with pytest.raises(ValidationFailed, match="at most 180 days"):
        _grant(sessions, siro, _form(world, days=181, outcome="B1.a"))
    assert _grant(sessions, siro, _form(world, days=180, outcome="B1.a")).outcome_id == "B1.a"


@pytest.mark.parametrize("days", [0, -1])
def test_an_expiry_not_after_today_is_refused(deployed, days: int) -> None:
    world, sessions = deployed
    with pytest.raises(ValidationFailed, match="is not after today"):
        _grant(sessions, world.principal(Role.SIRO), _form(world, days=days))


def test_a_product_the_force_does_not_deploy_is_not_found(world_db) -> None:
    world, sessions, _ = world_db
    before = snapshot(sessions)
    with pytest.raises(NotFound, match="product not found"):
        _grant(sessions, world.principal(Role.SIRO), _form(world))
    with pytest.raises(NotFound, match="product not found"):
        _grant(sessions, world.principal(Role.SIRO), _form(world, product_id=10**9))
    assert snapshot(sessions) == before


def test_an_ended_deployment_excuses_nothing(deployed) -> None:
    world, sessions = deployed
    with transaction(sessions) as session:
        end_deployment(
            session,
            world.principal(Role.SIRO),
            world.orgs["f1"].organisation_id,
            world.orgs["s1"].product_id,
        )
    with pytest.raises(NotFound, match="product not found"):
        _grant(sessions, world.principal(Role.SIRO), _form(world))


def test_an_assessor_is_denied_and_another_forces_siro_finds_nothing(deployed) -> None:
    world, sessions = deployed
    stranger = second_force(sessions)
    before = snapshot(sessions)
    with pytest.raises(PermissionDenied):
        _grant(sessions, world.principal(Role.FORCE_ASSESSOR), _form(world))
    with pytest.raises(NotFound, match="organisation not found"):
        _grant(sessions, stranger, _form(world))
    assert snapshot(sessions) == before


def test_a_siro_who_works_for_the_supplier_is_refused(deployed) -> None:
    world, sessions = deployed
    siro = world.principal(Role.SIRO)
    both = Principal(
        siro.user_id,
        siro.email,
        (*siro.memberships, Membership(world.orgs["s1"].organisation_id, Role.SUPPLIER_ADMIN)),
    )
    before = snapshot(sessions)
    with pytest.raises(ValidationFailed, match="own organisation's supplier product"):
        _grant(sessions, both, _form(world))
    assert snapshot(sessions) == before


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"outcome": "Z9.z"}, "'Z9.z' is not an outcome of ptsbd-1.0"),
        ({"outcome": "C4.a"}, "C4.a is out of scope of the supplier-saas profile"),
        ({"framework": "iso-27001-2022"}, "unknown framework 'iso-27001-2022'"),
    ],
)
def test_an_unknown_or_out_of_scope_outcome_is_refused(
    deployed, changes: dict[str, Any], message: str
) -> None:
    world, sessions = deployed
    before = snapshot(sessions)
    with pytest.raises(ValidationFailed, match=message):
        _grant(sessions, world.principal(Role.SIRO), _form(world, **changes))
    assert snapshot(sessions) == before


def test_the_default_framework_named_or_not_is_one_framework(deployed) -> None:
    world, sessions = deployed
    siro = world.principal(Role.SIRO)
    _grant(sessions, siro, _form(world))
    with pytest.raises(ValidationFailed, match="already excused until 2027-03-06"):
        _grant(sessions, siro, _form(world, framework="ptsbd-1.0"))
    assert count(sessions, OutcomeException) == 1


def test_one_live_exception_per_outcome_until_revoked(deployed) -> None:
    world, sessions = deployed
    siro = world.principal(Role.SIRO)
    first = _grant(sessions, siro, _form(world, days=30))
    with transaction(sessions) as session:
        revoked = revoke_exception(session, siro, first.id)
        assert not exception_counts(revoked, TODAY)
    second = _grant(sessions, siro, _form(world, days=60))
    assert second.id != first.id
    before = snapshot(sessions)
    with pytest.raises(ValidationFailed, match="already revoked"), transaction(sessions) as s:
        revoke_exception(s, siro, first.id)
    with pytest.raises(NotFound, match="exception not found"), transaction(sessions) as s:
        revoke_exception(s, second_force(sessions), second.id)
    assert snapshot(sessions) == before
    assert [e.object_id for e in events(sessions, "risk.exception_revoked")] == [str(first.id)]


def test_an_expired_exception_no_longer_blocks_a_new_one(deployed) -> None:
    world, sessions = deployed
    siro = world.principal(Role.SIRO)
    old = _grant(sessions, siro, _form(world, days=10))
    later = old.expires_on + timedelta(days=1)
    assert exception_counts(old, old.expires_on)
    assert not exception_counts(old, later)
    renewed = _grant(sessions, siro, _form(world, expires_on=later + timedelta(days=5)), later)
    assert renewed.id != old.id


@pytest.mark.parametrize(
    "changes",
    [
        {"compensating_controls": "none"},
        {"rationale": "r" * 4001},
        {"compensating_controls": "Reviewed weekly by the ISO\u200f\u202e hidden"},
        {"outcome_id": "x" * 65},
        {"outcome_id": ""},
        {"organisation_id": "f1"},
        {"product_id": None},
        {"expires_on": "2027-02-30"},
        {"approved_by": "the chief constable"},
    ],
)
def test_hostile_exception_forms_are_refused(changes: dict[str, Any]) -> None:
    fields = {
        "organisation_id": 1,
        "product_id": 1,
        "outcome_id": "A4.b",
        "compensating_controls": CONTROLS,
        "rationale": RATIONALE,
        "expires_on": "2027-01-01",
        **changes,
    }
    with pytest.raises(ValidationError):
        ExceptionForm.model_validate(fields)


def test_twenty_grants_of_one_outcome_at_once_leave_exactly_one(deployed) -> None:
    world, sessions = deployed
    siro = world.principal(Role.SIRO)

    def grant(days: int) -> str:
        try:
            _grant(sessions, siro, _form(world, days=days))
        except ValidationFailed as exc:
            return str(exc)
        return "granted"

    with ThreadPoolExecutor(max_workers=20) as pool:
        outcomes = list(pool.map(grant, range(61, 81)))
    assert outcomes.count("granted") == 1
    assert all("already excused" in o for o in outcomes if o != "granted")
    assert count(sessions, OutcomeException) == 1
    assert len(events(sessions, "risk.exception_granted")) == 1


def test_the_explanation_shows_the_exception_and_the_score_is_unchanged(deployed) -> None:
    world, sessions = deployed
    entity = f"product:{world.orgs['s1'].product_id}"
    with sessions() as session:
        before = explain_entity(session, entity, TODAY)
    assert before["exceptions"] == []
    _grant(sessions, world.principal(Role.SIRO), _form(world))
    with sessions() as session:
        after = explain_entity(session, entity, TODAY)
        organisation_report = explain_entity(session, "org:1", TODAY)
    assert (after["score"], after["band"], after["gaps"]) == (
        before["score"],
        before["band"],
        before["gaps"],
    )
    status = {o["outcome"]: o["status"] for o in after["outcomes"]}
    (shown,) = after["exceptions"]
    # Which force, and its controls, stay that force's own.
    assert "organisation" not in shown
    assert "compensating_controls" not in shown
    assert CONTROLS not in str(after)
    assert shown["outcome"] == "A4.b"
    assert shown["framework"] == "ptsbd-1.0"
    assert shown["status"] == status["A4.b"]
    assert shown["expires_on"] == "2027-03-06"
    assert shown["title"]
    # An organisation's explanation is not a product's: no exceptions key is invented.
    assert "exceptions" not in organisation_report
    # The day after it expires, the explanation no longer shows it.
    with sessions() as session:
        gone = explain_entity(session, entity, date(2027, 3, 7))
    assert gone["exceptions"] == []


def test_explanation_and_active_exceptions_agree_across_forces(deployed) -> None:
    world, sessions = deployed
    siro = world.principal(Role.SIRO)
    other_siro = second_force(sessions)
    other_force = next(iter(other_siro.organisation_ids()))
    with transaction(sessions) as session:
        # f1 has listed it already (the `deployed` fixture).
        deploy_product(session, other_siro, other_force, world.orgs["s1"].product_id)
    _grant(sessions, siro, _form(world, days=90))
    revoked = _grant(sessions, siro, _form(world, days=90, outcome="B1.a"))
    with transaction(sessions) as session:
        revoke_exception(session, siro, revoked.id)
    _grant(sessions, siro, _form(world, days=5, outcome="B1.b"))
    _grant(
        sessions, other_siro, _form(world, days=120, outcome="B1.a", organisation_id=other_force)
    )
    entity = f"product:{world.orgs['s1'].product_id}"
    for day in (TODAY, TODAY + timedelta(days=5), TODAY + timedelta(days=6)):
        with sessions() as session:
            views = active_exceptions(session, world.orgs["s1"].product_id, day)
            shown = explain_entity(session, entity, day)["exceptions"]
        assert [(v.outcome_id, v.expires_on.isoformat()) for v in views] == [
            (s["outcome"], s["expires_on"]) for s in shown
        ]
    with sessions() as session:
        late = active_exceptions(session, world.orgs["s1"].product_id, TODAY + timedelta(days=6))
    assert [(v.force, v.outcome_id) for v in late] == [
        ("Organisation f1", "A4.b"),
        ("Force Two", "B1.a"),
    ]


def test_buyers_see_the_exception_in_the_product_facts_and_gates_do_not_change(deployed) -> None:
    world, sessions = deployed
    with sessions() as session:
        product = session.get(Product, world.orgs["s1"].product_id)
        assert product is not None
        before = product_facts(session, product, TODAY)
    assert before.exceptions == ()
    _grant(sessions, world.principal(Role.SIRO), _form(world))
    with sessions() as session:
        product = session.get(Product, world.orgs["s1"].product_id)
        assert product is not None
        after = product_facts(session, product, TODAY)
        expired = product_facts(session, product, date(2027, 3, 7))
    assert after.exceptions == ("A4.b accepted by a force until 2027-03-06",)
    assert expired.exceptions == ()
    gates = Gates.model_validate({"min_posture_band": "C"})
    assert evaluate(gates, after, TODAY) == evaluate(gates, before, TODAY)


# The procurement tests' market (a buyer, two listed products with posture), used here as is.
pw = procurement.pw


def test_shortlist_rows_carry_the_exceptions_forces_hold(pw) -> None:
    with transaction(pw.sessions) as session:
        force = Organisation(slug="f-market", name="Market Force", kind="force")
        session.add(force)
        session.flush()
        user = User(email="siro@market.police.uk", display_name="Market SIRO")
        session.add(user)
        session.flush()
        session.add(MembershipRow(user_id=user.id, organisation_id=force.id, role=Role.SIRO))
        siro = Principal(user.id, user.email, (Membership(force.id, Role.SIRO),))
        list_product(session, pw.products["vault"])
        deploy_product(session, siro, force.id, pw.products["vault"])
        form = ExceptionForm(
            organisation_id=force.id,
            product_id=pw.products["vault"],
            outcome_id="A4.b",
            compensating_controls=CONTROLS,
            rationale=RATIONALE,
            expires_on=procurement.TODAY + timedelta(days=30),
        )
        grant_exception(session, siro, form, procurement.TODAY)
    lot_id = procurement.list_both_products(pw)
    with transaction(pw.sessions) as session:
        requirement = shortlists.create_requirement(
            session,
            pw.people["officer"],
            pw.orgs["home-office"],
            RequirementForm.model_validate(
                {
                    "title": "Evidence for a small force",
                    "lot_ids": [lot_id],
                    "criteria": [
                        {"key": "security_posture", "weight": 90},
                        {"key": "social_value", "weight": 10},
                    ],
                }
            ),
        ).id
    with pw.sessions() as session:
        inputs = {p: ProductInputs(price=100, social_value=50) for p in pw.products.values()}
        ranking = shortlists.rank_products(
            session, pw.people["officer"], requirement, inputs, procurement.TODAY
        )
    shown = {row["product"]: row["exceptions"] for row in ranking}
    assert shown == {"vault": ["A4.b accepted by a force until 2026-12-26"], "mapper": []}
