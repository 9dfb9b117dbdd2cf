"""An accounts API with the five faults the live probes look for, and its clean twin, served by
uvicorn on loopback. Both are described by the same OpenAPI document; only the code differs.

flawed: echoes any Origin with credentials; reads JWTs without verifying them (so alg none, no
signature, changed claims and expired tokens pass); runs Starlette in debug mode, so invalid
JSON answers with a Python traceback; never limits or announces a rate; and stores the
read-only `role` a client sends. clean: a fixed CORS allow-list, HS256 tokens verified with
their audience and expiry, problem documents for errors, RateLimit headers and 429 past the
limit, and `role` always set by the server. `open` is the clean twin answering secured
operations without a credential too, an API about which no token test proves anything;
`wildcard` is the clean twin allowing every origin (`*`) with credentials; `chatty` is the clean
twin whose caller has a profile note full of what looks like stack traces (data, not a leak);
`deep` is the clean twin whose answer to a write is JSON nested deeper than a recursive parser
goes (a hostile body; the object is read back from its Location).
`any-audience` is the clean twin that verifies a token's signature and expiry but not its
audience, so a token its issuer signed for another API opens it.

The token is taken from the Authorization header or from a `session` cookie (`Cookie`): a
browser sends the cookie by itself, so a foreign page can read the flawed twin as its user.
`Cookie` says how: "declared" (the description names the cookie scheme), "undeclared" (the
description says bearer only, but the API sets and reads the cookie anyway), "login" (as
undeclared, but the cookie is set only when answering a write, as a login would), "vary" (as
undeclared, but no cookie is ever set: an answer to a request carrying any cookie says `Vary:
Cookie`, as a cache-correct API that read it must) or "none" (bearer only, in the description
and the code).
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from typing import Any, Literal

import jwt
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.peers.apis import serving_asgi

Mode = Literal["flawed", "clean", "open", "wildcard", "chatty", "deep", "any-audience"]
DEEP = 5000  # levels of nesting in the deep twin's answer to a write
Cookie = Literal["declared", "undeclared", "login", "vary", "none"]
# What the chatty twin's caller once wrote in their profile.
CHATTY_NOTE = (
    "Pasted from my terminal: Traceback (most recent call last):\n"
    '  File "report.py", line 3, in <module>\n'
    "    at Object.<anonymous> (/srv/app/index.js:10:5)\n"
    "Fatal error: it broke at line 7"
)
SECRET = "assure-test-signing-key-of-32-bytes!"
AUDIENCE = "accounts-api"
TRUSTED_ORIGIN = "https://app.example.police.uk"
CLEAN_LIMIT = 100  # requests per window, per client, on the clean twin
WINDOW_SECONDS = 10.0


def token_for(user: str, expires_in: int = 3600, **claims: Any) -> str:
    now = int(time.time())
    payload = {"sub": user, "aud": AUDIENCE, "iat": now, "exp": now + expires_in, **claims}
    return jwt.encode(payload, SECRET, algorithm="HS256")


def build_app(mode: Mode, cookie: Cookie = "declared") -> Starlette:
    flawed = mode == "flawed"
    accounts: dict[str, dict[str, Any]] = {}
    hits: list[float] = []

    def user_of(request: Request) -> str | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if cookie != "none" and not token and request.cookies.get("session"):
            scheme, token = "bearer", request.cookies["session"]
        if scheme.lower() != "bearer" or not token:
            return "anonymous" if mode == "open" else None
        try:
            if flawed:
                # Planted fault: the claims are read, nothing is verified.
                claims = jwt.decode(token, options={"verify_signature": False})
            elif mode == "any-audience":
                # Planted fault: signature and expiry verified, the audience never looked at.
                options = {"verify_aud": False}
                claims = jwt.decode(token, SECRET, algorithms=["HS256"], options=options)
            else:
                claims = jwt.decode(token, SECRET, algorithms=["HS256"], audience=AUDIENCE)
        except jwt.PyJWTError:
            return "anonymous" if mode == "open" else None
        return str(claims.get("sub"))

    def headers_for(request: Request) -> dict[str, str]:
        headers: dict[str, str] = {}
        origin = request.headers.get("origin")
        # Planted fault (flawed): whatever origin asks is allowed, with credentials.
        if origin and mode == "wildcard":
            headers |= {
                "Access-Control-Allow-Origin": "*",
                "Access-Control-Allow-Credentials": "true",
            }
        elif origin and (flawed or origin == TRUSTED_ORIGIN):
            headers |= {
                "Access-Control-Allow-Origin": origin,
                "Access-Control-Allow-Credentials": "true",
                "Vary": "Origin",
            }
        set_here = cookie == "undeclared" or (cookie == "login" and request.method == "POST")
        if set_here:
            headers["Set-Cookie"] = "session=; Path=/; HttpOnly; Secure; SameSite=None"
        if cookie == "vary" and "cookie" in request.headers:
            headers["Vary"] = ", ".join(filter(None, (headers.get("Vary"), "Cookie")))
        if not flawed:
            remaining = max(0, CLEAN_LIMIT - len(hits))
            headers |= {"RateLimit-Limit": str(CLEAN_LIMIT), "RateLimit-Remaining": str(remaining)}
        return headers

    def reply(request: Request, payload: Any, status: int = 200, **extra: str) -> Response:
        media = "application/problem+json" if status >= 400 else "application/json"
        return JSONResponse(
            payload, status, headers={**headers_for(request), **extra}, media_type=media
        )

    def problem(request: Request, status: int, title: str) -> Response:
        return reply(request, {"title": title, "status": status}, status)

    def limited(request: Request) -> Response | None:
        if flawed:
            return None
        now = time.monotonic()
        hits[:] = [t for t in hits if now - t < WINDOW_SECONDS] + [now]
        if len(hits) > CLEAN_LIMIT:
            return reply(
                request, {"title": "Slow down", "status": 429}, 429, **{"Retry-After": "10"}
            )
        return None

    async def me(request: Request) -> Response:
        if stop := limited(request):
            return stop
        user = user_of(request)
        if user is None:
            return problem(request, 401, "Authentication required")
        if mode == "chatty":
            return reply(request, {"user": user, "note": CHATTY_NOTE})
        return reply(request, {"user": user})

    async def create_account(request: Request) -> Response:
        if stop := limited(request):
            return stop
        user = user_of(request)
        if user is None:
            return problem(request, 401, "Authentication required")
        if flawed:
            raw = json.loads(await request.body())  # Planted fault: a traceback in debug mode.
        else:
            try:
                raw = json.loads(await request.body())
            except ValueError:
                return problem(request, 400, "The body is not JSON")
        if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
            return problem(request, 422, "name is required")
        # Planted fault (flawed): the client chooses its own role.
        role = str(raw.get("role", "member")) if flawed else "member"
        account = {"id": str(uuid.uuid4()), "owner": user, "name": raw["name"], "role": role}
        accounts[account["id"]] = account
        where = f"/v1/accounts/{account['id']}"
        if mode == "deep":
            nested = "[" * DEEP + "]" * DEEP
            headers = {**headers_for(request), "Location": where}
            return Response(nested, 201, headers=headers, media_type="application/json")
        return reply(request, account, 201, Location=where)

    async def get_account(request: Request) -> Response:
        if stop := limited(request):
            return stop
        user = user_of(request)
        if user is None:
            return problem(request, 401, "Authentication required")
        account = accounts.get(request.path_params["account_id"])
        if account is None or account["owner"] != user:
            return problem(request, 404, "No such account")
        return reply(request, account)

    routes = [
        Route("/v1/me", me, methods=["GET"]),
        Route("/v1/accounts", create_account, methods=["POST"]),
        Route("/v1/accounts/{account_id}", get_account, methods=["GET"]),
    ]
    app = Starlette(debug=flawed, routes=routes)
    app.state.accounts = accounts
    return app


def _errors(*codes: int) -> dict[str, Any]:
    problem = {"$ref": "#/components/schemas/Problem"}
    return {
        str(code): {
            "description": f"HTTP {code}",
            "content": {"application/problem+json": {"schema": problem}},
        }
        for code in codes
    }


def build_spec(
    cookie: Cookie = "declared",
    roles: tuple[str, ...] = ("member", "admin"),
    role_default: str | None = None,
) -> dict[str, Any]:
    """The accounts API's description; `cookie` as for build_app, `roles` the read-only role's
    enum (in order) and `role_default` its declared default."""
    account = {"$ref": "#/components/schemas/Account"}
    role: dict[str, Any] = {"type": "string", "enum": list(roles), "readOnly": True}
    if role_default is not None:
        role["default"] = role_default
    schemes: dict[str, Any] = {
        "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    }
    security: list[dict[str, list[str]]] = [{"bearer": []}]
    if cookie == "declared":
        schemes["session"] = {"type": "apiKey", "in": "cookie", "name": "session"}
        security.append({"session": []})
    return {
        "openapi": "3.0.3",
        "info": {"title": "Accounts API", "version": "1.0.0", "description": "For probe tests."},
        "servers": [{"url": "https://accounts.example.police.uk"}],
        "security": security,
        "paths": {
            "/v1/me": {
                "get": {
                    "operationId": "whoAmI",
                    "summary": "Who am I",
                    "description": "The caller.",
                    "responses": {
                        "200": {
                            "description": "The caller",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "properties": {
                                            "user": {"type": "string", "maxLength": 100}
                                        },
                                    }
                                }
                            },
                        },
                        **_errors(401, 429),
                    },
                }
            },
            "/v1/accounts": {
                "post": {
                    "operationId": "createAccount",
                    "summary": "Create an account",
                    "description": "An account owned by the caller.",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": account}},
                    },
                    "responses": {
                        "201": {
                            "description": "Created",
                            "content": {"application/json": {"schema": account}},
                        },
                        **_errors(400, 401, 422, 429),
                    },
                }
            },
            "/v1/accounts/{account_id}": {
                "get": {
                    "operationId": "getAccount",
                    "summary": "Read an account",
                    "description": "One of the caller's accounts.",
                    "parameters": [
                        {
                            "name": "account_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string", "format": "uuid", "maxLength": 36},
                        }
                    ],
                    "responses": {
                        "200": {
                            "description": "The account",
                            "content": {"application/json": {"schema": account}},
                        },
                        **_errors(401, 404, 429),
                    },
                }
            },
        },
        "components": {
            "securitySchemes": schemes,
            "schemas": {
                "Account": {
                    "type": "object",
                    "required": ["name"],
                    "additionalProperties": False,
                    "properties": {
                        "id": {"type": "string", "format": "uuid", "readOnly": True},
                        "owner": {"type": "string", "maxLength": 100, "readOnly": True},
                        "name": {"type": "string", "minLength": 1, "maxLength": 50},
                        "role": role,
                    },
                },
                "Problem": {
                    "type": "object",
                    "properties": {
                        "title": {"type": "string", "maxLength": 200},
                        "status": {"type": "integer", "minimum": 100, "maximum": 599},
                    },
                },
            },
        },
    }


def serving_accounts(
    mode: Mode, cookie: Cookie = "declared"
) -> contextlib.AbstractContextManager[str]:
    """Serve the accounts API on a free loopback port; yields its base URL; stops on exit."""
    return serving_asgi(build_app(mode, cookie))
