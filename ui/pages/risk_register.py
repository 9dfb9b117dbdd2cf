"""The risk register: an organisation's scenarios as a table and a heatmap (with a text
alternative carrying the same counts), the products a force deploys (ui/deployments_panel.py),
where forces rate the same risk differently, and, for a product, every scenario the reader may
see about it."""

from __future__ import annotations

from datetime import date

import altair as alt
import pandas as pd
import streamlit as st

from frameworks.risk.policy import risk_policy
from kernel.clock import utcnow
from kernel.errors import AssureError
from posture.identity.permissions import Principal
from posture.risk.consistency_report import consistency_report
from posture.risk.exports import register_csv, register_poam_json, register_xlsx
from posture.risk.register_view import (
    heatmap_counts,
    national_view,
    product_names,
    register_owners,
    register_table,
    scenario_products,
)
from ui.context import principal, read_service, show_flash
from ui.deployments_panel import deployments_panel
from ui.plain import plain_error
from ui.runtime import sessions

# What a reader of the register looks for first fits the width of the screen; the rest follows.
SHOWN_FIRST = ("id", "title", "current_level", "status", "accepted_until", "within_appetite")


def _the_rest(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c not in SHOWN_FIRST and c != "current_colour"]


def _readable(frame: pd.DataFrame) -> pd.DataFrame:
    """Column names as people read them: "accepted until", not "accepted_until"."""
    return frame.rename(columns=lambda c: str(c).replace("_", " "))


def today() -> date:
    return utcnow().date()


def choose_organisation(me: Principal, permission: str, key: str) -> int | None:
    """The organisation whose register to show: one's own, or for a role that reaches every
    organisation (a national assessor) any force or national body. None after a refusal."""
    found = read_service(lambda s: register_owners(s, me, permission))
    if found is None:
        return None
    names, kept = found
    if not names:
        st.info("You belong to no force or national body that keeps a risk register.")
        return None
    own = sorted(set(names) & me.organisation_ids())
    options = own + [o for o in names if o not in own]
    # One's own register first; a reader of many (a national assessor) whose own holds nothing
    # starts at the first that does, not at an empty page.
    first = next((i for i, o in enumerate(options) if o in kept), 0)
    # The id is shown because `assure risk export --organisation` takes it.
    return st.selectbox(
        "Organisation",
        options,
        index=first if not set(own) & kept else 0,
        format_func=lambda o: f"{names[o]} (organisation {o})",
        key=key,
    )


def _heatmap(counts: pd.DataFrame) -> None:
    matrix = risk_policy().matrix
    counts = counts.assign(
        likelihood_name=[matrix.likelihood(x).name for x in counts["likelihood"]],
        impact_name=[matrix.impact(x).name for x in counts["impact"]],
        text_colour=[matrix.level(x).text_colour for x in counts["level"]],
    )
    base = alt.Chart(counts).encode(
        x=alt.X("impact_name:O", title="Impact", sort=[i.name for i in matrix.impact_levels]),
        y=alt.Y(
            "likelihood_name:O",
            title="Likelihood",
            sort=[x.name for x in reversed(matrix.likelihood_levels)],
        ),
    )
    cells = base.mark_rect(stroke="white").encode(
        color=alt.Color(
            "level_name:N",
            title="Risk level",
            scale=alt.Scale(
                domain=[level.name for level in matrix.levels],
                range=[level.colour for level in matrix.levels],
            ),
        ),
        tooltip=["likelihood_name", "impact_name", "level_name", "count"],
    )
    labels = base.mark_text(fontSize=16).encode(
        text="count:Q", color=alt.Color("text_colour:N", scale=None)
    )
    st.altair_chart((cells + labels).properties(height=320), width="stretch")
    # The same facts as text, for a screen reader or anyone who cannot tell the colours apart.
    filled = "; ".join(
        f"{row.likelihood_name} likelihood, {row.impact_name} impact ({row.level_name}): "
        f"{row.count}"
        for row in counts.itertuples()
        if row.count
    )
    st.caption(f"Heatmap as text: {filled or 'no scenarios yet'}; every other cell 0.")
    st.dataframe(
        counts[["likelihood_name", "impact_name", "level_name", "count"]].rename(
            columns={
                "likelihood_name": "likelihood",
                "impact_name": "impact",
                "level_name": "level",
            }
        ),
        hide_index=True,
    )


