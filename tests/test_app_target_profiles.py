"""Target profiles in the app (AppTest): a supplier sees its product's derived profile and why,
and cannot choose another; an assessor raises one with a reason, and a reason too short is
refused with nothing changed."""

from __future__ import annotations

from sqlalchemy import func, select

from posture.storage.engine import transaction
from posture.storage.models import Assessment, AuditEvent, ProfileRaise
from supplier_portal import products
from supplier_portal.product_fields import ProductFields
from tests.test_app_portal import _page, portal  # noqa: F401  (the fixture)

CRITICAL = "supplier-critical-national"


def _register(sessions, owner, **facts) -> int:  # type: ignore[no-untyped-def]
    # Facts a test does not name are declared as asking for nothing more than the hosting.
    declared = {
        "max_classification": "official",
        "data_locations": ["uk"],
        "vetting": "nppv2",
        "forces_served": 1,
        "records_held": 10_000,
    }
    form = ProductFields.model_validate(
        {"name": "Control Room", "category": "command_and_control", **declared, **facts}
    )
    with transaction(sessions) as session:
        organisation = owner.memberships[0].organisation_id
        return products.create_product(session, owner, organisation, form).id


def test_a_supplier_sees_the_derived_profile_and_has_no_choice(portal) -> None:  # noqa: F811
    sessions, people = portal
    _register(
        sessions,
        people["a1"],
        deployment_model="on_premises",
        police_networks=["pnn"],
        max_classification="official",
        sensitive_caveat=True,
    )
    app = _page("self_assessment", "assessment_page", people["a1"])
    assert not app.exception
    shown = " ".join(m.value for m in app.markdown)
    assert (
        f"{CRITICAL} because it connects to PNN and holds OFFICIAL with the SENSITIVE caveat"
        in shown
    )
    assert "Target profile" not in [box.label for box in app.selectbox]
    app = next(b for b in app.button if b.label == "Start or continue the draft").click().run()
    assert any("Draft ready" in s.value for s in app.success)
    with sessions() as session:
        assert session.scalar(select(Assessment.profile_id)) == CRITICAL


def test_an_assessor_raises_a_profile_on_the_page(portal) -> None:  # noqa: F811
    sessions, people = portal
    product_id = _register(sessions, people["a1"], deployment_model="saas")
    app = _page("target_profiles", "target_profiles_page", people["assessor"])
    assert not app.exception
    shown = " ".join(m.value for m in app.markdown)
    assert "supplier-saas because it is hosted as software as a service" in shown
    app.text_area[0].input("short")
    app = next(b for b in app.button if b.label == "Raise the profile").click().run()
    assert any("reason" in e.value for e in app.error), [e.value for e in app.error]
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(ProfileRaise)) == 0
    app.text_area[0].input("Will feed the national custody image service from March")
    app = next(b for b in app.button if b.label == "Raise the profile").click().run()
    assert any(f"Raised to {CRITICAL}" in s.value for s in app.success)
    with sessions() as session:
        raised = session.scalars(select(ProfileRaise)).one()
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "product.profile_raised")
        ).one()
    assert (raised.product_id, raised.profile_id) == (product_id, CRITICAL)
    assert event.shown_data["to"] == CRITICAL
    # Nothing higher is left to raise to.
    assert any("most demanding" in c.value for c in app.caption)


def test_a_supplier_that_reaches_the_page_cannot_raise(portal) -> None:  # noqa: F811
    sessions, people = portal
    _register(sessions, people["a1"], deployment_model="saas")
    # Navigation never offers the page to a supplier; were it reached, the service refuses.
    app = _page("target_profiles", "target_profiles_page", people["a1"])
    app.text_area[0].input("Raising my own product to look better")
    app = next(b for b in app.button if b.label == "Raise the profile").click().run()
    assert any("your role does not allow" in e.value for e in app.error), [
        e.value for e in app.error
    ]
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(ProfileRaise)) == 0
