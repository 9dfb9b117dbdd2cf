"""The product form (AppTest) covers every listing field the README names: a supplier sets each
one, an edit starts from every stored value, and what cannot be true (a certification without its
expiry, an expiry without the certification, an end of life before support ends) is refused with
a message and stores nothing. A role that may not change the organisation profile is not offered
the form to."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from posture.identity.permissions import Membership, Principal
from posture.storage.engine import transaction
from posture.storage.models import AuditEvent, Product, User
from posture.storage.models import Membership as MembershipRow
from posture.storage.models.enums import Role
from supplier_portal.product_fields import ProductFields
from tests.test_app_portal import _page, portal  # noqa: F401 (portal is a fixture, used by name)
from tests.test_app_products import LISTED, _listed_product
from ui.plain import unescape_markdown

# Every field of the form, as a supplier sets it and as it is stored.
EVERY_FIELD = {
    "name": "Custody Vault",
    "version": "4.2.0",
    "category": "digital_evidence",
    "deployment_model": "paas",
    "description": "Stores custody images",
    "data_locations": ["uk", "eea"],
    "max_classification": "official",
    "sensitive_caveat": True,
    "police_networks": ["pnn", "psn"],
    "national_systems": ["pnc"],
    "vetting": "nppv3",
    "forces_served": 12,
    "records_held": 3_000_000,
    "certifications": [
        {"scheme": "cyber_essentials_plus", "expires": "2027-01-31"},
        {"scheme": "iso27001", "expires": "2028-06-30"},
    ],
    "support_ends": date(2031, 3, 31),
    "end_of_life": date(2033, 3, 31),
    "api_available": True,
    "connected_networks": ["PSN for Policing", "Force WAN"],
}


def _fill(app: AppTest, key: str, fields: dict[str, object]) -> None:
    """Set each field's widget of the form keyed `key`, as a person would."""
    for field, value in fields.items():
        widget_key = f"{key}-{field}"
        if field in ("name", "version"):
            app.text_input(key=widget_key).input(value)
        elif field in ("description",):
            app.text_area(key=widget_key).input(value)
        elif field == "connected_networks":
            app.text_area(key=widget_key).input("\n".join(value))  # type: ignore[arg-type]
        elif field in ("category", "deployment_model", "max_classification", "vetting"):
            app.selectbox(key=widget_key).set_value(value)
        elif field in ("data_locations", "police_networks", "national_systems"):
            app.multiselect(key=widget_key).set_value(value)
        elif field in ("sensitive_caveat", "api_available"):
            app.checkbox(key=widget_key).set_value(value)
        elif field in ("forces_served", "records_held"):
            app.number_input(key=widget_key).set_value(value)
        elif field in ("support_ends", "end_of_life"):
            app.date_input(key=widget_key).set_value(value)
        elif field == "certifications":
            for held in value:  # type: ignore[attr-defined]
                app.checkbox(key=f"{widget_key}-{held['scheme']}").check()
                if held.get("expires"):
                    day = date.fromisoformat(held["expires"])
                    app.date_input(key=f"{widget_key}-{held['scheme']}-expires").set_value(day)
        else:
            raise AssertionError(f"no way to fill {field}")


def _register(app: AppTest) -> AppTest:
    return next(b for b in app.button if b.label == "Register").click().run()


def _products(sessions) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    with sessions() as session:
        return [
            {field: getattr(p, field) for field in ProductFields.model_fields}
            for p in session.scalars(select(Product).order_by(Product.id))
        ]


def _errors(app: AppTest) -> list[str]:
    return [unescape_markdown(e.value) for e in app.error]


def test_a_supplier_sets_every_listing_field_from_the_form(portal) -> None:  # noqa: F811
    sessions, people = portal
    assert set(EVERY_FIELD) == set(ProductFields.model_fields)
    app = _page("supplier", "products_page", people["a1"])
    _fill(app, "register", EVERY_FIELD)
    app = _register(app)
    assert any("Product registered" in s.value for s in app.success), _errors(app)
    assert _products(sessions) == [EVERY_FIELD]


def test_a_certification_ticked_without_its_expiry_is_refused_by_name(portal) -> None:  # noqa: F811
    sessions, people = portal
    app = _page("supplier", "products_page", people["a1"])
    held = [{"scheme": "cyber_essentials", "expires": "2027-01-31"}, {"scheme": "iso27001"}]
    _fill(app, "register", {"name": "Custody Vault", "certifications": held})
    app = _register(app)
    assert any("iso27001: give the day it expires" in e for e in _errors(app)), _errors(app)
    assert _products(sessions) == []
    # What was entered is still there to finish.
    assert app.checkbox(key="register-certifications-iso27001").value is True
    app.date_input(key="register-certifications-iso27001-expires").set_value(date(2028, 1, 1))
    app = _register(app)
    assert any("Product registered" in s.value for s in app.success), _errors(app)
    (stored,) = _products(sessions)
    assert stored["certifications"] == [
        {"scheme": "cyber_essentials", "expires": "2027-01-31"},
        {"scheme": "iso27001", "expires": "2028-01-01"},
    ]


