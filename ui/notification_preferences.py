"""The account page's notifications section: the signed-in person's own preferences."""

from __future__ import annotations

import streamlit as st

from checks.findings import Severity
from kernel.clock import utcnow
from kernel.settings import load_settings
from posture.identity.permissions import Principal, holds
from posture.notify.policy import notification_policy
from posture.notify.preferences import PreferenceForm, my_preference, save_my_preference
from posture.storage.models.notifications import DeliveryMode
from ui.context import read_service, run_service

MODE_WORDS = {
    DeliveryMode.IMMEDIATE: "E-mail at once",
    DeliveryMode.DIGEST: "In the daily digest",
    DeliveryMode.OFF: "Not at all",
}


def notification_preferences(me: Principal) -> None:
    if not holds(me, "notification.manage"):
        return
    st.subheader("Notifications")
    current = read_service(lambda s: my_preference(s, me))
    if current is None:
        return
    st.caption(
        "Alerts for your organisation reach you by e-mail: at once, or once a day in a digest. "
        "The in-app alerts list shows them all whatever you choose here."
    )
    if not load_settings().smtp_host:
        st.info(
            "This installation sends no e-mail yet (an administrator sets it up with "
            "ASSURE_SMTP_HOST); your choices apply once it does."
        )
    modes = list(DeliveryMode)
    with st.form("notification-preferences"):
        email_on = st.checkbox("Send me e-mail", value=current.email_enabled)
        chosen = {
            severity: st.selectbox(
                f"{severity.value.capitalize()} alerts",
                modes,
                index=modes.index(current.modes[severity]),
                format_func=MODE_WORDS.__getitem__,
                key=f"notify-mode-{severity.value}",
            )
            for severity in reversed(list(Severity))
        }
        muted = st.multiselect(
            "Never send alerts about",
            notification_policy().category_names(),
            default=sorted(current.muted_categories),
            format_func=lambda name: f"{name.capitalize()} alerts",
        )
        if st.form_submit_button("Save notification preferences"):
            form = PreferenceForm(email_enabled=email_on, modes=chosen, muted_categories=muted)
            run_service(
                lambda s: save_my_preference(s, me, form, utcnow()),
                "Notification preferences saved.",
            )
