"""The actions posture's schedules run, by the name the schedule book gives them. Each is given
the schedule's context and returns a JSON-able summary of what it did."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from kernel.data_dir import ensure_data_dir
from kernel.errors import ConfigError
from posture.audit import SYSTEM, Actor, hold_append_lock
from posture.schedules.book import Action
from posture.schedules.runner import ScheduleContext
from posture.storage.engine import transaction

log = logging.getLogger("assure.schedules")
SCHEDULE_ACTOR = Actor(label="schedule")


def queue_due_rechecks(context: ScheduleContext) -> dict[str, Any]:
    from posture.monitoring.endpoints import queue_due_checks

    if context.enqueue_check is None:
        raise ConfigError("monitoring re-checks need the job queue; run them from a worker")
    queued = queue_due_checks(context.sessions, context.enqueue_check, context.now)
    if queued:
        log.info("monitoring: queued %d re-checks", len(queued))
    return {"queued": len(queued), "jobs": queued[:100]}


def checkpoint_audit_trail(context: ScheduleContext) -> dict[str, Any]:
    from posture.audit_checkpoint import scheduled_checkpoint

    # Every worker schedules it: the file's lock orders them, and a checkpoint is skipped when
    # the chain has not moved since the last one.
    return dict(scheduled_checkpoint(context.sessions, ensure_data_dir(context.settings)))


def verify_audit_chain(context: ScheduleContext) -> dict[str, Any]:
    from posture.audit_checkpoint_verify import verify_trail

    with context.sessions() as session:
        report = verify_trail(session, context.settings.data_dir)
    chain_break = report.chain.first_break
    if chain_break is not None:
        log.error("audit chain broken at event %d: %s", chain_break.event_id, chain_break.reason)
    for finding in report.findings:
        level = logging.ERROR if finding.severity == "break" else logging.WARNING
        log.log(level, "audit trail: %s: %s [%s]", finding.source, finding.message, finding.code)
    if report.intact:
        log.info(
            "audit trail intact: %d events, %d after the latest checkpoint",
            report.chain.events_checked,
            report.events_after,
        )
    return {
        "events_checked": report.chain.events_checked,
        "first_break": chain_break.event_id if chain_break else None,
        "checkpoint_breaks": [finding.code for finding in report.breaks],
    }


def expire_risk_decisions(context: ScheduleContext) -> dict[str, Any]:
    from posture.findings.sweeps import reopen_ended_acceptances
    from posture.passport.watch import after_exceptions_ended
    from posture.risk.expiry import expire_decisions

    # Each run takes the audit chain's lock before reading what has expired, so a second run
    # finds every decision already alerted.
    with transaction(context.sessions) as session:
        result = expire_decisions(session, context.now.date())
        after_exceptions_ended(session, result.exceptions, "exception_expired")
        # Findings accepted under an acceptance that has now ended count as open again.
        reopened = reopen_ended_acceptances(session, context.now.date())
    if result.alerts:
        log.info("risk register: %d expired decisions alerted", len(result.alerts))
    return {
        "acceptances": result.acceptances,
        "exceptions": result.exceptions,
        "findings_reopened": reopened,
    }


def alert_sla_breaches(context: ScheduleContext) -> dict[str, Any]:
    from posture.findings.sweeps import sla_breaches_due
    from posture.portfolio.blast_radius import relay_to_deployers

    with transaction(context.sessions) as session:
        alerts = sla_breaches_due(session, context.now)
        relay_to_deployers(session, alerts)
        return {"breaches_alerted": len(alerts)}


def daily_snapshot(context: ScheduleContext) -> dict[str, Any]:
    """The estate scored against the common framework as of the run's day, stored at the run's
    moment; the audit checkpoint signed once it has committed, so it covers the run's event."""
    from posture.assessment_frameworks import framework_named
    from posture.audit_checkpoint import write_checkpoint
    from posture.framework_registry import register_framework
    from posture.scoring.service import score_estate
    from posture.scoring.snapshots import snapshot_taken_on, store_snapshots

    loaded = framework_named(None)
    day = context.now.date()
    with transaction(context.sessions) as session:
        # Under the audit chain's lock, as store_snapshots takes it: a retry of a run whose
        # snapshot committed (its checkpoint then failed, or its worker died) stores nothing.
        hold_append_lock(session)
        taken = snapshot_taken_on(session, register_framework(session, loaded).id, day)
        if taken is not None:
            return {"as_of": day.isoformat(), "already_taken_at": taken.isoformat(), "subjects": 0}
        scores = score_estate(session, day, None, loaded, encodings="keep")
        stored = store_snapshots(session, SCHEDULE_ACTOR, loaded, scores, context.now)
    if stored:
        write_checkpoint(context.sessions, ensure_data_dir(context.settings), "snapshot")
    return {
        "as_of": context.now.date().isoformat(),
        "framework": f"{loaded.framework.framework_id} {loaded.framework.version}",
        "subjects": stored,
    }


def retarget_profiles(context: ScheduleContext) -> dict[str, Any]:
    from posture.target_profiles import retarget_estate

    # Each run takes the audit chain's lock first, so a second finds nothing to move.
    with transaction(context.sessions) as session:
        moved = retarget_estate(session, SYSTEM)
    if moved:
        log.info("target profiles: %d assessments moved to their targets", moved)
    return {"moved": moved}


def sweep_retention(context: ScheduleContext) -> dict[str, Any]:
    from posture.retention.sweep import run_scheduled

    # A refused policy comes back as ok: false, which the run records as failed.
    return run_scheduled(context.settings, context.now)


def send_expiry_reminders(context: ScheduleContext) -> dict[str, Any]:
    from posture.reminders.sweep import sweep_expiries

    with transaction(context.sessions) as session:
        return sweep_expiries(session, context.now).as_dict()


def send_notifications(context: ScheduleContext) -> dict[str, Any]:
    """New alerts into the outbox, then the deliveries due (e-mail and webhooks), a batch at a
    time for up to the policy's turn."""
    from posture.notify.outbox_run import run_outbox

    return run_outbox(context.sessions, context.settings, context.now)


def send_digests(context: ScheduleContext) -> dict[str, Any]:
    from posture.notify.deliver import send_digests as digests

    return digests(context.sessions, context.settings, context.now)


def posture_actions() -> Mapping[str, Action]:
    """Posture's actions; the portal adds its own (supplier_portal/automation.py)."""
    return {
        "monitoring.queue_due": queue_due_rechecks,
        "audit.checkpoint": checkpoint_audit_trail,
        "audit.verify_chain": verify_audit_chain,
        "risk.expire_decisions": expire_risk_decisions,
        "posture.snapshot": daily_snapshot,
        "profiles.retarget": retarget_profiles,
        "retention.sweep": sweep_retention,
        "expiry.reminders": send_expiry_reminders,
        "findings.sla_breaches": alert_sla_breaches,
        "notify.deliver": send_notifications,
        "notify.digest": send_digests,
    }
