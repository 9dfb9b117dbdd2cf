"""Process-wide resources for the app: one engine per database URL, built from settings."""

from __future__ import annotations

import streamlit as st
from sqlalchemy.orm import Session, sessionmaker

from kernel.settings import Settings, load_settings
from posture.jobs.queue import JobQueue, build_queue
from posture.storage import migrate
from posture.storage.engine import build_engine, session_factory


@st.cache_resource(show_spinner=False)
def _sessions_for(database_url: str, _settings: Settings) -> sessionmaker[Session]:
    # Keyed by URL so a changed ASSURE_DATABASE_URL (or a test's data dir) gets its own engine.
    engine = build_engine(_settings)
    migrate.require_current(engine)
    return session_factory(engine)


def sessions() -> sessionmaker[Session]:
    settings = load_settings()
    return _sessions_for(settings.effective_database_url, settings)


@st.cache_resource(show_spinner=False)
def _queue_for(database_url: str, redis_url: str | None, _settings: Settings) -> JobQueue:
    return build_queue(_settings)


def job_queue() -> JobQueue:
    settings = load_settings()
    return _queue_for(settings.effective_database_url, settings.redis_url, settings)
