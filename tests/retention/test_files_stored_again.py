"""A file released by the sweep but stored again by an upload (the same bytes, so `put` finds
it) before the upload's record commits is kept: the new record never names a removed file."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker

from posture.blobs import BlobStore
from posture.retention.blobs import remove_unreferenced
from posture.storage.engine import transaction
from posture.storage.models import Evidence
from posture.storage.models.enums import Provenance
from tests.retention.conftest import run_sweep
from tests.retention.estate import NOW, EstateBuilder, backdate

PEN_TEST = b"%PDF- pen test report of the records system"
UPLOADERS = 19


def test_storing_the_same_bytes_again_marks_the_file_as_just_stored(store: BlobStore) -> None:
    digest = store.put(PEN_TEST)
    backdate(store, digest, timedelta(days=30))

    assert store.put(PEN_TEST) == digest

    assert store.path(digest).stat().st_mtime > time.time() - 60


@contextmanager
def once_released(
    sessions: sessionmaker[Session], action: Callable[[], object]
) -> Iterator[list[bool]]:
    """Run `action` once, the instant the batch that deletes evidence rows has committed:
    after the sweep released the file, before it looks at the file."""
    deleted: list[bool] = []
    ran: list[bool] = []

    def note_delete(state: ORMExecuteState) -> None:
        mapper = state.bind_mapper
        if state.is_delete and mapper is not None and mapper.class_ is Evidence:
            deleted.append(True)

    def after_commit(session: Session) -> None:
        if deleted and not ran:
            ran.append(True)
            action()

    event.listen(sessions, "do_orm_execute", note_delete)
    event.listen(sessions, "after_commit", after_commit)
    try:
        yield ran
    finally:
        event.remove(sessions, "after_commit", after_commit)
        event.remove(sessions, "do_orm_execute", note_delete)


def _upload_record(session: Session, organisation_id: int, digest: str) -> None:
    session.add(
        Evidence(
            organisation_id=organisation_id,
            kind="document",
            filename="pen-test.pdf",
            media_type="application/pdf",
            size_bytes=len(PEN_TEST),
            sha256=digest,
            provenance=Provenance.DOCUMENTARY,
            storage_key=f"uploads/{digest}",
        )
    )


def _withdrawn_pen_test(sessions: sessionmaker[Session], store: BlobStore) -> tuple[int, str]:
    """A product withdrawn 400 days ago whose pen test file was stored long ago."""
    with transaction(sessions) as session:
        build = EstateBuilder(session, store)
        withdrawn = build.product("Old records system", NOW - timedelta(days=400))
        digest = build.file("pen-test", PEN_TEST)
        build.evidence("old-pen-test", withdrawn, digest)
        return build.org.id, digest


def test_an_upload_of_the_same_bytes_right_after_the_release_keeps_the_file(
    sessions: sessionmaker[Session], store: BlobStore
) -> None:
    org_id, digest = _withdrawn_pen_test(sessions, store)
    # A supplier uploads the same report again; its evidence row is not committed yet.
    with once_released(sessions, lambda: store.put(PEN_TEST)) as uploaded:
        report = run_sweep(sessions, store)

    assert uploaded, "the upload never ran: the scenario did not happen"
    evidence = next(o for o in report.rules if o.kind == "withdrawn_product_evidence")
    assert (evidence.swept, evidence.files_removed, evidence.files_kept_recent) == (1, 0, 1)
    with transaction(sessions) as session:
        _upload_record(session, org_id, digest)
    assert store.get(digest) == PEN_TEST


def test_a_record_committed_after_the_release_keeps_a_file_stored_long_ago(
    sessions: sessionmaker[Session], store: BlobStore
) -> None:
    """The references are read after the releasing commit, immediately before removal."""
    org_id, digest = _withdrawn_pen_test(sessions, store)

    def link_again() -> None:
        with transaction(sessions) as session:
            _upload_record(session, org_id, digest)

    with once_released(sessions, link_again) as linked:
        report = run_sweep(sessions, store)

    assert linked, "the record was never committed: the scenario did not happen"
    evidence = next(o for o in report.rules if o.kind == "withdrawn_product_evidence")
    assert (evidence.swept, evidence.files_removed, evidence.files_kept_recent) == (1, 0, 0)
    assert store.get(digest) == PEN_TEST


def test_a_released_file_stored_within_the_hour_stays_and_an_older_one_goes(
    sessions: sessionmaker[Session], store: BlobStore
) -> None:
    older = store.put(b"%PDF- stored yesterday")
    backdate(store, older, timedelta(days=1))
    recent = store.put(b"%PDF- stored ten minutes ago")
    backdate(store, recent, timedelta(minutes=10))

    removal = remove_unreferenced(sessions, store, [older, recent])

    assert (removal.removed, removal.kept_recent) == (1, 1)
    assert not store.path(older).exists()
    assert store.get(recent) == b"%PDF- stored ten minutes ago"


def test_uploads_racing_the_removal_of_their_files_never_lose_one(
    sessions: sessionmaker[Session], store: BlobStore
) -> None:
    """Nineteen uploaders store half of 400 released files again, starting as the sweep reads
    the references and going on while it removes files: every file an upload stored is there
    afterwards, and the rest are gone."""
    contents = [f"%PDF- report {n}".encode() for n in range(400)]
    digests = [store.put(content) for content in contents]
    for digest in digests:
        backdate(store, digest, timedelta(days=1))
    # Last first: the sweep removes in digest order, the uploads meet it on the way.
    again = sorted(contents[::2], key=lambda c: hashlib.sha256(c).hexdigest(), reverse=True)
    stored: list[str] = []
    failures: list[BaseException] = []
    references_read = threading.Event()

    def upload(part: int) -> None:
        try:
            references_read.wait(timeout=60)
            for content in again[part::UPLOADERS]:
                stored.append(store.put(content))
        except BaseException as exc:  # the assertion below shows what failed
            failures.append(exc)

    def sweep_files() -> None:
        try:
            remove_unreferenced(sessions, store, digests)
        except BaseException as exc:
            failures.append(exc)

    def start_uploads(*_: object) -> None:
        references_read.set()

    threads = [threading.Thread(target=upload, args=(n,)) for n in range(UPLOADERS)]
    threads.append(threading.Thread(target=sweep_files))
    event.listen(sessions, "after_begin", start_uploads)
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        event.remove(sessions, "after_begin", start_uploads)

    assert failures == []
    assert references_read.is_set()
    assert len(stored) == len(again)
    assert [d for d in stored if not store.path(d).exists()] == []
    assert all(store.get(d) for d in stored)
    left_alone = set(digests) - set(stored)
    assert not any(store.path(d).exists() for d in left_alone)
    assert not [name for name in os.listdir(store.folder) if name.endswith(".released")]