def test_an_expiry_given_without_ticking_the_certification_is_refused(portal) -> None:  # noqa: F811
    sessions, people = portal
    app = _page("supplier", "products_page", people["a1"])
    app.text_input(key="register-name").input("Custody Vault")
    app.date_input(key="register-certifications-iso27001-expires").set_value(date(2028, 1, 1))
    app = _register(app)
    assert any(
        "expiry day was given for ISO/IEC 27001 but it is not ticked" in e for e in _errors(app)
    ), _errors(app)
    assert _products(sessions) == []


def test_an_end_of_life_before_support_ends_is_refused_on_the_form(portal) -> None:  # noqa: F811
    sessions, people = portal
    app = _page("supplier", "products_page", people["a1"])
    dates = {"support_ends": date(2031, 3, 31), "end_of_life": date(2030, 3, 31)}
    _fill(app, "register", {"name": "Custody Vault", **dates})
    app = _register(app)
    assert any("end_of_life: 2030-03-31 is before support ends" in e for e in _errors(app))
    assert _products(sessions) == []


def _edit_key(app: AppTest, product_id: int) -> str:
    names = [t.key for t in app.text_input if t.label == "Name"]
    (key,) = [k for k in names if (k or "").startswith(f"edit-{product_id}-")]
    return str(key).removesuffix("-name")


def test_an_edit_starts_from_every_stored_field_and_saving_it_unchanged_changes_nothing(
    portal,  # noqa: F811
) -> None:
    sessions, people = portal
    product_id = _listed_product(sessions, people["a1"])
    app = _page("supplier", "products_page", people["a1"])
    key = _edit_key(app, product_id)
    shown = {
        "name": app.text_input(key=f"{key}-name").value,
        "version": app.text_input(key=f"{key}-version").value,
        "category": app.selectbox(key=f"{key}-category").value,
        "deployment_model": app.selectbox(key=f"{key}-deployment_model").value,
        "description": app.text_area(key=f"{key}-description").value,
        "data_locations": app.multiselect(key=f"{key}-data_locations").value,
        "max_classification": app.selectbox(key=f"{key}-max_classification").value,
        "sensitive_caveat": app.checkbox(key=f"{key}-sensitive_caveat").value,
        "police_networks": app.multiselect(key=f"{key}-police_networks").value,
        "national_systems": app.multiselect(key=f"{key}-national_systems").value,
        "vetting": app.selectbox(key=f"{key}-vetting").value,
        "forces_served": app.number_input(key=f"{key}-forces_served").value,
        "records_held": app.number_input(key=f"{key}-records_held").value,
        "certifications": [
            {
                "scheme": scheme,
                "expires": app.date_input(
                    key=f"{key}-certifications-{scheme}-expires"
                ).value.isoformat(),  # type: ignore[union-attr]
            }
            for scheme in ("cyber_essentials", "cyber_essentials_plus", "iso27001")
            if app.checkbox(key=f"{key}-certifications-{scheme}").value
        ],
        "support_ends": app.date_input(key=f"{key}-support_ends").value,
        "end_of_life": app.date_input(key=f"{key}-end_of_life").value,
        "api_available": app.checkbox(key=f"{key}-api_available").value,
        "connected_networks": app.text_area(key=f"{key}-connected_networks").value.splitlines(),  # type: ignore[union-attr]
    }
    assert shown == LISTED
    app = next(b for b in app.button if b.label == "Save changes").click().run()
    assert not _errors(app)
    with sessions() as session:
        updates = session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "product.updated")
        )
    assert updates == 0


def test_a_supplier_member_sees_the_profile_but_is_not_offered_its_form(portal) -> None:  # noqa: F811
    sessions, people = portal
    organisation_id = people["a1"].memberships[0].organisation_id
    with transaction(sessions) as session:
        user = User(email="member@example.police.uk", display_name="member")
        session.add(user)
        session.flush()
        session.add(
            MembershipRow(
                user_id=user.id, organisation_id=organisation_id, role=Role.SUPPLIER_MEMBER
            )
        )
        member = Principal(
            user.id, user.email, (Membership(organisation_id, Role.SUPPLIER_MEMBER),)
        )
    app = _page("supplier", "products_page", member)
    assert not [b for b in app.button if b.label == "Save profile"]
    assert not [t for t in app.text_input if t.label == "Website"]
    assert any(t.value.startswith("Website: ") for t in app.text)
    # The admin is offered it.
    admin = _page("supplier", "products_page", people["a1"])
    assert [b for b in admin.button if b.label == "Save profile"]
