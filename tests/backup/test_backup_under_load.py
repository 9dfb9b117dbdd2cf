"""A backup taken while 20 clients write through the real API (products, changes, evidence
uploads) and checkpoints are signed every few milliseconds restores to an estate that is whole:
the manifest's row counts, every upload's hash, an intact audit trail (a checkpoint naming an
event the copy lacks would read as truncation), every write acknowledged before the backup
began, none begun after it ended; and the restored folder serves the API with the old tokens."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from posture.audit_checkpoint import write_checkpoint
from posture.backup.archive_reader import BackupArchive
from posture.storage.engine import build_engine, session_factory
from tests.backup.estate import (
    PASSPHRASE,
    assure,
    blob_hashes,
    schema_of,
    seed_estate,
    settings_for,
)
from tests.conftest import POSTGRES_URL
from tests.partner_api.live import serving_api

WRITERS = 20


@dataclass
class Ledger:
    """Every write a client made: what, and when it began and was acknowledged."""

    products: list[tuple[int, float, float]] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _writer(
    url: str,
    token: str,
    organisation_id: int,
    draft: int,
    number: int,
    stop: threading.Event,
    ledger: Ledger,
) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
        count = 0
        while not stop.is_set():
            count += 1
            began = time.monotonic()
            made = client.post(
                "/v1/products",
                json={
                    "organisation_id": organisation_id,
                    "name": f"Load product {number}-{count}",
                    "category": "digital_evidence",
                    "deployment_model": "saas",
                },
            )
            done = time.monotonic()
            if made.status_code != 201:
                ledger.failures.append(f"create {made.status_code} {made.text[:200]}")
                continue
            product_id = made.json()["id"]
            with ledger.lock:
                ledger.products.append((product_id, began, done))
            changed = client.patch(
                f"/v1/products/{product_id}", json={"description": f"changed by {number}"}
            )
            if changed.status_code != 200:
                ledger.failures.append(f"patch {changed.status_code} {changed.text[:200]}")
            content = f"Policy from writer {number}, upload {count}.\n".encode()
            uploaded = client.post(
                f"/v1/assessments/{draft}/evidence",
                files={"file": (f"policy-{number}-{count}.txt", content, "text/plain")},
            )
            if uploaded.status_code != 201:
                ledger.failures.append(f"upload {uploaded.status_code} {uploaded.text[:200]}")
            else:
                with ledger.lock:
                    ledger.evidence.append(hashlib.sha256(content).hexdigest())


def _checkpoints(
    data_dir: Path, url: str | None, stop: threading.Event, written: list[int]
) -> None:
    """The worker's checkpoint writer, far more often than hourly."""
    engine = build_engine(settings_for(data_dir, url))
    sessions = session_factory(engine)
    try:
        while not stop.is_set():
            write_checkpoint(sessions, data_dir, "worker")
            written.append(1)
            time.sleep(0.01)
    finally:
        engine.dispose()


@dataclass(frozen=True)
class Backend:
    """Where the live estate is, and where its restore goes (None: SQLite in the folder)."""

    source_url: str | None
    target_url: str | None
    # Called once the load has stopped, before the restore: the PostgreSQL backup's schema must
    # not exist beside the target's (the live one is set aside, as after a disaster).
    before_restore: Callable[[], None] = lambda: None


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    if request.param == "sqlite":
        yield Backend(None, None)
        return
    url = request.getfixturevalue("postgres_schema_url")
    schema = schema_of(url)
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}_r"'))
    aside = []

    def set_aside() -> None:
        with admin.begin() as connection:
            connection.execute(text(f'ALTER SCHEMA "{schema}" RENAME TO "{schema}_aside"'))
        aside.append(True)

    try:
        yield Backend(url, url.replace(f"%3D{schema}", f"%3D{schema}_r"), set_aside)
    finally:
        with admin.begin() as connection:
            if aside:
                connection.execute(text(f'ALTER SCHEMA "{schema}_aside" RENAME TO "{schema}"'))
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}_r" CASCADE'))
        admin.dispose()


