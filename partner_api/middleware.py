"""Pure ASGI middleware around every request: its id, metrics and access log, HEAD as GET,
security headers, a request size limit and rate limiting. Pure ASGI rather than
BaseHTTPMiddleware: it adds no task per request."""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from limits import RateLimitItem, parse_many, storage
from limits.strategies import MovingWindowRateLimiter
from starlette.concurrency import run_in_threadpool

from kernel.logs import inbound_request_id, request_id
from partner_api.problems import PROBLEM_MEDIA, TITLES, Problem
from posture.identity.token_cache import VerifiedToken
from posture.observability.series import METHODS, RequestMetrics

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]
# The token an Authorization header carries, verified, or None for one that does not verify.
Identify = Callable[[str], VerifiedToken | None]
# The same from memory alone, cheap enough to run on the event loop; None when not remembered.
Recall = Callable[[str], VerifiedToken | None]
# The route template a request matched ("/v1/products/{product_id}"), or "unmatched".
RouteOf = Callable[[Scope], str]
# The key in the request's state (`request.state`) under which the verified token is left for
# the application, so it is not verified twice.
VERIFIED_STATE_KEY = "verified_token"

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
    (b"strict-transport-security", b"max-age=31536000; includeSubDomains"),
    (b"cross-origin-resource-policy", b"same-origin"),
]
# One address may present many users' tokens (partners' pipelines behind one gateway), but not
# unboundedly many requests: the ceiling is this many times one client's allowance.
ADDRESS_MULTIPLIER = 10

access_log = logging.getLogger("assure.api.access")


async def send_problem(
    send: Send, status: int, detail: str, headers: list[tuple[bytes, bytes]] = ()
) -> None:
    body = Problem(title=TITLES.get(status, "Error"), status=status, detail=detail)
    payload = json.dumps(body.model_dump(exclude_none=True)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", PROBLEM_MEDIA.encode()),
                (b"content-length", str(len(payload)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


class RequestObservability:
    """Outermost: gives each request an id (the client's X-Request-ID when it is plain, else a
    new one), returns it in the response, and once the response is sent counts the request by
    method, route template and status, and writes one access log line. The line names the
    method, the route template, the status, the time, the id and the peer address; never the
    path as sent, the query string or any header, so no token or cookie can reach the log."""

    def __init__(self, app: App, metrics: RequestMetrics, route_of: RouteOf) -> None:
        self.app = app
        self.metrics = metrics
        self.route_of = route_of

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers = [v for k, v in scope.get("headers", []) if k == b"x-request-id"]
        rid = inbound_request_id(headers[0] if len(headers) == 1 else None)
        token = request_id.set(rid)
        status = 500
        recorded = False

        def record() -> None:
            nonlocal recorded
            recorded = True
            self._record(scope, status, time.perf_counter() - started)

        async def with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *(h for h in message.get("headers", []) if h[0] != b"x-request-id"),
                    (b"x-request-id", rid.encode()),
                ]
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                # Counted before the last byte leaves: a client that has its answer and then
                # scrapes always finds its request counted.
                record()
            await send(message)

        try:
            await self.app(scope, receive, with_id)
        finally:
            if not recorded:  # no complete response: an error, or the client went away
                record()
            request_id.reset(token)

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        route = self.route_of(scope)
        method = scope["method"] if scope["method"] in METHODS else "other"
        self.metrics.observe(method, route, status, seconds)
        access_log.info(
            "%s %s %d",
            method,
            route,
            status,
            extra={
                "method": method,
                "route": route,
                "status": status,
                "duration_ms": round(seconds * 1000, 2),
                "client": (scope.get("client") or ("unknown", 0))[0],
            },
        )


class HeadAsGet:
    """HEAD answers as GET would, with the same status and headers and no body (RFC 9110
    9.3.2). FastAPI routes a GET operation for GET only; the application sees GET here, while
    the server, whose scope still says HEAD, sends no body either."""

    def __init__(self, app: App) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, without_body)


class SecurityHeaders:
    def __init__(self, app: App) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name for name, _ in message.get("headers", [])}
                message["headers"] = [
                    *message.get("headers", []),
                    *(h for h in SECURITY_HEADERS if h[0] not in present),
                ]
            await send(message)

        await self.app(scope, receive, with_headers)


