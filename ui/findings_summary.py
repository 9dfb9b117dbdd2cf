"""Open findings by age and severity, with those past their due date: drawn on the Findings page
and on the posture dashboards, from one grouped query the viewer's reach bounds."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from checks.findings import SEVERITY_RANK, Severity
from posture.findings.views import AGE_BUCKETS, finding_summary
from posture.identity.permissions import Principal
from ui.context import read_service


def findings_by_age(me: Principal) -> None:
    summary = read_service(lambda s: finding_summary(s, me))
    if summary is None:
        return
    left, right = st.columns(2)
    left.metric("Open findings", summary.open)
    right.metric("Past their due date", summary.breached)
    table = pd.DataFrame(
        [(c.bucket, c.severity, c.open, c.breached) for c in summary.counts],
        columns=["Age", "Severity", "Open", "Past due"],
    )
    order = [label for label, _, _ in AGE_BUCKETS]
    # Worst first, as people read severities, not in the alphabet's order.
    worst_first = [s.value for s in sorted(Severity, key=SEVERITY_RANK.__getitem__, reverse=True)]
    for values, heading in (("Open", "Open, by age"), ("Past due", "Past their due date, by age")):
        st.caption(heading)
        pivot = table.pivot_table(index="Age", columns="Severity", values=values, aggfunc="sum")
        columns = [s for s in worst_first if s in pivot.columns]
        # An age with no findings of a severity holds 0, not an empty ("None") cell.
        counts = pivot.reindex(index=order, columns=columns).fillna(0).astype(int)
        counts.columns = [str(c).capitalize() for c in counts.columns]
        st.dataframe(counts.rename_axis(columns=None), use_container_width=True)
