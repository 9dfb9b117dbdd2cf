"""A withdrawn product's evidence goes with its file unless another record still uses the file;
a batch that fails half-way leaves nothing half-deleted."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from posture.blobs import BlobStore
from posture.storage.engine import transaction
from posture.storage.models import (
    AuditEvent,
    ChallengeAttachment,
    ChallengeEntry,
    Evidence,
    Job,
    PqChallenge,
)
from posture.storage.models.enums import RunStatus
from tests.retention.conftest import run_sweep
from tests.retention.estate import NOW, EstateBuilder, table_counts


def test_a_file_shared_with_a_live_product_stays_and_an_unshared_one_goes(
    sessions: sessionmaker[Session], store: BlobStore
) -> None:
    with transaction(sessions) as session:
        build = EstateBuilder(session, store)
        withdrawn = build.product("Old records system", NOW - timedelta(days=400))
        live = build.product("Records system", None)
        shared = build.file("shared", b"%PDF- the same ISO 27001 certificate")
        own = build.file("own", b"%PDF- a pen test report of the old system")
        build.evidence("old-certificate", withdrawn, shared)
        build.evidence("old-pen-test", withdrawn, own)
        build.evidence("live-certificate", live, shared)

    report = run_sweep(sessions, store)

    evidence = next(o for o in report.rules if o.kind == "withdrawn_product_evidence")
    assert (evidence.swept, evidence.files_removed) == (2, 1)
    assert store.path(shared).exists()
    assert not store.path(own).exists()
    with sessions() as session:
        assert set(session.scalars(select(Evidence.id))) == {build.estate.ids["live-certificate"]}


def test_a_file_still_named_by_a_challenge_attachment_or_a_queued_job_stays(
    sessions: sessionmaker[Session], store: BlobStore
) -> None:
    with transaction(sessions) as session:
        build = EstateBuilder(session, store)
        withdrawn = build.product("Old records system", NOW - timedelta(days=400))
        in_attachment = build.file("in-attachment", b"%PDF- architecture diagram")
        in_job = build.file("in-job", b'{"bomFormat": "CycloneDX"}')
        build.evidence("diagram", withdrawn, in_attachment)
        build.evidence("cbom", withdrawn, in_job)
        open_challenge = build.challenge("open", NOW + timedelta(days=10))
        build.entry("live-entry", open_challenge, [in_attachment])
        session.add(
            Job(
                kind="check",
                status=RunStatus.QUEUED,
                payload={"request": {"kind": "cbom", "file_sha256": in_job}},
            )
        )

    report = run_sweep(sessions, store)

    evidence = next(o for o in report.rules if o.kind == "withdrawn_product_evidence")
    assert (evidence.swept, evidence.files_removed) == (2, 0)
    assert store.path(in_attachment).exists()
    assert store.path(in_job).exists()


def test_deleted_evidence_unlinks_the_post_quantum_proof_that_named_it(
    sessions: sessionmaker[Session], store: BlobStore
) -> None:
    with transaction(sessions) as session:
        build = EstateBuilder(session, store)
        withdrawn = build.product("Old records system", NOW - timedelta(days=400))
        proof = build.evidence("pq-proof", withdrawn, build.file("proof", b"signed nonce"))
        session.add(
            PqChallenge(
                organisation_id=build.org.id,
                product_id=withdrawn.id,
                algorithm="ML-DSA-65",
                nonce="n" * 64,
                expires_at=NOW - timedelta(days=399),
                evidence_id=proof.id,
            )
        )

    report = run_sweep(sessions, store)

    assert report.ok
    with sessions() as session:
        challenge = session.scalars(select(PqChallenge)).one()
        assert challenge.evidence_id is None
        assert session.get(Evidence, proof.id) is None


def _refuse_entry_updates(session: Session) -> None:
    """A real database refusal part-way through a batch: attachments are deleted first, then
    the entry's update is refused by a trigger."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(
            text(
                "CREATE TRIGGER refuse_reduce BEFORE UPDATE ON challenge_entries "
                "BEGIN SELECT RAISE(ABORT, 'refused by test'); END"
            )
        )
    else:
        session.execute(
            text(
                "CREATE FUNCTION refuse_reduce() RETURNS trigger AS $$ BEGIN "
                "RAISE EXCEPTION 'refused by test'; END $$ LANGUAGE plpgsql"
            )
        )
        session.execute(
            text(
                "CREATE TRIGGER refuse_reduce BEFORE UPDATE ON challenge_entries "
                "FOR EACH ROW EXECUTE FUNCTION refuse_reduce()"
            )
        )


def test_a_batch_that_fails_half_way_leaves_the_entry_and_its_attachments_whole(
    sessions: sessionmaker[Session], store: BlobStore
) -> None:
    with transaction(sessions) as session:
        build = EstateBuilder(session, store)
        closed = build.challenge("closed", NOW - timedelta(days=800))
        files = [build.file("one", b"%PDF- one"), build.file("two", b"%PDF- two")]
        build.entry("entry", closed, files)
        build.product("Old", NOW - timedelta(days=400))
        session.add(
            Job(kind="check", status=RunStatus.FAILED, finished_at=NOW - timedelta(days=100))
        )
    with transaction(sessions) as session:
        _refuse_entry_updates(session)
    with sessions() as session:
        before = table_counts(session)

    report = run_sweep(sessions, store)

    outcomes = {o.kind: o for o in report.rules}
    assert not report.ok
    assert "rolled back" in (outcomes["challenge_entry"].error or "")
    assert "refused by test" not in (outcomes["challenge_entry"].error or "")
    assert outcomes["challenge_entry"].swept == 0
    # The other rules still ran.
    assert outcomes["finished_job"].swept == 1
    with sessions() as session:
        entry = session.scalars(select(ChallengeEntry)).one()
        assert entry.proposal
        assert len(session.scalars(select(ChallengeAttachment)).all()) == 2
        actions = session.scalars(select(AuditEvent.object_id)).all()
        assert actions == ["finished_job"]
        after = table_counts(session)
    assert after["challenge_attachments"] == before["challenge_attachments"]
    assert all(store.path(digest).exists() for digest in files)


def test_a_file_that_cannot_be_removed_is_reported_and_the_sweep_goes_on(
    sessions: sessionmaker[Session], store: BlobStore
) -> None:
    with transaction(sessions) as session:
        build = EstateBuilder(session, store)
        withdrawn = build.product("Old", NOW - timedelta(days=400))
        stuck = build.file("stuck", b"%PDF- stuck")
        build.evidence("stuck", withdrawn, stuck)
        session.add(
            Job(kind="check", status=RunStatus.FAILED, finished_at=NOW - timedelta(days=100))
        )
    # Something else now sits at the file's path that unlink refuses (even for root).
    store.path(stuck).unlink()
    store.path(stuck).mkdir()

    report = run_sweep(sessions, store)

    outcomes = {o.kind: o for o in report.rules}
    assert not report.ok
    assert outcomes["withdrawn_product_evidence"].swept == 1
    assert "1 released files not removed" in (outcomes["withdrawn_product_evidence"].error or "")
    assert outcomes["finished_job"].swept == 1
