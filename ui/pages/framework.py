"""The common framework, browsable by anyone: objectives, principles, outcomes, indicators."""

from __future__ import annotations

import streamlit as st

from frameworks.loader import default_framework

LEVEL_LABELS = {
    "not_achieved": "Not achieved",
    "partially_achieved": "Partially achieved",
    "achieved": "Achieved",
}


def render() -> None:
    loaded = default_framework()
    framework = loaded.framework
    st.title(f"{framework.title} {framework.version}")
    st.caption(
        f"{len(framework.outcomes())} outcomes in {len(framework.objectives)} objectives; "
        f"published by {framework.publisher} under {framework.licence}."
    )
    for objective in framework.objectives:
        st.header(f"{objective.id}. {objective.title}")
        st.write(objective.intent)
        for principle in objective.principles:
            st.subheader(f"{principle.id} {principle.title}")
            for outcome in principle.outcomes:
                badge = " · critical" if outcome.critical else ""
                with st.expander(f"{outcome.id} {outcome.title} (weight {outcome.weight}{badge})"):
                    st.write(outcome.intent)
                    st.caption(f"Applies to: {outcome.audience}")
                    for level, indicators in outcome.indicators.by_level().items():
                        if indicators:
                            st.markdown(f"**{LEVEL_LABELS[level]}**")
                            st.markdown("\n".join(f"- {i.text} `{i.id}`" for i in indicators))