class BodyLimit:
    """413 for a declared or streamed body over the limit, before the application reads it all."""

    def __init__(self, app: App, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await send_problem(send, 413, f"request bodies are limited to {self.max_bytes} bytes")
            return
        seen = 0
        exceeded = False
        started = False

        async def counted() -> Message:
            nonlocal seen, exceeded
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    exceeded = True
                    raise BodyTooLarge
            return message

        async def unless_exceeded(message: Message) -> None:
            # A streamed (chunked) body passes the limit while the application reads it, and
            # the body parser turns any error into its own 400 (or 500): once the limit is
            # passed, the application's answer is dropped for the 413 below.
            nonlocal started
            if exceeded:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, unless_exceeded)
        except Exception:
            # BodyTooLarge itself, or whatever the application made of it.
            if not exceeded or started:
                raise
        if exceeded and not started:
            await send_problem(send, 413, f"request bodies are limited to {self.max_bytes} bytes")


class BodyTooLarge(Exception):
    pass


class RateLimit:
    """A moving window per client and a wider one per address. The client is the user a valid
    bearer token authenticates, however many tokens that user holds; without a token, or with
    one that does not verify, it is the address. Every response says where the client stands
    (RateLimit-* headers); a refused request gets 429 with Retry-After."""

    def __init__(
        self,
        app: App,
        rate: str,
        identify: Identify,
        storage_uri: str = "memory://",
        recall: Recall | None = None,
        exempt: frozenset[str] = frozenset(),
    ) -> None:
        self.app = app
        self.identify = identify
        self.recall = recall
        # Paths never counted (health probes): a load balancer's probes must not use up an
        # address's allowance, nor be refused when a client behind the same address floods.
        self.exempt = exempt
        self.limiter = MovingWindowRateLimiter(storage.storage_from_string(storage_uri))
        self.client_limits = parse_many(rate)
        self.address_limits = [
            type(item)(item.amount * ADDRESS_MULTIPLIER, item.multiples, item.namespace)
            for item in self.client_limits
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.exempt:
            await self.app(scope, receive, send)
            return
        address = (scope.get("client") or ("unknown", 0))[0]
        credentials = [v for k, v in scope.get("headers", []) if k == b"authorization"]
        if len(credentials) > 1:
            # Authentication reads the first header and a dict() here the last: with two, a
            # client could be authenticated as one token and rate-limited as another.
            await send_problem(send, 400, "send one Authorization header, not several")
            return
        ceiling = [(item, f"address-all:{address}") for item in self.address_limits]
        client = f"address:{address}"
        unverified = False
        if credentials:
            # An address over its ceiling gets no token verified at all.
            over = [(i, k) for i, k in ceiling if not self.limiter.test(i, "assure-api", k)]
            if over:
                await self._refuse(send, *over[0])
                return
            authorization = credentials[0].decode("latin-1")
            # From memory when the token verified before (the route still checks the identity
            # epoch, so a revoked token is counted as its user here but authorises nothing).
            verified = self.recall(authorization) if self.recall else None
            if verified is None:
                verified = await run_in_threadpool(self.identify, authorization)
            if verified is not None:
                client = f"user:{verified.user_id}"
                scope.setdefault("state", {})[VERIFIED_STATE_KEY] = verified
            unverified = verified is None
        own = [(item, client) for item in self.client_limits]
        # A client's refused requests do not use up its neighbours' ceiling; but a token that
        # does not verify always counts against it, so a stream of forged tokens soon stops
        # being verified.
        if not await self._admit(send, ceiling + own if unverified else own + ceiling):
            return
        headers = self._headers(self.client_limits[0], client)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *headers]
            await send(message)

        await self.app(scope, receive, with_headers)

    async def _admit(self, send: Send, checks: list[tuple[RateLimitItem, str]]) -> bool:
        """Count the request against each window; False once it has sent the 429."""
        for item, key in checks:
            if not self.limiter.hit(item, "assure-api", key):
                await self._refuse(send, item, key)
                return False
        return True

    async def _refuse(self, send: Send, item: RateLimitItem, key: str) -> None:
        retry = max(1, math.ceil(self._reset(item, key) - time.time()))
        headers = [*self._headers(item, key), (b"retry-after", str(retry).encode())]
        await send_problem(send, 429, "slow down and retry after the stated time", headers)

    def _reset(self, item: RateLimitItem, key: str) -> float:
        return self.limiter.get_window_stats(item, "assure-api", key).reset_time

    def _headers(self, item: RateLimitItem, key: str) -> list[tuple[bytes, bytes]]:
        stats = self.limiter.get_window_stats(item, "assure-api", key)
        reset = max(0, math.ceil(stats.reset_time - time.time()))
        return [
            (b"ratelimit-limit", str(item.amount).encode()),
            (b"ratelimit-remaining", str(stats.remaining).encode()),
            (b"ratelimit-reset", str(reset).encode()),
        ]
