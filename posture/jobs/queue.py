"""The job queue: huey on a SQLite file by default, on Redis when ASSURE_REDIS_URL is set."""

from __future__ import annotations

import logging

from huey import Huey, RedisHuey, SqliteHuey
from huey.api import crontab

from posture.audit import verify_chain
from posture.config import Settings, ensure_data_dir
from posture.errors import ConfigError
from posture.storage.engine import build_engine, session_factory

log = logging.getLogger("assure.jobs")

QUEUE_NAME = "policetech-assure"


def build_queue(settings: Settings) -> Huey:
    if settings.redis_url:
        try:
            import redis  # noqa: F401  (only to give a clear error when the extra is missing)
        except ModuleNotFoundError as exc:
            raise ConfigError(
                "ASSURE_REDIS_URL is set but Redis support is not installed; "
                "run: pip install 'policetech-assure[redis]'"
            ) from exc
        queue: Huey = RedisHuey(QUEUE_NAME, url=settings.redis_url)
    else:
        path = ensure_data_dir(settings) / "queue.db"
        queue = SqliteHuey(QUEUE_NAME, filename=str(path))
    register_tasks(queue, settings)
    return queue


def register_tasks(queue: Huey, settings: Settings) -> None:
    """Tasks are bound to a queue built from settings, so nothing lives at module level."""

    @queue.periodic_task(crontab(minute="17"), name="audit.verify_chain")
    def verify_audit_chain() -> dict[str, object]:
        engine = build_engine(settings)
        try:
            with session_factory(engine)() as session:
                report = verify_chain(session)
        finally:
            engine.dispose()
        if report.intact:
            log.info("audit chain intact: %d events", report.events_checked)
        else:
            assert report.first_break is not None
            log.error(
                "audit chain broken at event %d: %s",
                report.first_break.event_id,
                report.first_break.reason,
            )
        return {
            "events_checked": report.events_checked,
            "first_break": report.first_break.event_id if report.first_break else None,
        }
