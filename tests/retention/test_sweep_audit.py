"""Every batch leaves one `retention.swept` event by the retention actor, with counts and ids
and no personal data, and the chain still verifies."""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from posture.audit import verify_chain
from posture.blobs import BlobStore
from posture.storage.models import AuditEvent
from tests.retention.conftest import run_sweep
from tests.retention.estate import PERSONAL, Estate


def test_each_batch_is_audited_with_counts_and_ids_by_the_retention_actor(
    sessions: sessionmaker[Session], store: BlobStore, estate: Estate
) -> None:
    run_sweep(sessions, store)

    with sessions() as session:
        events = {e.object_id: e for e in session.scalars(select(AuditEvent))}
    assert set(events) == {
        "challenge_entry",
        "judge_conflict",
        "withdrawn_product_evidence",
        "user_session",
        "api_token",
        "sign_in_address",
        "passkey_challenge",
        "finished_job",
        "invitation",
    }
    assert {(e.action, e.actor_label, e.actor_user_id) for e in events.values()} == {
        ("retention.swept", "retention", None)
    }
    entry = events["challenge_entry"].data
    assert entry["count"] == 1
    assert entry["ids"] == [str(estate.ids["entry-due"])]
    assert entry["dependents"] == {"attachments": 1}
    assert entry["cleared"] == ["proposal", "eligibility_answers", "created_by_user_id"]
    assert events["finished_job"].data["dependents"] == {"check_runs_detached": 1}
    assert events["withdrawn_product_evidence"].data["ids"] == [str(estate.ids["evidence-due"])]


def test_no_event_carries_personal_data_or_secret_keys(
    sessions: sessionmaker[Session], store: BlobStore, estate: Estate
) -> None:
    run_sweep(sessions, store)

    with sessions() as session:
        events = session.scalars(select(AuditEvent)).all()
    written = json.dumps([(e.actor_label, e.object_id, e.data) for e in events])
    for personal in (
        *PERSONAL,
        "ceremony-due",
        "attachment-due-0.pdf",
        "evidence-due.pdf",
        "invitee-due@acme.example",
    ):
        assert personal not in written, personal
    # Keys that are themselves personal or secret are counted, never listed.
    by_kind = {e.object_id: e.data for e in events}
    assert "ids" not in by_kind["sign_in_address"]
    assert "ids" not in by_kind["passkey_challenge"]
    assert by_kind["sign_in_address"]["count"] == 1


def test_the_audit_chain_still_verifies_after_a_sweep(
    sessions: sessionmaker[Session], store: BlobStore, estate: Estate
) -> None:
    run_sweep(sessions, store)
    run_sweep(sessions, store)

    with sessions() as session:
        chain = verify_chain(session)
    assert chain.intact
    assert chain.events_checked == 9  # one a kind, and the second sweep finds nothing
