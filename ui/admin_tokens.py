"""The API tokens tab: tokens with whom they act for, their scopes, lifetime and when last
used; issuing one (shown once) and revoking one."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from kernel.settings import load_settings
from posture.identity.policy import identity_policy
from posture.identity.token_admin import TokenView, issue_for, list_tokens, revoke_for
from posture.identity.tokens import known_scopes, signing_key
from ui.admin_common import OneTimeSecret, keep_secret, when
from ui.context import read_service, run_service, uk_time, widget_key


def tokens_tab(me) -> None:  # type: ignore[no-untyped-def]
    st.caption(
        "Tokens let a partner's system call the API as one account, for the scopes given, for "
        "at most an hour. Last use is noted to the minute."
    )
    ended = st.checkbox("Show expired and revoked tokens", key="tokens-ended")
    tokens = read_service(lambda s: list_tokens(s, me, include_ended=ended))
    if tokens is None:
        return
    if tokens:
        st.dataframe(_table(tokens), hide_index=True, use_container_width=True)
        _revoke(me, [t for t in tokens if t.status == "active"])
    else:
        st.caption("No tokens to show.")
    _issue(me)


def _table(tokens: list[TokenView]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "For": [t.email for t in tokens],
            "Scopes": [", ".join(t.scopes) for t in tokens],
            "What it is for": [t.description for t in tokens],
            "Issued": [uk_time(t.issued_at) for t in tokens],
            "Expires": [uk_time(t.expires_at) for t in tokens],
            "Last used": [when(t.last_used_at) for t in tokens],
            "Status": [t.status for t in tokens],
            "Token id": [t.jti for t in tokens],
        }
    )


def _revoke(me, active: list[TokenView]) -> None:  # type: ignore[no-untyped-def]
    if not active:
        return
    by_jti = {t.jti: t for t in active}
    with st.form("revoke-token"):
        chosen = st.selectbox(
            "Active token",
            list(by_jti),
            format_func=lambda j: f"{by_jti[j].email}: {by_jti[j].description or j}",
        )
        if st.form_submit_button("Revoke the token") and chosen is not None:
            run_service(
                lambda s: revoke_for(s, me, chosen), "Token revoked: it stops working at once."
            )


def _issue(me) -> None:  # type: ignore[no-untyped-def]
    st.subheader("Issue yourself a token")
    st.caption(
        "A token acts as you, with your roles, and what it does is recorded as yours; each person "
        "issues their own."
    )
    policy = identity_policy()
    with st.form("issue-token"):
        scopes = st.multiselect("Scopes", sorted(known_scopes()), key=widget_key("token-scopes"))
        minutes = st.number_input(
            "Minutes it lasts",
            min_value=1,
            max_value=policy.api_token_max_minutes,
            value=policy.api_token_default_minutes,
            step=1,
        )
        description = st.text_input(
            "What it is for", max_chars=200, key=widget_key("token-description")
        )
        if st.form_submit_button("Issue the token"):
            key = signing_key(load_settings())
            run_service(
                lambda s: issue_for(
                    s,
                    me,
                    key,
                    me.user_id,
                    list(scopes),
                    int(minutes),
                    description,
                ),
                "Token issued.",
                clear=("token-scopes", "token-description"),
                keep=_reveal,
            )


def _reveal(issued) -> None:  # type: ignore[no-untyped-def]
    token, row = issued
    keep_secret(
        OneTimeSecret(
            "API token",
            token,
            f"Scopes {', '.join(row.scopes)}; expires {uk_time(row.expires_at)}; "
            f"token id {row.jti}.",
        )
    )
