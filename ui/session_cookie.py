"""The session cookie: an HttpOnly, SameSite=Strict cookie holding the browser's own token for a
signed-in session (posture.identity.sessions), so a refresh, which starts a new Streamlit
session, resumes it instead of signing the person out.

Streamlit's script cannot set a cookie (it runs after the page's HTTP response, over a
websocket), so the page hands a one-time code to a small component of its own origin, which
POSTs it here; this answer sets the cookie. The route takes JSON only, from the app's own
origin: a cross-site form cannot send JSON without a preflight this server does not grant, so
no other site can sign a browser into an account of its choosing. Served beside the app by
`streamlit_web.py` (st.App); Streamlit reads the cookie back from each new session's request.
"""

from __future__ import annotations

import json
from functools import cache
from urllib.parse import urlsplit

from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from kernel.clock import utcnow
from kernel.settings import load_settings
from posture.identity.sessions import redeem_handoff
from posture.storage.engine import build_engine, session_factory, transaction

COOKIE = "assure_session"
PATH = "/auth/session"
MAX_BODY = 1024


@cache
def _sessions(database_url: str) -> sessionmaker[Session]:
    return session_factory(build_engine(load_settings()))


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if not origin:
        return False
    host = request.headers.get("host", "")
    return urlsplit(origin).netloc.lower() == host.lower()


def _secure(request: Request) -> bool:
    # Behind a TLS-terminating proxy the app sees http; the proxy's header can only make the
    # cookie stricter, so it is believed.
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or forwarded == "https"


def _redeem(code: str) -> tuple[str, int] | None:
    now = utcnow()
    with transaction(_sessions(load_settings().effective_database_url)) as session:
        redeemed = redeem_handoff(session, code, now)
    if redeemed is None:
        return None
    token, expires_at = redeemed
    return token, max(int((expires_at - now).total_seconds()), 0)


async def hand_over(request: Request) -> Response:
    """POST {"code": ...} from the app's own page: set the session cookie, or refuse."""
    if not _same_origin(request):
        return JSONResponse({"ok": False, "error": "not from this app"}, status_code=403)
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        return JSONResponse({"ok": False, "error": "JSON only"}, status_code=415)
    body = await request.body()
    if len(body) > MAX_BODY:
        return JSONResponse({"ok": False, "error": "too large"}, status_code=413)
    try:
        code = json.loads(body).get("code")
    except (ValueError, AttributeError):
        code = None
    if not isinstance(code, str):
        return JSONResponse({"ok": False, "error": "no code"}, status_code=400)
    redeemed = await run_in_threadpool(_redeem, code)
    if redeemed is None:
        return JSONResponse({"ok": False, "error": "code not valid"}, status_code=400)
    token, max_age = redeemed
    response = JSONResponse({"ok": True}, headers={"Cache-Control": "no-store"})
    response.set_cookie(
        COOKIE,
        token,
        max_age=max_age,
        path="/",
        secure=_secure(request),
        httponly=True,
        samesite="strict",
    )
    return response


def routes() -> list[Route]:
    return [Route(PATH, hand_over, methods=["POST"])]
