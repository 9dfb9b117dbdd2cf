"""Build the partner API application: services, middleware, error handling and OpenAPI."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial

from fastapi import FastAPI

from kernel.clock import utcnow
from kernel.data_dir import ensure_data_dir
from kernel.settings import Settings
from partner_api import problems
from partner_api.deps import Runtime, identify, recall
from partner_api.middleware import BodyLimit, HeadAsGet, RateLimit, SecurityHeaders
from partner_api.openapi import publish
from partner_api.routes import (
    assessments,
    assurance,
    checks,
    pq_proof,
    products,
    public,
    reviews,
)
from posture.identity.token_cache import DEFAULT_CAPACITY, TokenCache
from posture.identity.tokens import signing_key
from posture.jobs.queue import build_queue
from posture.storage import migrate
from posture.storage.engine import build_engine, session_factory

API_VERSION = "1.0.0"


def create_app(
    settings: Settings,
    token_cache_capacity: int = DEFAULT_CAPACITY,
    clock: Callable[[], datetime] = utcnow,
) -> FastAPI:
    """`token_cache_capacity` 0 verifies every bearer token in full on every check (the
    benchmark's baseline); `clock` is the time tokens are checked against."""
    ensure_data_dir(settings)
    engine = build_engine(settings)
    migrate.require_current(engine)
    app = FastAPI(
        title="PoliceTech Assure partner API",
        version=API_VERSION,
        # Interactive docs would need scripts the content security policy refuses; the
        # OpenAPI document at /openapi.json is the reference.
        docs_url=None,
        redoc_url=None,
    )
    runtime = Runtime(
        settings=settings,
        sessions=session_factory(engine),
        key=signing_key(settings),
        queue=build_queue(settings),
        token_cache=TokenCache(token_cache_capacity),
        clock=clock,
    )
    app.state.runtime = runtime
    for module in (public, products, pq_proof, assessments, checks, assurance, reviews):
        app.include_router(module.router)
    problems.install(app)
    publish(app)
    app.add_middleware(BodyLimit, max_bytes=settings.api_max_body_bytes)
    storage_uri = settings.redis_url or "memory://"
    app.add_middleware(
        RateLimit,
        rate=settings.api_rate_limit,
        identify=partial(identify, runtime),
        recall=partial(recall, runtime),
        storage_uri=storage_uri,
    )
    app.add_middleware(SecurityHeaders)
    # Outermost: every answer to HEAD, a refusal from the middleware above included, is GET's.
    app.add_middleware(HeadAsGet)
    return app
