"""Queue a check for a product: the job row is committed first, then its id goes on the queue."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from kernel.errors import ValidationFailed
from posture.check_requests import CheckRequest, file_fields, stage_file
from posture.check_targets import vet_request
from posture.identity.permissions import Principal
from posture.jobs.checks import create_check_job
from posture.jobs.queue import JobQueue
from posture.storage.engine import transaction


def submit_check(
    sessions: sessionmaker[Session],
    queue: JobQueue,
    principal: Principal,
    product_id: int,
    request: CheckRequest,
    data: bytes | None = None,
) -> int:
    """Committing before enqueueing means a fast worker never looks for a row not yet there.
    The file is kept only once the principal may run checks on the product. A target the
    queue's egress policy forbids is refused, and nothing is queued: judged after the permission
    check, so someone who may not run checks cannot learn the allow-list from the refusals."""
    with transaction(sessions) as session:
        job_id = create_check_job(session, principal, product_id, request).id
        vet_request(request, queue.egress)  # a refusal rolls the job back
        if request.file_sha256:
            if data is None or file_fields("", data)["file_sha256"] != request.file_sha256:
                raise ValidationFailed("file: the file does not match the request")
            stage_file(queue.files, data)
    queue.run_check(job_id)
    return job_id
