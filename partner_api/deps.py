"""What every route needs: the database, and the caller as a principal from their bearer token."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param
from sqlalchemy.orm import Session, sessionmaker

from kernel.clock import utcnow
from kernel.settings import Settings
from partner_api.middleware import VERIFIED_STATE_KEY
from posture.identity.permissions import Principal
from posture.identity.token_cache import TokenCache, VerifiedToken, token_digest
from posture.identity.tokens import SigningKey, TokenRejected, check_token, note_use
from posture.jobs.queue import JobQueue

bearer = HTTPBearer(
    auto_error=False,
    bearerFormat="JWT",
    scheme_name="bearer",
    description="A scoped, short-lived token from `assure token issue` (EdDSA-signed JWT).",
)


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    sessions: sessionmaker[Session]
    key: SigningKey
    queue: JobQueue
    token_cache: TokenCache = field(default_factory=TokenCache)
    clock: Callable[[], datetime] = utcnow


def runtime(request: Request) -> Runtime:
    return request.app.state.runtime


def reading(rt: Annotated[Runtime, Depends(runtime)]) -> Iterator[Session]:
    with rt.sessions() as session:
        yield session


def caller(
    request: Request,
    rt: Annotated[Runtime, Depends(runtime)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise TokenRejected("no bearer token")
    known: VerifiedToken | None = getattr(request.state, VERIFIED_STATE_KEY, None)
    # Checked again although the rate limiter verified the token as the headers arrived: an
    # upload's body may take a while, and a token revoked meanwhile must not authorise the
    # write. The limiter's verification is reused while the identity epoch is unchanged.
    now = rt.clock()
    with rt.sessions() as session:
        verified = check_token(session, rt.key, credentials.credentials, rt.token_cache, now, known)
    # After the reading session has ended: noting the use is a write of its own.
    note_use(rt.sessions, verified, rt.token_cache, now)
    return verified.principal


def recall(rt: Runtime, authorization: str) -> VerifiedToken | None:
    """Who an Authorization header's token was verified as, from memory alone and so without
    the identity epoch: enough for the rate limiter to count a user's requests, never to
    authorise one (`caller` checks the epoch). None when the token is not remembered."""
    scheme, token = get_authorization_scheme_param(authorization)
    if scheme.lower() != "bearer" or not token:
        return None
    return rt.token_cache.peek(token_digest(token), rt.clock().timestamp())


def identify(rt: Runtime, authorization: str) -> VerifiedToken | None:
    """The verified token in an Authorization header, or None: for the rate limiter, which
    counts a user's requests together whichever token they send. Read as the `bearer` scheme
    reads it."""
    scheme, token = get_authorization_scheme_param(authorization)
    if scheme.lower() != "bearer" or not token:
        return None
    with rt.sessions() as session:
        try:
            return check_token(session, rt.key, token, rt.token_cache, rt.clock())
        except TokenRejected:
            return None


@dataclass(frozen=True)
class Window:
    limit: int
    offset: int


def window(
    limit: Annotated[int, Query(ge=1, le=100, description="Items per page.")] = 50,
    offset: Annotated[
        int, Query(ge=0, le=1_000_000, description="Items to skip (from the `next` link).")
    ] = 0,
) -> Window:
    return Window(limit, offset)


Caller = Annotated[Principal, Depends(caller)]
Reading = Annotated[Session, Depends(reading)]
Paging = Annotated[Window, Depends(window)]
Rt = Annotated[Runtime, Depends(runtime)]
