"""Notifications: my organisation's webhook endpoints (register, disable), the deliveries and
the dead-letter list, and sending a dead letter again. The services decide who sees what."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from checks.egress import EgressPolicy
from checks.findings import Severity
from kernel.clock import utcnow
from kernel.settings import load_settings
from posture.identity.permissions import Principal, holds, visible_organisations
from posture.notify.outbox_summary import outbox_summary
from posture.notify.outbox_views import DeliveryView, dead_letters, list_deliveries, redeliver
from posture.notify.webhooks import (
    DEFAULT_SEVERITIES,
    disable_endpoint,
    list_endpoints,
    register_endpoint,
)
from ui.context import principal, read_service, run_service, show_flash, uk_time, widget_key


def notifications_page() -> None:
    st.title("Notifications")
    show_flash()
    me = principal()
    st.caption(
        "Alerts go out as CloudEvents: by e-mail to the people who asked for them, and to your "
        "organisation's webhook endpoints, signed with the platform's Ed25519 key (the one "
        "published at /v1/passport-keys). Failed deliveries are retried with backoff, then "
        "listed here as dead letters."
    )
    if visible_organisations(me, "delivery.read") is None:
        _estate_outbox(me)
    if holds(me, "webhook.manage"):
        _endpoints(me)
    st.subheader("Dead letters")
    dead = read_service(lambda s: dead_letters(s, me))
    if dead is not None:
        _table(dead, "No dead letters.")
        if dead and holds(me, "delivery.redeliver"):
            _redeliver(me, dead)
    st.subheader("Recent deliveries")
    recent = read_service(lambda s: list_deliveries(s, me, limit=100))
    if recent is not None:
        _table(recent, "No deliveries yet.")


def _estate_outbox(me: Principal) -> None:
    st.subheader("Outbox across the estate")
    summary = read_service(lambda s: outbox_summary(s, me))
    if summary is None:
        return
    st.dataframe(pd.DataFrame(summary.table()), hide_index=True, use_container_width=True)
    oldest = (
        f"the oldest has been due since {uk_time(summary.oldest_pending_due)}"
        if summary.oldest_pending_due is not None
        else "nothing is waiting"
    )
    st.caption(
        f"{summary.alerts_unplanned:,} alerts are not yet planned for delivery; {oldest}. "
        "The worker's notify.deliver schedule plans and sends them."
    )


def _table(rows: list[DeliveryView], empty: str) -> None:
    if not rows:
        st.caption(empty)
        return
    st.dataframe(
        pd.DataFrame(
            {
                "Delivery": [r.id for r in rows],
                "Channel": [r.channel for r in rows],
                "Status": [r.status for r in rows],
                "Alert": [r.alert_id for r in rows],
                "Endpoint": [r.endpoint or "" for r in rows],
                "Attempts": [r.attempts for r in rows],
                "Last error": [r.last_error or "" for r in rows],
                "Updated": [uk_time(r.updated_at) for r in rows],
            }
        ),
        hide_index=True,
        use_container_width=True,
    )


def _redeliver(me: Principal, dead: list[DeliveryView]) -> None:
    with st.form("redeliver"):
        chosen = st.selectbox(
            "Dead letter", [d.id for d in dead], format_func=lambda i: f"Delivery #{i}"
        )
        if st.form_submit_button("Send again") and chosen is not None:
            run_service(
                lambda s: redeliver(s, me, int(chosen), utcnow()),
                f"Delivery #{chosen} is back in the outbox.",
            )


def _endpoints(me: Principal) -> None:
    st.subheader("Webhook endpoints")
    endpoints = read_service(lambda s: list_endpoints(s, me))
    if endpoints is None:
        return
    if endpoints:
        st.dataframe(
            pd.DataFrame(
                {
                    "Endpoint": [e.id for e in endpoints],
                    "Address": [e.shown_url for e in endpoints],
                    "Description": [e.description for e in endpoints],
                    "Severities": [", ".join(e.severities) for e in endpoints],
                    "Active": ["yes" if e.active else "no" for e in endpoints],
                }
            ),
            hide_index=True,
            use_container_width=True,
        )
        active = [e.id for e in endpoints if e.active]
        if active:
            with st.form("disable-endpoint"):
                named = {e.id: f"#{e.id} {e.shown_url} {e.description[:60]}" for e in endpoints}
                chosen = st.selectbox("Endpoint", active, format_func=named.__getitem__)
                if st.form_submit_button("Disable endpoint") and chosen is not None:
                    run_service(
                        lambda s: disable_endpoint(s, me, int(chosen), utcnow()),
                        f"Endpoint #{chosen} disabled.",
                    )
    else:
        st.caption("No webhook endpoints yet.")
    organisations = sorted(visible_organisations(me, "webhook.manage") or ())
    if not organisations:
        return
    with st.form("register-endpoint"):
        url = st.text_input("HTTPS address", max_chars=2048, key=widget_key("webhook-url"))
        description = st.text_input(
            "Description", max_chars=200, key=widget_key("webhook-description")
        )
        severities = st.multiselect(
            "Severities to send", list(Severity), default=list(DEFAULT_SEVERITIES)
        )
        if st.form_submit_button("Register endpoint"):
            form = {"url": url, "description": description, "severities": severities}
            egress = EgressPolicy.from_settings(load_settings())
            run_service(
                lambda s: register_endpoint(s, me, organisations[0], form, egress, utcnow()),
                "Endpoint registered.",
                clear=("webhook-url", "webhook-description"),
            )
