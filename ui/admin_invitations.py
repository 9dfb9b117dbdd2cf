"""The Invitations tab: invite an address into an organisation in a role (the code is shown
once), see every invitation and where it stands, and revoke one still open."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from posture.identity.invitations import (
    INVITATION_DAYS,
    MAX_INVITATION_DAYS,
    InvitationView,
    IssuedInvitation,
    invite,
    list_invitations,
    revoke_invitation,
)
from posture.identity.roles import role_name
from ui.admin_common import (
    OneTimeSecret,
    choose_place,
    keep_secret,
    organisations,
    when,
)
from ui.context import read_service, run_service, uk_time, widget_key


def invitations_tab(me) -> None:  # type: ignore[no-untyped-def]
    _invite(me)
    st.subheader("Invitations sent")
    sent = read_service(lambda s: list_invitations(s, me))
    if sent is None:
        return
    if not sent:
        st.caption("No invitations yet.")
        return
    st.dataframe(_table(sent), hide_index=True, use_container_width=True)
    _revoke(me, [v for v in sent if v.status == "open"])


def _invite(me) -> None:  # type: ignore[no-untyped-def]
    st.subheader("Invite someone")
    st.caption(
        "They get a code to type on the sign-in page, under “I have an invitation”, where they "
        "choose their name and password. Send it to them yourself: the code is shown only once."
    )
    chosen = choose_place(me, organisations(me), ("Organisation to join", "Their role"), "invite")
    if chosen is None:
        return
    org, role = chosen
    with st.form("invite"):
        address = st.text_input(
            "Their e-mail address", max_chars=254, key=widget_key("invite-address")
        )
        days = st.number_input(
            "Days the code stays good",
            min_value=1,
            max_value=MAX_INVITATION_DAYS,
            value=INVITATION_DAYS,
            step=1,
        )
        sent = st.form_submit_button("Create the invitation")
    if sent:
        run_service(
            lambda s: invite(s, me, address, org.id, role, int(days)),
            "Invitation created.",
            clear=("invite-address",),
            keep=_reveal,
        )


def _reveal(issued: IssuedInvitation) -> None:
    keep_secret(
        OneTimeSecret(
            "Invitation code",
            issued.code,
            f"For {issued.email}, to join {issued.organisation_name} as "
            f"{role_name(issued.role).lower()}. Good once, until {uk_time(issued.expires_at)}.",
        )
    )


def _table(sent: list[InvitationView]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Invitee": [v.email for v in sent],
            "Organisation": [v.organisation_name for v in sent],
            "Role": [role_name(v.role) for v in sent],
            "Status": [v.status for v in sent],
            "Invited by": [v.invited_by for v in sent],
            "Sent": [uk_time(v.created_at) for v in sent],
            "Good until": [uk_time(v.expires_at) for v in sent],
            "Accepted": [when(v.accepted_at, "") for v in sent],
        }
    )


def _revoke(me, open_ones: list[InvitationView]) -> None:  # type: ignore[no-untyped-def]
    if not open_ones:
        return
    by_id = {v.id: v for v in open_ones}
    with st.form("revoke-invitation"):
        chosen = st.selectbox(
            "Open invitation",
            list(by_id),
            format_func=lambda i: (
                f"{by_id[i].email}: {role_name(by_id[i].role)} at {by_id[i].organisation_name}"
            ),
        )
        if st.form_submit_button("Revoke the invitation") and chosen is not None:
            run_service(lambda s: revoke_invitation(s, me, int(chosen)), "Invitation revoked.")