@pytest.mark.slow
def test_a_backup_under_write_load_restores_to_a_whole_verifiable_estate(
    tmp_path: Path, backend: Backend
) -> None:
    template = tmp_path / "template"
    prepared = seed_estate(template, backend.source_url)
    database = {"database_url": backend.source_url} if backend.source_url else {}
    org = prepared.world.orgs["s1"]
    data_dir = tmp_path / "data"
    archive = tmp_path / "under-load.tar"
    ledger = Ledger()
    stop = threading.Event()
    checkpoints: list[int] = []
    with serving_api(template, data_dir, settings=database) as live:
        threads = [
            threading.Thread(
                target=_writer,
                args=(
                    live.url,
                    prepared.tokens["s1"],
                    org.organisation_id,
                    org.draft_assessment_id,
                    n,
                    stop,
                    ledger,
                ),
            )
            for n in range(WRITERS)
        ]
        threads.append(
            threading.Thread(
                target=_checkpoints, args=(data_dir, backend.source_url, stop, checkpoints)
            )
        )
        for thread in threads:
            thread.start()
        try:
            while len(ledger.products) < 2 * WRITERS:
                time.sleep(0.05)
            backup_began = time.monotonic()
            backup = assure(
                "db",
                "backup",
                str(archive),
                "--json",
                data_dir=data_dir,
                database_url=backend.source_url,
                ASSURE_BACKUP_PASSPHRASE=PASSPHRASE,
            )
            backup_ended = time.monotonic()
            during = len(ledger.products)
            # And writes go on after it: wait, bounded, for one to begin after the backup ended,
            # rather than for a fixed moment a slower machine may not fill.
            deadline = backup_ended + 30
            while time.monotonic() < deadline:
                with ledger.lock:
                    if any(began > backup_ended for _, began, _ in ledger.products):
                        break
                time.sleep(0.05)
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=60)
    assert backup.returncode == 0, backup.stderr
    assert not ledger.failures, ledger.failures[:5]
    assert len(ledger.products) > during, "no write landed after the backup"
    assert len(checkpoints) > 10
    summary = json.loads(backup.stdout)
    assert summary["keys_included"]
    assert summary["uploads"] >= 1

    restored = tmp_path / "restored"
    backend.before_restore()
    done = assure(
        "db",
        "restore",
        str(archive),
        "--json",
        data_dir=restored,
        database_url=backend.target_url,
        ASSURE_BACKUP_PASSPHRASE=PASSPHRASE,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    with BackupArchive.open(archive) as opened:
        manifest = opened.manifest
    checks = report["checks"]
    assert checks["row_mismatches"] == {}
    assert checks["uploads_damaged"] == []
    assert checks["uploads_missing"] == []
    assert checks["uploads_verified"] == len(manifest.uploads)
    assert checks["audit"]["intact"], checks["audit"]["findings"]
    assert checks["audit"]["events_covered"] > 0

    # Independently of the restore's own checks: counts, hashes, what was acknowledged when.
    engine = build_engine(settings_for(restored, backend.target_url))
    with engine.connect() as connection:
        for table, rows in manifest.database.table_rows.items():
            found = connection.execute(text(f'SELECT count(*) FROM "{table}"')).scalar_one()  # noqa: S608
            assert found == rows, table
        products = set(connection.scalars(text("SELECT id FROM products")))
        own = connection.execute(
            text("SELECT count(*) FROM products WHERE organisation_id = :o"),
            {"o": org.organisation_id},
        ).scalar_one()
        named = set(
            connection.scalars(
                text("SELECT sha256 FROM evidence WHERE storage_key LIKE 'uploads/%'")
            )
        )
    engine.dispose()
    hashes = blob_hashes(restored)
    assert all(name == digest for name, digest in hashes.items())
    assert named <= set(hashes)
    acknowledged_before = {pid for pid, _, acked in ledger.products if acked < backup_began}
    begun_after = {pid for pid, began, _ in ledger.products if began > backup_ended}
    assert acknowledged_before <= products
    assert not begun_after & products
    assert begun_after, "the load did not outlast the backup"

    verified = assure(
        "audit",
        "verify",
        "--json",
        "--require-checkpoint",
        data_dir=restored,
        database_url=backend.target_url,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    # The restored folder serves reads, and tokens issued before the backup still verify.
    target = {"database_url": backend.target_url} if backend.target_url else {}
    with serving_api(restored, tmp_path / "served", settings=target) as again:
        listed = httpx.get(
            f"{again.url}/v1/products",
            params={"limit": 1},
            headers={"Authorization": f"Bearer {prepared.tokens['s1']}"},
            timeout=30,
        )
    assert listed.status_code == 200, listed.text
    assert listed.json()["total"] == own
