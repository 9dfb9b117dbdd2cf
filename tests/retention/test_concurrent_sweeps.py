"""Twenty sweeps at once, each with its own engine (as twenty worker processes would have):
every due row is swept exactly once, no sweep fails, the chain verifies, shared files stay."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from kernel.settings import Settings
from posture.audit import verify_chain
from posture.blobs import BlobStore
from posture.retention.policy import load_policy
from posture.retention.sweep import SweepReport, sweep
from posture.storage.engine import build_engine, session_factory, transaction
from posture.storage.models import AuditEvent, Evidence, UserSession
from tests.retention.estate import NOW, EstateBuilder

SWEEPS = 20
EXPIRED_SESSIONS = 300
WITHDRAWN_EVIDENCE = 60


def test_twenty_concurrent_sweeps_sweep_each_row_once(
    backend_settings: Settings, sessions: sessionmaker[Session], store: BlobStore
) -> None:
    with transaction(sessions) as session:
        build = EstateBuilder(session, store)
        session.add_all(
            UserSession(
                token_sha256=f"{n:064x}",
                user_id=build.user.id,
                method="password",
                expires_at=NOW - timedelta(days=100 + n % 50),
            )
            for n in range(EXPIRED_SESSIONS)
        )
        withdrawn = build.product("Old", NOW - timedelta(days=400))
        live = build.product("Live", None)
        shared = build.file("shared", b"%PDF- shared certificate")
        build.evidence("live-certificate", live, shared)
        own = [build.file(f"own-{n}", f"%PDF- report {n}".encode()) for n in range(30)]
        for n in range(WITHDRAWN_EVIDENCE):
            build.evidence(f"old-{n}", withdrawn, shared if n % 2 else own[n // 2])
    policy = load_policy()
    reports: list[SweepReport] = []
    failures: list[BaseException] = []
    start = threading.Barrier(SWEEPS)

    def one_sweep() -> None:
        engine = build_engine(backend_settings)
        try:
            start.wait()
            reports.append(sweep(session_factory(engine), store, policy, NOW, batch_size=7))
        except BaseException as exc:  # the assertion below shows what failed
            failures.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=one_sweep) for _ in range(SWEEPS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)

    assert failures == []
    assert len(reports) == SWEEPS
    assert all(report.ok for report in reports), [r.as_dict() for r in reports if not r.ok]
    swept = Counter()
    for report in reports:
        for outcome in report.rules:
            swept[outcome.kind] += outcome.swept
    assert swept["user_session"] == EXPIRED_SESSIONS
    assert swept["withdrawn_product_evidence"] == WITHDRAWN_EVIDENCE
    with sessions() as session:
        assert session.scalar(select(UserSession.id).limit(1)) is None
        assert list(session.scalars(select(Evidence.sha256))) == [shared]
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.object_id == "user_session")
        ).all()
        listed = [i for event in events for i in event.data["ids"]]
        assert len(listed) == len(set(listed)) == EXPIRED_SESSIONS
        assert verify_chain(session).intact
    assert store.path(shared).exists()
    assert not any(store.path(digest).exists() for digest in own)
