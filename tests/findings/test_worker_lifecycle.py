"""Done when: a real `assure worker` process checks a real TLS server on loopback; the finding
the server shows closes on the next run once the server is fixed, and reopens when the fault
returns."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from posture.check_requests import CheckRequest
from posture.jobs.dispatch import submit_check
from posture.storage.models import TrackedFinding
from posture.storage.models.enums import Role, RunStatus
from posture.storage.models.finding_lifecycle import FindingStatus
from tests.passport.conftest import Db
from tests.peers.certificates import make_certificate
from tests.peers.servers import Handler, LoopbackServer, pyopenssl_handler
from tests.peers.workers import app_queue, running_worker, wait_for_jobs

EXPIRED = "CERT-001"


def test_a_fixed_server_closes_its_finding_and_a_returning_fault_reopens_it(
    world_db: Db, tmp_path: Path
) -> None:
    world, sessions, settings = world_db
    product_id = world.orgs["s1"].product_id
    assert product_id is not None
    (tmp_path / "expired").mkdir()
    (tmp_path / "valid").mkdir()
    expired = pyopenssl_handler(*make_certificate(tmp_path / "expired", expired=True))
    valid = pyopenssl_handler(*make_certificate(tmp_path / "valid"))
    serving: list[Handler] = [expired]
    queue = app_queue(settings)
    member = world.principal(Role.SUPPLIER_MEMBER)

    def expired_finding() -> TrackedFinding | None:
        with sessions() as session:
            found = session.scalar(
                select(TrackedFinding).where(
                    TrackedFinding.product_id == product_id, TrackedFinding.code == EXPIRED
                )
            )
            session.expunge_all()
            return found

    with LoopbackServer(lambda sock: serving[0](sock)) as server, running_worker(settings):
        request = CheckRequest(kind="tls", target=f"127.0.0.1:{server.port}")

        def check() -> None:
            job_id = submit_check(sessions, queue, member, product_id, request)
            job = wait_for_jobs(sessions, [job_id], timeout=90)[job_id]
            assert job.status is RunStatus.SUCCEEDED, job.error

        check()
        shown = expired_finding()
        assert shown is not None
        assert shown.status == FindingStatus.OPEN
        assert shown.subject.startswith("certificate leaf")

        serving[0] = valid
        check()
        fixed = expired_finding()
        assert fixed is not None
        assert fixed.status == FindingStatus.RESOLVED
        # Closed by the later run, which did not show it.
        assert (fixed.resolved_check_run_id or 0) > fixed.last_check_run_id

        serving[0] = expired
        check()
        back = expired_finding()
        assert back is not None
        assert back.id == shown.id
        assert back.status == FindingStatus.OPEN
        assert back.reopened_count == 1
