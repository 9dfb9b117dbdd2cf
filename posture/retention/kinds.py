"""The kinds of record a retention rule can name: which rows are due once their period has run
from an event, and how each is deleted or reduced with everything that must go with it.

The policy (posture/data/retention.yaml) chooses periods and actions; this module knows the
tables. A kind offers only the actions that leave the rest of the data whole: a challenge entry
is reduced, never deleted, because published results and judges' scores refer to it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    and_,
    cast,
    delete,
    exists,
    or_,
    select,
    update,
)
from sqlalchemy.orm import InstrumentedAttribute, Session

from posture.storage.models import (
    Answer,
    ApiToken,
    Assessment,
    Challenge,
    ChallengeAttachment,
    ChallengeEntry,
    CheckRun,
    Evidence,
    Invitation,
    Job,
    JudgeConflict,
    PasskeyChallenge,
    PqChallenge,
    Product,
    SignInAddress,
    UserSession,
)
from posture.storage.models.enums import RunStatus


@dataclass(frozen=True)
class Applied:
    """What one batch changed: the rows, rows removed with them, and files they no longer use."""

    ids: list[Any]
    dependents: dict[str, int] = field(default_factory=dict)
    released_digests: set[str] = field(default_factory=set)


DueQuery = Callable[[datetime, Sequence[str]], Select[Any]]
Apply = Callable[[Session, list[Any], Sequence[str]], Applied]


@dataclass(frozen=True)
class RecordKind:
    name: str
    event: str  # what the period runs from, as the policy names it
    actions: frozenset[str]
    # Fields `reduce` may clear, with the value each is cleared to.
    reducible: Mapping[str, Any]
    # The rows due at `cutoff` (ids, in id order); for `reduce`, only rows not yet reduced.
    due: DueQuery
    apply: Apply
    # False when the primary key is itself personal or secret (a client address, a ceremony
    # handle): the audit event then carries only the count.
    ids_in_audit: bool = True
    # At most this many rows a batch, whatever the sweep asks: each batch holds the audit lock.
    max_batch: int = 10_000


def _ended(
    expires: InstrumentedAttribute[Any], revoked: InstrumentedAttribute[Any], cutoff: datetime
) -> ColumnElement[bool]:
    return or_(expires <= cutoff, and_(revoked.is_not(None), revoked <= cutoff))


def _not_cleared(column: InstrumentedAttribute[Any], cleared: Any) -> ColumnElement[bool]:
    """True while `column` still holds something `reduce` would clear. JSON is compared as its
    text, which is '{}' for an empty document on both SQLite and PostgreSQL."""
    if cleared is None:
        return column.is_not(None)
    if isinstance(cleared, dict):
        return cast(column, String) != "{}"
    return column != cleared


# --- challenge entries: reduced, attachments deleted with them ------------------------------

_ENTRY_CLEARED: dict[str, Any] = {
    "proposal": "",
    "eligibility_answers": {},
    "created_by_user_id": None,
}


def _entry_due(cutoff: datetime, clear: Sequence[str]) -> Select[Any]:
    columns = {name: getattr(ChallengeEntry, name) for name in clear}
    pending = [_not_cleared(columns[name], _ENTRY_CLEARED[name]) for name in clear]
    has_files = exists().where(ChallengeAttachment.entry_id == ChallengeEntry.id)
    return (
        select(ChallengeEntry.id)
        .join(Challenge, Challenge.id == ChallengeEntry.challenge_id)
        .where(Challenge.closes_at <= cutoff, or_(has_files, *pending))
        .order_by(ChallengeEntry.id)
    )


def _entry_apply(session: Session, ids: list[Any], clear: Sequence[str]) -> Applied:
    digests = set(
        session.scalars(
            select(ChallengeAttachment.sha256).where(ChallengeAttachment.entry_id.in_(ids))
        )
    )
    removed = session.execute(
        delete(ChallengeAttachment).where(ChallengeAttachment.entry_id.in_(ids))
    ).rowcount
    if clear:
        session.execute(
            update(ChallengeEntry)
            .where(ChallengeEntry.id.in_(ids))
            .values({name: _ENTRY_CLEARED[name] for name in clear})
            .execution_options(synchronize_session=False)
        )
    return Applied(ids, {"attachments": removed}, digests)


# --- withdrawn products' evidence -------------------------------------------------------------


def _withdrawn(product_id: Any, cutoff: datetime) -> ColumnElement[bool]:
    return exists().where(
        Product.id == product_id, Product.deleted_at.is_not(None), Product.deleted_at <= cutoff
    )


def _evidence_due(cutoff: datetime, clear: Sequence[str]) -> Select[Any]:
    # Evidence reaches its product through its assessment, its answer's assessment or its run.
    via_assessment = exists().where(
        Assessment.id == Evidence.assessment_id, _withdrawn(Assessment.product_id, cutoff)
    )
    via_answer = exists().where(
        Answer.id == Evidence.answer_id,
        Assessment.id == Answer.assessment_id,
        _withdrawn(Assessment.product_id, cutoff),
    )
    via_run = exists().where(
        CheckRun.id == Evidence.check_run_id, _withdrawn(CheckRun.product_id, cutoff)
    )
    return select(Evidence.id).where(or_(via_assessment, via_answer, via_run)).order_by(Evidence.id)


def _evidence_apply(session: Session, ids: list[Any], clear: Sequence[str]) -> Applied:
    digests = set(session.scalars(select(Evidence.sha256).where(Evidence.id.in_(ids))))
    # A post-quantum proof keeps its challenge row; only its link to the deleted file goes.
    unlinked = session.execute(
        update(PqChallenge)
        .where(PqChallenge.evidence_id.in_(ids))
        .values(evidence_id=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.execute(delete(Evidence).where(Evidence.id.in_(ids)))
    return Applied(ids, {"pq_challenges_unlinked": unlinked}, digests)


# --- finished jobs ----------------------------------------------------------------------------

FINISHED = (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED)


def _job_due(cutoff: datetime, clear: Sequence[str]) -> Select[Any]:
    return (
        select(Job.id)
        .where(Job.status.in_(FINISHED), Job.finished_at.is_not(None), Job.finished_at <= cutoff)
        .order_by(Job.id)
    )


def _job_apply(session: Session, ids: list[Any], clear: Sequence[str]) -> Applied:
    digests: set[str] = set()
    for payload in session.scalars(select(Job.payload).where(Job.id.in_(ids))):
        request = payload.get("request") if isinstance(payload, dict) else None
        digest = request.get("file_sha256") if isinstance(request, dict) else None
        if isinstance(digest, str) and digest:
            digests.add(digest)
    # The run the job produced is the evidence and stays; it only loses its link to the job.
    detached = session.execute(
        update(CheckRun)
        .where(CheckRun.job_id.in_(ids))
        .values(job_id=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.execute(delete(Job).where(Job.id.in_(ids)))
    return Applied(ids, {"check_runs_detached": detached}, digests)


# --- rows deleted alone -----------------------------------------------------------------------


def _delete_by(key: InstrumentedAttribute[Any]) -> Apply:
    def apply(session: Session, ids: list[Any], clear: Sequence[str]) -> Applied:
        session.execute(delete(key.class_).where(key.in_(ids)))
        return Applied(ids)

    return apply


def _due_where(
    key: InstrumentedAttribute[Any], condition: Callable[[datetime], ColumnElement[bool]]
) -> DueQuery:
    def due(cutoff: datetime, clear: Sequence[str]) -> Select[Any]:
        return select(key).where(condition(cutoff)).order_by(key)

    return due


def _invitation_ended(cutoff: datetime) -> ColumnElement[bool]:
    """Accepted, revoked or expired by `cutoff`: an invitation no one can use any more."""
    accepted = and_(Invitation.accepted_at.is_not(None), Invitation.accepted_at <= cutoff)
    return or_(accepted, _ended(Invitation.expires_at, Invitation.revoked_at, cutoff))


def _conflict_due(cutoff: datetime, clear: Sequence[str]) -> Select[Any]:
    return (
        select(JudgeConflict.id)
        .join(Challenge, Challenge.id == JudgeConflict.challenge_id)
        .where(Challenge.closes_at <= cutoff)
        .order_by(JudgeConflict.id)
    )


DELETE = frozenset({"delete"})

KINDS: dict[str, RecordKind] = {
    kind.name: kind
    for kind in (
        RecordKind(
            "challenge_entry",
            "challenge_closed",
            frozenset({"reduce"}),
            _ENTRY_CLEARED,
            _entry_due,
            _entry_apply,
        ),
        RecordKind(
            "judge_conflict",
            "challenge_closed",
            DELETE,
            {},
            _conflict_due,
            _delete_by(JudgeConflict.id),
        ),
        RecordKind(
            "withdrawn_product_evidence",
            "product_withdrawn",
            DELETE,
            {},
            _evidence_due,
            _evidence_apply,
        ),
        RecordKind(
            "user_session",
            "session_ended",
            DELETE,
            {},
            _due_where(
                UserSession.id, lambda c: _ended(UserSession.expires_at, UserSession.revoked_at, c)
            ),
            _delete_by(UserSession.id),
        ),
        RecordKind(
            "api_token",
            "token_ended",
            DELETE,
            {},
            _due_where(ApiToken.jti, lambda c: _ended(ApiToken.expires_at, ApiToken.revoked_at, c)),
            _delete_by(ApiToken.jti),
        ),
        RecordKind(
            "invitation",
            "invitation_ended",
            DELETE,
            {},
            _due_where(Invitation.id, _invitation_ended),
            _delete_by(Invitation.id),
        ),
        RecordKind(
            "sign_in_address",
            "throttle_window_started",
            DELETE,
            {},
            _due_where(SignInAddress.address, lambda c: SignInAddress.window_started_at <= c),
            _delete_by(SignInAddress.address),
            ids_in_audit=False,
        ),
        RecordKind(
            "passkey_challenge",
            "challenge_expired",
            DELETE,
            {},
            _due_where(PasskeyChallenge.id, lambda c: PasskeyChallenge.expires_at <= c),
            _delete_by(PasskeyChallenge.id),
            ids_in_audit=False,
        ),
        # Deleting a job detaches its check runs and checks their foreign key through
        # ix_check_runs_job_id (migration 0021), so a 500-job batch holds the audit lock for
        # milliseconds (SQLite, 3,000 jobs: longest batch 0.02 to 0.04 s).
        RecordKind("finished_job", "job_finished", DELETE, {}, _job_due, _job_apply),
    )
}
