"""The retention sweep: plan which rules apply at `now` (pure), then apply each in bounded
batches, one transaction and one audit event per batch, and remove released files after the
batch commits.

Each batch first takes the lock that orders audit appends (posture.audit.hold_append_lock) and
only then reads which rows are due, so concurrent sweeps take turns batch by batch: a row one
sweep deleted is simply not due for the next, and nothing is deleted twice. A batch that fails
rolls back alone; the sweep reports it and goes on with the next rule.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from kernel.clock import utcnow
from kernel.errors import ValidationFailed
from kernel.settings import Settings
from posture.audit import Actor, hold_append_lock, record
from posture.blobs import BlobStore
from posture.retention.blobs import remove_unreferenced
from posture.retention.kinds import KINDS, RecordKind
from posture.retention.policy import SHIPPED_POLICY, RetentionPolicy, RetentionRule, load_policy
from posture.storage.engine import build_engine, session_factory, transaction

log = logging.getLogger("assure.retention")

RETENTION = Actor(label="retention")
SWEPT = "retention.swept"
BATCH_SIZE = 500


@dataclass(frozen=True)
class PlannedRule:
    rule: RetentionRule
    kind: RecordKind
    cutoff: datetime


def plan_sweep(policy: RetentionPolicy, now: datetime) -> list[PlannedRule]:
    """Each rule with the instant its rows must predate to be due; no I/O."""
    return [PlannedRule(rule, KINDS[rule.kind], rule.cutoff(now)) for rule in policy.rules]


def count_due(session: Session, planned: PlannedRule) -> int:
    due = planned.kind.due(planned.cutoff, planned.rule.clear).order_by(None).subquery()
    return session.scalar(select(func.count()).select_from(due)) or 0


@dataclass
class RuleOutcome:
    kind: str
    action: str
    days: int
    cutoff: str
    due: int = 0  # a dry run's count; a sweep's rows changed are `swept`
    swept: int = 0
    batches: int = 0
    dependents: dict[str, int] = field(default_factory=dict)
    files_removed: int = 0
    # Released and unreferenced, but stored again within the hour: an upload is naming them.
    files_kept_recent: int = 0
    error: str | None = None


@dataclass
class SweepReport:
    now: str
    dry_run: bool
    policy_version: int
    rules: list[RuleOutcome]

    @property
    def ok(self) -> bool:
        return all(outcome.error is None for outcome in self.rules)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


def _describe_failure(exc: Exception) -> str:
    # A driver's message can quote the row's values; the report and log say only what failed.
    if isinstance(exc, SQLAlchemyError):
        orig = getattr(exc, "orig", None)
        return f"database error ({type(orig or exc).__name__}); the batch was rolled back"
    return f"{type(exc).__name__}; the batch was rolled back"


def _sweep_batch(
    session: Session, planned: PlannedRule, batch_size: int, policy_version: int
) -> tuple[int, dict[str, int], set[str]] | None:
    """Apply one batch in `session`'s transaction; None when nothing is due."""
    hold_append_lock(session)
    ids = list(
        session.scalars(planned.kind.due(planned.cutoff, planned.rule.clear).limit(batch_size))
    )
    if not ids:
        return None
    applied = planned.kind.apply(session, ids, planned.rule.clear)
    data: dict[str, Any] = {
        "kind": planned.rule.kind,
        "action": planned.rule.action,
        "from": planned.rule.from_event,
        "days": planned.rule.days,
        "cutoff": planned.cutoff.isoformat(),
        "policy_version": policy_version,
        "count": len(ids),
        "dependents": applied.dependents,
        "files_released": len(applied.released_digests),
    }
    if planned.rule.action == "reduce":
        data["cleared"] = list(planned.rule.clear)
    if planned.kind.ids_in_audit:
        data["ids"] = [str(i) for i in ids]
    record(session, RETENTION, SWEPT, "retention_rule", planned.rule.kind, data)
    return len(ids), applied.dependents, applied.released_digests


