"""The hostile corpus submitted as jobs to one real worker process: every input ends as a
recorded, not-assessable run with the finding that names the problem (or, for the genuine
20 MB CBOM, a completed run), and the same worker is alive and working at the end."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from kernel.settings import Settings
from posture.check_requests import MAX_FILE_BYTES, CheckRequest, file_fields
from posture.jobs.dispatch import submit_check
from posture.jobs.queue import build_queue
from posture.storage.models import CheckRun
from posture.storage.models.enums import Role, RunStatus
from tests.identity.world import World
from tests.peers.hostile_inputs import CORPUS, HostileInput
from tests.peers.workers import running_worker, wait_for_jobs

Db = tuple[World, sessionmaker[Session], Settings]


def _jobs() -> list[tuple[HostileInput, bytes]]:
    """What a job can carry: the check kinds, at most the upload size a job accepts."""
    built = ((item, item.build()) for item in CORPUS if item.kind != "oscal")
    return [(item, raw) for item, raw in built if len(raw) <= MAX_FILE_BYTES]


@pytest.mark.slow
def test_one_worker_survives_the_whole_hostile_corpus(world_db: Db) -> None:
    world, sessions, settings = world_db
    jobs_to_run = _jobs()
    product_id = world.orgs["s1"].product_id
    assert product_id is not None
    with running_worker(settings, threads=2) as worker:
        queue = build_queue(settings)
        member = world.principal(Role.SUPPLIER_MEMBER)
        job_ids = [
            submit_check(
                sessions,
                queue,
                member,
                product_id,
                CheckRequest(kind=item.kind, **file_fields(f"supplier.{item.kind}", raw)),
                raw,
            )
            for item, raw in jobs_to_run
        ]
        jobs = wait_for_jobs(sessions, job_ids, timeout=180)
        assert worker.poll() is None, "the worker died"
    with sessions() as session:
        for (item, _raw), job_id in zip(jobs_to_run, job_ids, strict=True):
            job = jobs[job_id]
            assert job.status is RunStatus.SUCCEEDED, (item.name, job.error)
            run = session.get(CheckRun, job.payload["check_run_id"])
            assert run is not None
            assert run.result is not None
            codes = sorted({f["code"] for f in run.result["findings"]})
            if item.refused_with:
                assert run.result["status"] == "not_assessable", item.name
                assert codes == list(item.refused_with), item.name
            else:
                assert run.result["status"] == "completed", item.name
