"""The session cookie's handover: a one-time code redeemed once, by the app's own origin, for a
browser token that resumes the same session; signing out by either token ends both. The route
runs in a real Starlette app (the one `assure serve` mounts), against the test's database."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.testclient import TestClient

from kernel.settings import Settings
from posture.identity.sessions import (
    HANDOFF_SECONDS,
    close_session,
    handoff_pending,
    issue_handoff,
    open_session,
    redeem_handoff,
    resume_session,
)
from posture.storage.engine import transaction
from posture.storage.models import AuditEvent
from tests.concurrency import in_parallel
from tests.identity.test_accounts_and_sessions import T0, _principal, admin  # noqa: F401
from ui import session_cookie

ORIGIN = "http://testserver"


def _signed_in(sessions: sessionmaker[Session]) -> tuple[str, str]:
    with transaction(sessions) as session:
        token = open_session(session, _principal(sessions), "password+totp", now=T0)
        code = issue_handoff(session, token, now=T0)
    assert code is not None
    return token, code


def test_a_code_is_good_once_for_a_browser_token_of_the_same_session(
    admin: sessionmaker[Session],  # noqa: F811
) -> None:
    token, code = _signed_in(admin)
    with admin() as session:
        assert handoff_pending(session, token, now=T0 + timedelta(seconds=5))
        assert not handoff_pending(session, token, now=T0 + timedelta(seconds=HANDOFF_SECONDS))
    with transaction(admin) as session:
        redeemed = redeem_handoff(session, code, now=T0 + timedelta(seconds=5))
    with admin() as session:
        assert not handoff_pending(session, token, now=T0 + timedelta(seconds=6))
    assert redeemed is not None
    browser_token, _ = redeemed
    assert browser_token not in {token, code}
    with admin() as session:
        actions = session.scalars(select(AuditEvent.action)).all()
    assert actions.count("auth.browser_session") == 1
    with transaction(admin) as session:
        assert redeem_handoff(session, code, now=T0 + timedelta(seconds=6)) is None
        # One browser per sign-in: the page cannot hand over a second cookie.
        assert issue_handoff(session, token, now=T0 + timedelta(seconds=7)) is None
    with transaction(admin) as session:
        assert resume_session(session, browser_token, now=T0 + timedelta(minutes=1)) is not None
    with transaction(admin) as session:
        close_session(session, browser_token, now=T0 + timedelta(minutes=2))
    with transaction(admin) as session:
        assert resume_session(session, token, now=T0 + timedelta(minutes=3)) is None
        assert resume_session(session, browser_token, now=T0 + timedelta(minutes=3)) is None


def test_a_late_code_or_one_for_a_closed_session_gives_nothing_and_is_spent(
    admin: sessionmaker[Session],  # noqa: F811
) -> None:
    _, late = _signed_in(admin)
    with transaction(admin) as session:
        too_late = T0 + timedelta(seconds=HANDOFF_SECONDS + 1)
        assert redeem_handoff(session, late, now=too_late) is None
    token, code = _signed_in(admin)
    with transaction(admin) as session:
        close_session(session, token, now=T0 + timedelta(seconds=1))
    with transaction(admin) as session:
        assert redeem_handoff(session, code, now=T0 + timedelta(seconds=2)) is None
        assert redeem_handoff(session, "", now=T0) is None
        assert redeem_handoff(session, "x" * 10_000, now=T0) is None


def test_twenty_redemptions_at_once_give_one_browser_token(
    admin: sessionmaker[Session],  # noqa: F811
) -> None:
    _, code = _signed_in(admin)
    results = in_parallel(
        admin,
        [lambda s: redeem_handoff(s, code, now=T0 + timedelta(seconds=1)) for _ in range(20)],
    )
    granted = [r for r in results if isinstance(r, tuple)]
    assert len(granted) == 1, results


@pytest.fixture
def client(
    admin: sessionmaker[Session],  # noqa: F811
    backend_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[TestClient]:
    """The route on the test's own database (the one `admin` was built on)."""
    for name in [n for n in os.environ if n.startswith("ASSURE_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("ASSURE_DATA_DIR", str(backend_settings.data_dir))
    if backend_settings.database_url:
        monkeypatch.setenv("ASSURE_DATABASE_URL", backend_settings.database_url)
    session_cookie._sessions.cache_clear()
    with TestClient(Starlette(routes=session_cookie.routes())) as test_client:
        yield test_client
    session_cookie._sessions.cache_clear()


def _fresh_code(sessions: sessionmaker[Session]) -> str:
    with transaction(sessions) as session:
        token = open_session(session, _principal(sessions), "password+totp")
        code = issue_handoff(session, token)
    assert code is not None
    return code


def test_the_route_sets_an_http_only_strict_cookie_for_its_own_origin_only(
    client: TestClient,
    admin: sessionmaker[Session],  # noqa: F811
) -> None:
    code = _fresh_code(admin)
    for headers, body, status in (
        ({"Origin": "http://evil.example"}, {"code": code}, 403),
        ({}, {"code": code}, 403),  # no Origin: not a page's fetch
        ({"Origin": ORIGIN, "Content-Type": "text/plain"}, None, 415),
    ):
        sent = client.post(
            session_cookie.PATH,
            headers=headers,
            json=body,
            content=None if body else f'{{"code": "{code}"}}',
        )
        assert sent.status_code == status
        assert "set-cookie" not in sent.headers
    huge = client.post(session_cookie.PATH, headers={"Origin": ORIGIN}, json={"code": "x" * 5000})
    assert huge.status_code == 413
    answer = client.post(
        session_cookie.PATH,
        headers={"Origin": ORIGIN, "X-Forwarded-Proto": "https"},
        json={"code": code},
    )
    assert answer.status_code == 200
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"{session_cookie.COOKIE}=")
    for attribute in ("HttpOnly", "SameSite=strict", "Secure", "Path=/", "Max-Age="):
        assert attribute.lower() in cookie.lower()
    again = client.post(session_cookie.PATH, headers={"Origin": ORIGIN}, json={"code": code})
    assert again.status_code == 400
