"""Editing and withdrawing a supplier's products, on the products page. Withdrawal asks to be
confirmed, and says what it does, before anything changes."""

from __future__ import annotations

import streamlit as st

from posture.identity.permissions import Principal
from posture.storage.models import Product
from supplier_portal import products
from ui.context import run_service
from ui.plain import escape_markdown
from ui.product_form import product_form

WITHDRAWING_KEY = "assure_withdrawing_product"

# What withdrawal does, as the services do it (products_query, published listings, _editable).
CONSEQUENCE = (
    "It leaves your product list, the partner API's product list and the published framework "
    "listings, and it can no longer be edited. Its assessments, check runs, evidence and audit "
    "history are kept. The portal cannot undo a withdrawal: registering the product again makes "
    "a new product with none of this history."
)


def _pick(label: str, mine: list[Product], key: str) -> Product:
    by_id = {p.id: p for p in mine}
    chosen = st.selectbox(label, list(by_id), format_func=lambda i: by_id[i].name, key=key)
    return by_id[chosen]


def edit_section(me: Principal, mine: list[Product]) -> None:
    st.subheader("Edit a product")
    product = _pick("Product to edit", mine, "edit-product")
    # Keyed by the product and when it last changed, so the form starts from what is stored.
    key = f"edit-{product.id}-{product.updated_at:%Y%m%d%H%M%S%f}"
    form = product_form(key, "Save changes", products.stored_fields(product))
    if form is not None:
        run_service(
            lambda s: products.update_product(s, me, product.id, form),
            f"Saved {escape_markdown(form.name)}.",
        )


def withdraw_section(me: Principal, mine: list[Product]) -> None:
    st.subheader("Withdraw a product")
    product = _pick("Product to withdraw", mine, "withdraw-product")
    if st.session_state.get(WITHDRAWING_KEY) != product.id:
        if st.button("Withdraw this product…"):
            st.session_state[WITHDRAWING_KEY] = product.id
            st.rerun()
        return
    st.warning(f"Withdraw **{escape_markdown(product.name)}**? {CONSEQUENCE}")
    confirm, keep = st.columns(2)
    if keep.button("Keep it"):
        st.session_state.pop(WITHDRAWING_KEY, None)
        st.rerun()
    if confirm.button("Confirm withdrawal", type="primary"):

        def withdraw(session):  # type: ignore[no-untyped-def]
            st.session_state.pop(WITHDRAWING_KEY, None)
            return products.withdraw_product(session, me, product.id)

        run_service(withdraw, f"Withdrew {escape_markdown(product.name)}.")
