"""A deployment's portfolio record as a form: version, criticality, internet exposure, contract
and renewal notice, owner and sub-suppliers (posture.portfolio.details.PortfolioDetails)."""

from __future__ import annotations

from datetime import date

import streamlit as st
from pydantic import ValidationError

from posture.plain_text import said
from posture.portfolio.details import MAX_NOTICE_DAYS, MAX_SUB_SUPPLIERS, PortfolioDetails
from posture.portfolio.policy import portfolio_policy
from ui.plain import escape_markdown

NOT_SAID = "not declared (weighed as the most critical)"


def _optional_date(label: str, current: date | None, key: str) -> date | None:
    known = st.checkbox(f"{label} known", value=current is not None, key=f"{key}-known")
    if not known:
        return None
    return st.date_input(label, value=current or date.today(), key=key, format="YYYY-MM-DD")


def details_form(key: str, current: PortfolioDetails) -> PortfolioDetails | None:
    """The record as typed, or None after showing what is wrong with it."""
    tiers = {tier.id: tier for tier in portfolio_policy().criticality}
    options: list[str | None] = [None, *tiers]
    criticality = st.selectbox(
        "Criticality to us",
        options,
        index=options.index(current.criticality),
        format_func=lambda t: NOT_SAID if t is None else tiers[t].label,
        help="\n".join(f"{t.label}: {t.description}" for t in tiers.values()),
        key=f"{key}-criticality",
    )
    version = st.text_input(
        "Product version we run", value=current.product_version or "", max_chars=64, key=f"{key}-v"
    )
    internet = st.checkbox(
        "Reachable from the internet", value=current.internet_facing, key=f"{key}-internet"
    )
    start = _optional_date("Contract start", current.contract_start, f"{key}-start")
    end = _optional_date("Contract end", current.contract_end, f"{key}-end")
    notice = st.number_input(
        "Renewal notice (days before the contract ends; blank: none)",
        min_value=0,
        max_value=MAX_NOTICE_DAYS,
        value=current.renewal_notice_days,
        step=1,
        key=f"{key}-notice",
    )
    owner = st.text_input(
        "Owner (who answers for it here)", value=current.owner or "", max_chars=200, key=f"{key}-o"
    )
    suppliers = st.text_area(
        f"Its sub-suppliers, one a line (at most {MAX_SUB_SUPPLIERS})",
        value="\n".join(current.sub_suppliers),
        max_chars=MAX_SUB_SUPPLIERS * 201,
        key=f"{key}-subs",
    )
    try:
        details = PortfolioDetails(
            product_version=version.strip() or None,
            criticality=criticality,
            internet_facing=internet,
            contract_start=start,
            contract_end=end,
            renewal_notice_days=None if notice is None else int(notice),
            owner=owner.strip() or None,
            sub_suppliers=[line.strip() for line in suppliers.splitlines() if line.strip()],
        )
        details.record_problem()
    except ValidationError as exc:
        # The messages quote what was typed: shown as text, never as Markdown.
        st.error(escape_markdown(said(exc)))
        return None
    except ValueError as exc:
        st.error(escape_markdown(str(exc)))
        return None
    return details