def _sweep_batches(
    sessions: sessionmaker[Session],
    planned: PlannedRule,
    outcome: RuleOutcome,
    batch_size: int,
    policy_version: int,
    released: set[str],
) -> None:
    """Batches until none is due or one fails; `released` gathers the files of committed ones."""
    size = min(batch_size, planned.kind.max_batch)
    while True:
        try:
            with transaction(sessions) as session:
                done = _sweep_batch(session, planned, size, policy_version)
        except Exception as exc:  # any failure: that batch rolled back alone; say so, go on
            outcome.error = _describe_failure(exc)
            log.error("retention %s: %s", planned.rule.kind, outcome.error)
            return
        if done is None:
            return
        count, dependents, digests = done
        outcome.swept += count
        outcome.batches += 1
        for name, value in dependents.items():
            outcome.dependents[name] = outcome.dependents.get(name, 0) + value
        released.update(digests)
        if count < size:
            return


def _sweep_rule(
    sessions: sessionmaker[Session],
    store: BlobStore,
    planned: PlannedRule,
    outcome: RuleOutcome,
    batch_size: int,
    policy_version: int,
) -> None:
    released: set[str] = set()
    try:
        _sweep_batches(sessions, planned, outcome, batch_size, policy_version, released)
    finally:
        # Only files of committed batches, and once per rule: each look-up reads every job's
        # payload, so it is done once for all the rule's batches rather than once a batch.
        try:
            files = remove_unreferenced(sessions, store, released)
            outcome.files_removed += files.removed
            outcome.files_kept_recent += files.kept_recent
        except Exception as exc:  # the rows are gone already; the files stay, and say so
            failure = f"{len(released)} released files not removed ({type(exc).__name__})"
            outcome.error = f"{outcome.error}; {failure}" if outcome.error else failure
            log.error("retention %s: %s", planned.rule.kind, failure)


def sweep(
    sessions: sessionmaker[Session],
    store: BlobStore,
    policy: RetentionPolicy,
    now: datetime,
    dry_run: bool = False,
    batch_size: int = BATCH_SIZE,
) -> SweepReport:
    """Apply `policy` as of `now`; with `dry_run`, only count what is due (nothing is written)."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    report = SweepReport(now.isoformat(), dry_run, policy.version, [])
    for planned in plan_sweep(policy, now):
        rule = planned.rule
        outcome = RuleOutcome(rule.kind, rule.action, rule.days, planned.cutoff.isoformat())
        report.rules.append(outcome)
        if dry_run:
            with sessions() as session:
                outcome.due = count_due(session, planned)
            continue
        _sweep_rule(sessions, store, planned, outcome, batch_size, policy.version)
    return report


def run_scheduled(settings: Settings, now: datetime | None = None) -> dict[str, Any]:
    """The nightly sweep every worker schedules, as of now: the policy the `retention_policy`
    setting names, else the shipped one. Nothing is swept when `retention_schedule` is off, nor
    when the named policy is refused: an operator's longer periods (a legal hold) must never be
    replaced by the shipped, shorter ones. Returns the report."""
    if not settings.retention_schedule:
        log.info("retention sweep: not run, the schedule is off (ASSURE_RETENTION_SCHEDULE)")
        return {"ok": True, "skipped": "retention_schedule is off", "rules": []}
    try:
        policy = load_policy(settings.retention_policy)
    except ValidationFailed as exc:
        log.error("retention sweep: not run, nothing swept: the policy is refused: %s", exc)
        return {"ok": False, "error": str(exc), "rules": []}
    engine = build_engine(settings)
    try:
        report = sweep(
            session_factory(engine), BlobStore.for_settings(settings), policy, now or utcnow()
        )
    finally:
        engine.dispose()
    swept = {o.kind: o.swept for o in report.rules if o.swept}
    if swept or not report.ok:
        log.info("retention sweep: %s%s", swept, "" if report.ok else " (with errors)")
    return {**report.as_dict(), "policy": str(settings.retention_policy or SHIPPED_POLICY)}
