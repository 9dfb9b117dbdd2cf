"""Proving post-quantum signing, on the products page: issue a challenge for a product, show the
exact message to sign and when the challenge expires, take the public key and the signature (as
uploaded files or base64 text) and show the verdict. A verified answer is recorded by the
service as automated-check evidence."""

from __future__ import annotations

import base64
import binascii
from typing import Any

import streamlit as st

from kernel.clock import utcnow
from kernel.errors import AssureError, ValidationFailed
from posture.identity.permissions import Principal
from posture.storage.models import PqChallenge, Product
from supplier_portal import pq_proof
from ui.context import run_service, uk_time
from ui.plain import escape_markdown, plain_error
from ui.runtime import sessions

CHALLENGE_KEY = "assure_pq_challenge"


def answer_bytes(what: str, upload: Any, typed: str, limit: int) -> bytes:
    """The key or signature from whichever way it was given: an uploaded file holds the raw
    bytes, text is base64 (line breaks and spaces, as tools wrap it, are ignored)."""
    text = "".join(typed.split())
    if upload is not None and text:
        raise ValidationFailed(f"{what}: give a file or base64 text, not both")
    if upload is not None:
        if upload.size > limit:
            raise ValidationFailed(f"{what}: the file is {upload.size} bytes, over the {limit}")
        return bytes(upload.getvalue())
    if not text:
        raise ValidationFailed(f"{what}: upload it as a file or paste it in base64")
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error as exc:
        raise ValidationFailed(f"{what}: not base64 (A-Z a-z 0-9 + /, padded with =)") from exc


def pq_proof_section(me: Principal, mine: list[Product]) -> None:
    st.subheader("Prove post-quantum signing")
    st.caption(
        "The portal issues a one-time challenge. Sign its exact message with the product's "
        "ML-DSA private key and give the public key and the signature; a signature that verifies "
        "is recorded as automated-check evidence."
    )
    names = {p.id: p.name for p in mine}
    product_id = st.selectbox(
        "Product to prove", list(names), format_func=lambda i: names[i], key="pq-product"
    )
    algorithms = list(pq_proof.ACCEPTED_ALGORITHMS)
    algorithm = st.selectbox(
        "ML-DSA parameter set of the key", algorithms, index=algorithms.index("ML-DSA-65")
    )
    if st.button("Issue a challenge"):

        def issue(session):  # type: ignore[no-untyped-def]
            challenge = pq_proof.issue_challenge(session, me, product_id, algorithm)
            st.session_state[CHALLENGE_KEY] = challenge.id
            return challenge

        run_service(issue, "Challenge issued: sign its message before it expires.")
    challenge_id = st.session_state.get(CHALLENGE_KEY)
    if challenge_id is None:
        return
    with sessions()() as session:
        try:
            challenge = pq_proof.get_challenge(session, me, challenge_id)
        except AssureError:
            # Gone from reach (another sign-in in this browser): forget it quietly.
            st.session_state.pop(CHALLENGE_KEY, None)
            return
    _challenge(me, challenge, names.get(challenge.product_id or 0, "a withdrawn product"))


def _challenge(me: Principal, challenge: PqChallenge, product: str) -> None:
    st.markdown(
        f"**Challenge {challenge.id}** for {escape_markdown(product)}, {challenge.algorithm}"
    )
    if challenge.answered_at is not None:
        st.success(
            f"Verified: the {challenge.algorithm} signature matches the message. Recorded as "
            f"automated-check evidence {challenge.evidence_id} on {uk_time(challenge.answered_at)}."
        )
        return
    if utcnow() >= challenge.expires_at:
        st.warning(f"This challenge expired on {uk_time(challenge.expires_at)}; issue a new one.")
        return
    message = pq_proof.challenge_message(challenge)
    st.caption(
        f"Sign exactly these {len(message)} bytes (ASCII, with no line break at the end) "
        f"before {uk_time(challenge.expires_at)}:"
    )
    st.code(message.decode("ascii"), language=None, wrap_lines=True)
    st.caption("The same bytes in base64:")
    st.code(base64.b64encode(message).decode("ascii"), language=None, wrap_lines=True)
    st.download_button(
        "Download the message to sign",
        message,
        file_name=f"pq-challenge-{challenge.id}.bin",
        mime="application/octet-stream",
    )
    limits = {"key": pq_proof.MAX_PUBLIC_KEY_BYTES, "sig": pq_proof.MAX_SIGNATURE_BYTES}
    with st.form(f"pq-answer-{challenge.id}"):
        key_file = st.file_uploader(
            "Public key file (raw bytes)", key=f"pq-key-{challenge.id}", max_upload_size=1
        )
        # Bounds what may be pasted; the service holds the decoded bytes to the exact limit.
        key_text = st.text_area("…or the public key in base64", max_chars=2 * limits["key"])
        sig_file = st.file_uploader(
            "Signature file (raw bytes)", key=f"pq-sig-{challenge.id}", max_upload_size=1
        )
        sig_text = st.text_area("…or the signature in base64", max_chars=2 * limits["sig"])
        sent = st.form_submit_button("Verify the signature")
    if not sent:
        return
    try:
        public_key = answer_bytes("public key", key_file, key_text, limits["key"])
        signed = answer_bytes("signature", sig_file, sig_text, limits["sig"])
    except ValidationFailed as exc:
        plain_error(exc)
        return

    def answer(session):  # type: ignore[no-untyped-def]
        try:
            return pq_proof.answer_challenge(session, me, challenge.id, public_key, signed)
        except ValidationFailed as exc:
            raise ValidationFailed(f"Not verified: {exc}") from exc

    run_service(answer, "Post-quantum signature verified and recorded as evidence.")
