"""Build the partner API application: services, middleware, error handling and OpenAPI."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial

from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from starlette.routing import compile_path

from kernel.clock import utcnow
from kernel.data_dir import ensure_data_dir
from kernel.settings import Settings
from partner_api import problems
from partner_api.deps import Runtime, identify, recall
from partner_api.middleware import (
    BodyLimit,
    HeadAsGet,
    RateLimit,
    RequestObservability,
    Scope,
    SecurityHeaders,
)
from partner_api.openapi import publish
from partner_api.routes import (
    assessments,
    assurance,
    checks,
    findings,
    health,
    passports,
    portfolio,
    pq_proof,
    products,
    public,
    reviews,
    risk,
)
from posture.identity.token_cache import DEFAULT_CAPACITY, TokenCache
from posture.identity.tokens import signing_key
from posture.jobs.queue import build_queue
from posture.observability.estate import EstateCollector
from posture.observability.readiness import database_check, dependency_readiness
from posture.observability.series import UNMATCHED, RequestMetrics, networks
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
    modules = (
        public,
        products,
        pq_proof,
        assessments,
        checks,
        assurance,
        reviews,
        risk,
        portfolio,
        passports,
        findings,
        health,
    )
    for module in modules:
        app.include_router(module.router)
    problems.install(app)
    publish(app)
    registry = CollectorRegistry(auto_describe=False)
    app.state.observability = health.Observability(
        registry=registry,
        readiness=dependency_readiness(engine, runtime.queue.huey.pending_count),
        metrics_allow=networks(settings.metrics_allow),
    )
    registry.register(
        EstateCollector(
            runtime.sessions, runtime.queue.huey.pending_count, database_ok=database_check(engine)
        )
    )
    app.add_middleware(BodyLimit, max_bytes=settings.api_max_body_bytes)
    storage_uri = settings.redis_url or "memory://"
    app.add_middleware(
        RateLimit,
        rate=settings.api_rate_limit,
        identify=partial(identify, runtime),
        recall=partial(recall, runtime),
        storage_uri=storage_uri,
        exempt=health.OPERATOR_PATHS,
    )
    app.add_middleware(SecurityHeaders)
    # Every answer to HEAD, a refusal from the middleware above included, is GET's.
    app.add_middleware(HeadAsGet)
    # Outermost: it sees the method as sent and every status, the refusals above included.
    app.add_middleware(
        RequestObservability,
        metrics=RequestMetrics(registry),
        route_of=route_template([route.path for m in modules for route in m.router.routes]),
    )
    return app


def route_template(templates: list[str]) -> Callable[[Scope], str]:
    """The template of the first route whose path a request's path matches (whatever its
    method, so a 405 is counted under its route), else `unmatched`: a label from a fixed set
    however many paths clients make up. Matched here, from the routers' own templates, rather
    than read from what FastAPI's router leaves in the scope, whose shape is its own business
    (and which a request refused before routing, a 429 or a 413, never reaches)."""
    table = [(compile_path(t)[0], t) for t in dict.fromkeys([*templates, "/openapi.json"])]

    def route_of(scope: Scope) -> str:
        path = scope["path"]
        return next((t for regex, t in table if regex.match(path)), UNMATCHED)

    return route_of
