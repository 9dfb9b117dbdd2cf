"""Findings: open findings by age and SLA breach for everyone who may read them; a supplier's
open findings per product with due dates and owners, to assign and to dispute; an assessor's
disputes to decide. The services decide reach and permissions; this page draws and collects."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from posture.findings.decisions import (
    MAX_NOTE,
    MAX_REASON,
    accept_risk,
    decide_dispute,
    dispute,
    set_remediation,
)
from posture.findings.views import (
    FindingRow,
    acceptances_to_link,
    disputes_to_decide,
    product_findings,
    products_with_findings,
    supplier_members,
)
from posture.identity.permissions import holds
from posture.storage.models.finding_lifecycle import FindingStatus
from ui.context import principal, read_service, run_service, show_flash, uk_date, widget_key
from ui.findings_summary import findings_by_age
from ui.plain import escape_markdown, plain

STATUS_WORDS = {
    FindingStatus.OPEN: "open",
    FindingStatus.IN_REMEDIATION: "in remediation",
    FindingStatus.DISPUTED: "disputed (still counts)",
    FindingStatus.RISK_ACCEPTED: "risk accepted",
    FindingStatus.FALSE_POSITIVE: "false positive",
    FindingStatus.RESOLVED: "resolved",
}
DISPUTABLE = (FindingStatus.OPEN, FindingStatus.IN_REMEDIATION)


def findings_page() -> None:
    st.title("Findings")
    show_flash()
    me = principal()
    st.caption(
        "Each finding a check run shows is tracked until a later complete run no longer shows "
        "it. Disputed findings count as open until an assessor upholds the dispute."
    )
    _summary()
    _products_view()
    if holds(me, "finding.decide"):
        _disputes()


def _summary() -> None:
    st.subheader("Open findings by age")
    findings_by_age(principal())


def _table(rows: list[FindingRow]) -> None:
    # What is decided on first (status, due, breach), the long text last.
    st.dataframe(
        pd.DataFrame(
            {
                "#": [r.id for r in rows],
                "Severity": [r.severity for r in rows],
                "Status": [STATUS_WORDS[FindingStatus(r.status)] for r in rows],
                "Due": [uk_date(r.due_at) for r in rows],
                "Past due": ["yes" if r.breached else "no" for r in rows],
                "Age (days)": [r.age_days for r in rows],
                "Code": [r.code for r in rows],
                "Finding": [r.title for r in rows],
                "Where": [r.subject or r.target for r in rows],
                "Reopened": [r.reopened_count for r in rows],
            }
        ),
        hide_index=True,
        use_container_width=True,
    )


def _label(row: FindingRow) -> str:
    return f"#{row.id} {row.code}: {row.title[:80]}"


def _products_view() -> None:
    """The open findings of each product in reach (a supplier's own, a force's deployed, every
    product for an estate-wide reader), and what the role may do with one."""
    me = principal()
    products = read_service(lambda s: products_with_findings(s, me))
    if products is None:
        return
    supplier = holds(me, "finding.dispute") or holds(me, "finding.manage")
    st.subheader("Your products' open findings" if supplier else "Open findings by product")
    if not products:
        st.info("No open findings on your products." if supplier else "No open findings.")
        return
    names = {p.product_id: f"{p.name} ({p.open} open, {p.breached} past due)" for p in products}
    product_id = st.selectbox(
        "Product", list(names), format_func=lambda i: names[i], key="findings-product"
    )
    rows = read_service(lambda s: product_findings(s, me, product_id))
    if not rows:
        return
    _table(rows)
    choices = {r.id: r for r in rows if FindingStatus(r.status) in DISPUTABLE}
    if not choices or not (supplier or holds(me, "finding.accept")):
        return
    finding_id = st.selectbox(
        "Finding", list(choices), format_func=lambda i: _label(choices[i]), key="findings-pick"
    )
    chosen = choices[finding_id]
    if chosen.dispute_reason:
        st.caption("An earlier dispute said:")
        plain(chosen.dispute_reason)
    if holds(me, "finding.manage"):
        _remediation(finding_id)
    if holds(me, "finding.dispute"):
        with st.form("finding-dispute"):
            reason = st.text_area(
                "Why it is a false positive",
                max_chars=MAX_REASON,
                key=widget_key("finding-dispute-reason", finding_id),
            )
            if st.form_submit_button("Dispute as a false positive"):
                run_service(
                    lambda s: dispute(s, me, finding_id, reason),
                    "Disputed; an assessor decides. It counts as open until then.",
                    clear=("finding-dispute-reason",),
                )
    if holds(me, "finding.accept"):
        _accept(product_id, finding_id)


def _accept(product_id: int, finding_id: int) -> None:
    """A SIRO links the force's current acceptance of the product's risk: the finding stops
    counting as open for the force until the acceptance ends."""
    me = principal()
    acceptances = read_service(lambda s: acceptances_to_link(s, me, product_id))
    if acceptances is None:
        return
    st.markdown("**Accept this finding's risk for your force**")
    if not acceptances:
        st.caption(
            "Your force holds no current risk acceptance of this product. Record one on the "
            "Risk decisions page first; it can then be linked here."
        )
        return
    with st.form("finding-accept"):
        acceptance_id = st.selectbox(
            "Under the acceptance",
            list(acceptances),
            format_func=acceptances.__getitem__,
            key=widget_key("finding-acceptance", finding_id),
        )
        if st.form_submit_button("Link the acceptance"):
            run_service(
                lambda s: accept_risk(s, me, finding_id, int(acceptance_id)),
                "Linked: the finding no longer counts as open for your force while the "
                "acceptance holds.",
            )


def _remediation(finding_id: int) -> None:
    me = principal()
    members = read_service(lambda s: supplier_members(s, me, finding_id))
    if not members:
        return
    with st.form("finding-remediation"):
        owner = st.selectbox(
            "Owner",
            list(members),
            format_func=lambda i: members[i],
            key=widget_key("finding-owner", finding_id),
        )
        due = st.date_input(
            "Due (optional, never later than the SLA)",
            value=None,
            key=widget_key("finding-due", finding_id),
        )
        if st.form_submit_button("Set owner and due date"):
            run_service(
                lambda s: set_remediation(s, me, finding_id, owner, due),
                "The finding is in remediation.",
                clear=("finding-owner", "finding-due"),
            )


def _disputes() -> None:
    me = principal()
    rows = read_service(lambda s: disputes_to_decide(s, me))
    if rows is None:
        return
    st.subheader("Disputes to decide")
    if not rows:
        st.info("No dispute waits for you.")
        return
    _table(rows)
    by_id = {r.id: r for r in rows}
    finding_id = st.selectbox(
        "Dispute", list(by_id), format_func=lambda i: _label(by_id[i]), key="dispute-pick"
    )
    st.caption(f"The supplier's reason for {escape_markdown(by_id[finding_id].code)}:")
    plain(by_id[finding_id].dispute_reason or "")
    with st.form("dispute-decision"):
        # No decision is preselected: upholding changes the count for the whole estate.
        verdict = st.radio(
            "Decision",
            ["uphold", "reject"],
            index=None,
            format_func=lambda v: (
                "Uphold: a false positive" if v == "uphold" else "Reject: the finding stands"
            ),
            key=widget_key("dispute-verdict", finding_id),
        )
        note = st.text_area("Why", max_chars=MAX_NOTE, key=widget_key("dispute-note", finding_id))
        if st.form_submit_button("Decide"):
            if verdict is None:
                st.error("Choose to uphold or to reject the dispute.")
                return
            run_service(
                lambda s: decide_dispute(s, me, finding_id, verdict == "uphold", note),
                "Decided.",
                clear=("dispute-verdict", "dispute-note"),
            )
