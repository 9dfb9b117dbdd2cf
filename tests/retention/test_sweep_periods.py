"""Each kind of record goes a second past its period and stays a second short of it; a second
sweep finds nothing; a dry run changes nothing."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from kernel.settings import Settings
from posture.audit import verify_chain
from posture.blobs import BlobStore
from posture.retention.sweep import run_scheduled
from posture.storage.engine import transaction
from posture.storage.models import (
    ApiToken,
    AuditEvent,
    ChallengeAttachment,
    ChallengeEntry,
    CheckRun,
    Evidence,
    Invitation,
    Job,
    JudgeAllocation,
    JudgeConflict,
    PasskeyChallenge,
    SignInAddress,
    UserSession,
)
from tests.retention.conftest import run_sweep
from tests.retention.estate import NOW, Estate, table_counts

DELETED = {
    "conflict": JudgeConflict,
    "evidence": Evidence,
    "session": UserSession,
    "token": ApiToken,
    "address": SignInAddress,
    "ceremony": PasskeyChallenge,
    "job": Job,
    "invitation": Invitation,
}


def test_rows_past_their_period_go_and_rows_short_of_it_stay(
    sessions: sessionmaker[Session], store: BlobStore, estate: Estate
) -> None:
    report = run_sweep(sessions, store)

    assert report.ok
    assert {o.kind: o.swept for o in report.rules} == {
        "challenge_entry": 1,
        "judge_conflict": 1,
        "withdrawn_product_evidence": 1,
        "user_session": 1,
        "api_token": 1,
        "sign_in_address": 1,
        "passkey_challenge": 1,
        "finished_job": 1,
        "invitation": 1,
    }
    with sessions() as session:
        for name, model in DELETED.items():
            assert session.get(model, estate.ids[f"{name}-due"]) is None, name
            assert session.get(model, estate.ids[f"{name}-kept"]) is not None, name
        # The check run a deleted job produced keeps its result, without the link.
        assert session.get(CheckRun, estate.ids["run-due"]).job_id is None
        assert session.get(CheckRun, estate.ids["run-kept"]).job_id == estate.ids["job-kept"]


def test_a_reduced_entry_keeps_its_row_and_loses_its_text_author_and_files_together(
    sessions: sessionmaker[Session], store: BlobStore, estate: Estate
) -> None:
    run_sweep(sessions, store)

    with sessions() as session:
        reduced = session.get(ChallengeEntry, estate.ids["entry-due"])
        assert reduced is not None
        assert reduced.title == "entry-due"
        assert (reduced.proposal, reduced.eligibility_answers, reduced.created_by_user_id) == (
            "",
            {},
            None,
        )
        attachments = select(ChallengeAttachment.entry_id)
        assert set(session.scalars(attachments)) == {estate.ids["entry-kept"]}
        # Judges' scores still name the entry, which is why it is reduced, not deleted.
        allocations = set(session.scalars(select(JudgeAllocation.entry_id)))
        assert allocations == {estate.ids["entry-due"], estate.ids["entry-kept"]}
        kept = session.get(ChallengeEntry, estate.ids["entry-kept"])
        assert kept is not None
        assert kept.proposal
        assert kept.created_by_user_id is not None
    assert not store.path(estate.files["attachment-due"]).exists()
    assert store.path(estate.files["attachment-kept"]).exists()


def test_files_of_swept_records_go_and_the_rest_stay(
    sessions: sessionmaker[Session], store: BlobStore, estate: Estate
) -> None:
    run_sweep(sessions, store)

    for name in ("evidence", "attachment", "job"):
        assert not store.path(estate.files[f"{name}-due"]).exists(), name
        assert store.path(estate.files[f"{name}-kept"]).exists(), name


def test_a_second_sweep_finds_nothing_and_writes_no_event(
    sessions: sessionmaker[Session], store: BlobStore, estate: Estate
) -> None:
    run_sweep(sessions, store)
    with sessions() as session:
        before = table_counts(session)

    again = run_sweep(sessions, store)

    assert again.ok
    assert all(o.swept == 0 and o.batches == 0 for o in again.rules)
    with sessions() as session:
        assert table_counts(session) == before


def test_a_dry_run_counts_what_is_due_and_changes_nothing(
    sessions: sessionmaker[Session], store: BlobStore, estate: Estate
) -> None:
    with sessions() as session:
        before = table_counts(session)

    report = run_sweep(sessions, store, dry_run=True)

    assert report.dry_run
    assert all(o.due == 1 and o.swept == 0 for o in report.rules)
    with sessions() as session:
        assert table_counts(session) == before
        assert session.scalar(select(AuditEvent.id).limit(1)) is None
    assert all(store.path(digest).exists() for digest in estate.files.values())


def test_small_batches_sweep_everything_with_one_event_a_batch(
    sessions: sessionmaker[Session], store: BlobStore, estate: Estate
) -> None:
    with transaction(sessions) as session:
        user_id = session.scalar(select(UserSession.user_id).limit(1))
        session.add_all(
            UserSession(
                token_sha256=f"{n:064d}",
                user_id=user_id,
                method="password",
                expires_at=NOW - timedelta(days=400 + n),
            )
            for n in range(7)
        )

    report = run_sweep(sessions, store, batch_size=3)

    swept = next(o for o in report.rules if o.kind == "user_session")
    assert (swept.swept, swept.batches) == (8, 3)
    with sessions() as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.object_id == "user_session").order_by(AuditEvent.id)
        ).all()
        assert [e.data["count"] for e in events] == [3, 3, 2]
        assert verify_chain(session).intact


def test_the_scheduled_sweep_applies_the_shipped_policy(
    backend_settings: Settings, sessions: sessionmaker[Session], estate: Estate
) -> None:
    report = run_scheduled(backend_settings, now=NOW)

    assert report["ok"] is True
    assert {rule["kind"]: rule["swept"] for rule in report["rules"]}["user_session"] == 1
    assert run_scheduled(backend_settings, now=NOW)["rules"][0]["swept"] == 0
