"""Queue a check for a product: the job row is committed first, then its id goes on the queue."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from posture.identity.permissions import Principal
from posture.jobs.checks import CheckRequest, create_check_job
from posture.jobs.queue import JobQueue
from posture.storage.engine import transaction


def submit_check(
    sessions: sessionmaker[Session],
    queue: JobQueue,
    principal: Principal,
    product_id: int,
    request: CheckRequest,
) -> int:
    """Committing before enqueueing means a fast worker never looks for a row not yet there."""
    with transaction(sessions) as session:
        job_id = create_check_job(session, principal, product_id, request).id
    queue.run_check(job_id)
    return job_id
