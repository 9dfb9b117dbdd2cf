"""What every route needs: the database, and the caller as a principal from their bearer token."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param
from sqlalchemy.orm import Session, sessionmaker

from kernel.settings import Settings
from posture.identity.permissions import Principal
from posture.identity.tokens import SigningKey, TokenRejected, verify_token
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


def runtime(request: Request) -> Runtime:
    return request.app.state.runtime


def reading(rt: Annotated[Runtime, Depends(runtime)]) -> Iterator[Session]:
    with rt.sessions() as session:
        yield session


def caller(
    rt: Annotated[Runtime, Depends(runtime)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise TokenRejected("no bearer token")
    # Verified again although the rate limiter checked it as the headers arrived: an upload's
    # body may take a while, and a token revoked meanwhile must not authorise the write.
    with rt.sessions() as session:
        return verify_token(session, rt.key, credentials.credentials)


def identify(rt: Runtime, authorization: str) -> Principal | None:
    """The principal an Authorization header's bearer token authenticates, or None: for the
    rate limiter, which counts a user's requests together whichever token they send. Read as
    the `bearer` scheme reads it."""
    scheme, token = get_authorization_scheme_param(authorization)
    if scheme.lower() != "bearer" or not token:
        return None
    with rt.sessions() as session:
        try:
            return verify_token(session, rt.key, token)
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
