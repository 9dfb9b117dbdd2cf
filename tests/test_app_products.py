"""The products page beyond registration (AppTest): editing a product keeps what the form was not
asked to change, withdrawal is confirmed first and says what it does, and a supplier proves
post-quantum signing by signing the challenge the page shows."""

from __future__ import annotations

import base64
from datetime import date

from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from posture.identity.permissions import Principal
from posture.storage.engine import transaction
from posture.storage.models import AuditEvent, Evidence, Product
from pq_crypto.registry import signature
from supplier_portal.product_fields import ProductFields
from tests.test_app_portal import _page, portal  # noqa: F401 (portal is a fixture, used by name)
from ui.plain import unescape_markdown
from ui.product_form import WIDGETS

LISTED = {
    "name": "Vault",
    "version": "3.1.4",
    "category": "analytics",
    "deployment_model": "saas",
    "description": "Custody images",
    "data_locations": ["uk"],
    "max_classification": "official",
    "sensitive_caveat": True,
    "police_networks": ["psn"],
    "national_systems": [],
    "vetting": "nppv2",
    "forces_served": 3,
    "records_held": 250_000,
    "certifications": [{"scheme": "iso27001", "expires": "2027-06-01"}],
    "support_ends": date(2030, 3, 31),
    "end_of_life": date(2032, 3, 31),
    "api_available": True,
    "connected_networks": ["PSN for Policing"],
}


def _listed_product(sessions, owner: Principal) -> int:  # type: ignore[no-untyped-def]
    with transaction(sessions) as session:
        product = Product(organisation_id=owner.memberships[0].organisation_id, **LISTED)
        session.add(product)
        session.flush()
        return product.id


def _stored(sessions, product_id: int) -> dict[str, object]:  # type: ignore[no-untyped-def]
    with sessions() as session:
        product = session.get(Product, product_id)
        assert product is not None
        fields = {field: getattr(product, field) for field in ProductFields.model_fields}
        return fields | {"withdrawn": product.deleted_at is not None}


def _edit_name(app: AppTest):  # type: ignore[no-untyped-def]
    return next(
        t for t in app.text_input if (t.key or "").startswith("edit-") and t.label == "Name"
    )


def _button(app: AppTest, label: str):  # type: ignore[no-untyped-def]
    return next(b for b in app.button if b.label == label)


def test_the_product_form_has_a_widget_for_each_product_field() -> None:
    assert list(WIDGETS) == list(ProductFields.model_fields)


def test_an_edit_changes_the_name_and_keeps_every_other_field(portal) -> None:  # noqa: F811
    sessions, people = portal
    product_id = _listed_product(sessions, people["a1"])
    app = _page("supplier", "products_page", people["a1"])
    _edit_name(app).input("X")  # too short
    app = _button(app, "Save changes").click().run()
    assert any("name" in unescape_markdown(e.value) for e in app.error)
    assert _stored(sessions, product_id) == LISTED | {"withdrawn": False}
    _edit_name(app).input("Vault Pro")
    app = _button(app, "Save changes").click().run()
    assert any("Saved Vault Pro" in unescape_markdown(s.value) for s in app.success), [
        e.value for e in app.error
    ]
    assert _stored(sessions, product_id) == LISTED | {"name": "Vault Pro", "withdrawn": False}
    with sessions() as session:
        changed = session.scalars(
            select(AuditEvent.data).where(AuditEvent.action == "product.updated")
        ).all()
    assert changed == [{"changed": {"name": {"before": "Vault", "after": "Vault Pro"}}}]


def test_withdrawal_is_confirmed_first_and_says_what_it_does(portal) -> None:  # noqa: F811
    sessions, people = portal
    product_id = _listed_product(sessions, people["a1"])
    app = _page("supplier", "products_page", people["a1"])
    app = _button(app, "Withdraw this product…").click().run()
    warning = " ".join(unescape_markdown(w.value) for w in app.warning)
    assert "Withdraw **Vault**?" in warning
    assert "published framework listings" in warning
    assert "cannot undo" in warning
    assert _stored(sessions, product_id)["withdrawn"] is False
    app = _button(app, "Keep it").click().run()
    assert not app.warning
    assert _stored(sessions, product_id)["withdrawn"] is False
    app = _button(app, "Withdraw this product…").click().run()
    app = _button(app, "Confirm withdrawal").click().run()
    assert any("Withdrew Vault" in unescape_markdown(s.value) for s in app.success)
    assert _stored(sessions, product_id)["withdrawn"] is True
    # Gone from the page: nothing left to edit, withdraw or prove.
    assert not [b for b in app.button if b.label == "Withdraw this product…"]


def test_a_supplier_proves_post_quantum_signing_on_the_page(portal) -> None:  # noqa: F811
    sessions, people = portal
    _listed_product(sessions, people["a1"])
    app = _page("supplier", "products_page", people["a1"])
    app = _button(app, "Issue a challenge").click().run()
    assert any("Challenge issued" in s.value for s in app.success)
    shown, shown_base64 = (code.value for code in app.code)
    message = shown.encode("ascii")
    assert base64.b64decode(shown_base64) == message
    assert any("expires" in c.value or "before" in c.value for c in app.caption)
    ml_dsa = signature("ML-DSA-65")
    pair = ml_dsa.generate_keypair()
    key_box, signature_box = app.text_area[-2:]
    key_box.input(base64.b64encode(pair.public_key).decode())
    signature_box.input("this is not base64")
    app = _button(app, "Verify the signature").click().run()
    assert any("not base64" in unescape_markdown(e.value) for e in app.error)
    forged = ml_dsa.sign(pair.secret_key, message + b"!")
    app.text_area[-1].input(base64.b64encode(forged).decode())
    app = _button(app, "Verify the signature").click().run()
    assert any(
        "Not verified: the ML-DSA-65 signature does not verify" in unescape_markdown(e.value)
        for e in app.error
    )
    with sessions() as session:
        assert session.scalars(select(Evidence)).all() == []
    # Wrapped as base64 tools wrap it; the page ignores the line breaks.
    wrapped = base64.encodebytes(ml_dsa.sign(pair.secret_key, message)).decode()
    app.text_area[-1].input(wrapped)
    app = _button(app, "Verify the signature").click().run()
    assert any("verified and recorded" in s.value for s in app.success), [
        e.value for e in app.error
    ]
    with sessions() as session:
        evidence = session.scalars(select(Evidence)).one()
    assert evidence.kind == "pq_capability_proof"
    assert any(f"evidence {evidence.id}" in s.value for s in app.success)