def _consistency(me: Principal) -> None:
    st.subheader("Consistency across forces")
    st.caption(
        "The same product, threat and deployment facts rated at different levels. Other forces "
        "are shown as another force."
    )
    read = read_service(
        lambda s: (
            report := consistency_report(s, me),
            product_names(s, {int(group.product_id) for group in report}),
        )
    )
    if read is None:
        return
    found, names = read
    policy = risk_policy()
    matrix = policy.matrix
    rows = [
        {
            "product": names.get(int(group.product_id), f"product {group.product_id}"),
            "threat": policy.threats.threat(group.threat).name,
            "spread (levels)": group.spread,
            "organisation": rated.rating.organisation_name,
            "scenario": rated.rating.scenario_id,
            "likelihood": matrix.likelihood(rated.rating.likelihood).name,
            "impact": matrix.impact(rated.rating.impact).name,
            "level": rated.level.name,
            "suggested likelihood": (
                matrix.likelihood(rated.rating.suggested_likelihood).name
                if rated.rating.suggested_likelihood
                else ""
            ),
        }
        for group in found
        for rated in group.ratings
    ]
    if rows:
        st.dataframe(pd.DataFrame(rows), hide_index=True)
    else:
        st.caption("No divergent ratings.")


def _national(me: Principal) -> None:
    st.subheader("One product across the register")
    names = read_service(lambda s: scenario_products(s, me))
    if names is None:
        return
    if not names:
        st.caption("No scenario about a product yet.")
        return
    product_id = st.selectbox(
        "Product", list(names), format_func=lambda p: f"{names[p]} (product {p})", key="nv"
    )
    try:
        with sessions()() as session:
            frame = national_view(session, me, product_id, today())
    except AssureError as exc:
        plain_error(exc)
        return
    # Across forces, whose rating it is comes first.
    rest = [c for c in _the_rest(frame) if c != "organisation"]
    st.dataframe(_readable(frame[["organisation", *SHOWN_FIRST, *rest]]), hide_index=True)


def _export(build, me: Principal, organisation_id: int):  # type: ignore[no-untyped-def]
    """The export, built only when its button is clicked: each reads the register afresh."""

    def run():  # type: ignore[no-untyped-def]
        with sessions()() as session:
            return build(session, me, organisation_id, today())

    return run


# Each download: its label, what builds it, the file's ending and media type.
DOWNLOADS = (
    ("Download CSV", register_csv, ".csv", "text/csv"),
    (
        "Download XLSX",
        register_xlsx,
        ".xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
    ("Download OSCAL POA&M", register_poam_json, "-poam.json", "application/json"),
)


def _downloads(me: Principal, organisation_id: int, any_scenario: bool) -> None:
    """The register as a spreadsheet (cells a spreadsheet would run are made inert) and, when
    there is something in it, as an OSCAL plan of action and milestones (which needs one)."""
    stem = f"risk-register-{organisation_id}-{today().isoformat()}"
    offered = DOWNLOADS if any_scenario else DOWNLOADS[:2]
    for column, (label, build, ending, media) in zip(
        st.columns(len(DOWNLOADS)), offered, strict=False
    ):
        column.download_button(
            label,
            _export(build, me, organisation_id),
            file_name=f"{stem}{ending}",
            mime=media,
            key=f"register{ending}",
        )


def register_page() -> None:
    st.title("Risk register")
    show_flash()
    me = principal()
    organisation_id = choose_organisation(me, "risk.read", "register-org")
    if organisation_id is None:
        return
    try:
        with sessions()() as session:
            frame = register_table(session, me, organisation_id, today())
    except AssureError as exc:
        plain_error(exc)
        return
    st.subheader("Scenarios")
    if len(frame):
        st.dataframe(_readable(frame[list(SHOWN_FIRST) + _the_rest(frame)]), hide_index=True)
    else:
        st.caption("No scenario raised yet.")
    _downloads(me, organisation_id, bool(len(frame)))
    st.subheader("Heatmap of current ratings")
    _heatmap(heatmap_counts(frame))
    deployments_panel(me, organisation_id)
    _consistency(me)
    _national(me)
