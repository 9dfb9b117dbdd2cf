"""Operator endpoints: /livez, /readyz and /metrics. No token, no rate limit (a probe must not
use up an address's allowance, and must answer when the limiter's Redis is down, which is
when it matters); not in the OpenAPI document, which is the partners' contract. /metrics,
which shows operational detail, answers only the addresses in `metrics_allow`, and never a
request relayed by a reverse proxy (which, on the same host, connects from loopback).

/livez runs on the event loop and does no I/O: it answers while every thread of the pool is
busy, so a hung database never gets a healthy process restarted. /readyz waits on its probes
and a scrape may wait on the database, each bounded in time (single_flight); they wait in
threads of their own few, never the pool the partners' routes run in, so a pile of probes or
scrapes behind a hung peer cannot starve the API either."""

from __future__ import annotations

from dataclasses import dataclass, field

from anyio import CapacityLimiter, to_thread
from fastapi import APIRouter, HTTPException, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from posture.observability.exposition import readiness_body
from posture.observability.readiness import Readiness
from posture.observability.series import Network, address_allowed, relayed

router = APIRouter(include_in_schema=False)
OPERATOR_PATHS = frozenset({"/livez", "/readyz", "/metrics"})
# Threads /readyz, and apart from them /metrics, may use at once; more callers wait their turn
# on the event loop.
OPERATOR_THREADS = 4


@dataclass(frozen=True)
class Observability:
    registry: CollectorRegistry
    readiness: Readiness
    metrics_allow: tuple[Network, ...]
    probe_threads: CapacityLimiter = field(
        default_factory=lambda: CapacityLimiter(OPERATOR_THREADS)
    )
    scrape_threads: CapacityLimiter = field(
        default_factory=lambda: CapacityLimiter(OPERATOR_THREADS)
    )


def _observability(request: Request) -> Observability:
    return request.app.state.observability


@router.get("/livez")
async def livez() -> Response:
    """The process answers; nothing else is looked at, so a slow database never restarts it."""
    return Response(b'{"status": "live"}', media_type="application/json")


@router.get("/readyz")
async def readyz(request: Request) -> Response:
    seen = _observability(request)
    failures = await to_thread.run_sync(seen.readiness.failures, limiter=seen.probe_threads)
    status, body, media = readiness_body(failures)
    return Response(body, status_code=status, media_type=media)


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    seen = _observability(request)
    address = request.client.host if request.client else None
    if relayed(request.headers.keys()) or not address_allowed(address, seen.metrics_allow):
        # As for any path that does not exist: an outsider learns nothing is here.
        raise HTTPException(status_code=404)
    body = await to_thread.run_sync(generate_latest, seen.registry, limiter=seen.scrape_threads)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
