"""An API that hands its request back: GET /v1/me answers 200 with every request header in its
JSON body (which its description does not allow, so schemathesis reports it with the body as
evidence) and the Authorization header again in X-Echo-Authorization; a request with an Origin
(the CORS probe's) gets a 500 text page with a Python traceback that lists the headers, which
the debug-page probe reports with an excerpt of it. Any bearer token is accepted, and so is a
request with HTTP Basic credentials (a base URL's user:password@).

GET /v1/echo/{family} hands the bearer token (or the Basic user:password) back encoded the
ways real APIs do (ECHO_FORMS), each family short enough to sit whole in a kept excerpt, in a
body its description does not allow (`pem`: a text page its description does not declare)."""

from __future__ import annotations

import base64
import contextlib
import html
import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from tests.peers.apis import serving_asgi


def _echoed(request: Request) -> str:
    # The credential first, so that an excerpt of the page shows it.
    rows = sorted(request.headers.items(), key=lambda row: row[0] != "authorization")
    return "\n".join(f"  {name}: {value}" for name, value in rows)


async def me(request: Request) -> Response:
    authorization = request.headers.get("authorization", "")
    if not authorization.lower().startswith(("bearer ", "basic ")):
        return JSONResponse({"title": "Authentication required", "status": 401}, 401)
    if "origin" in request.headers:
        trace = (
            "Traceback (most recent call last):\n"
            f'  File "/srv/echo/app.py", line 12, in me\n{_echoed(request)}\n'
            "KeyError: 'origin'\n"
        )
        return PlainTextResponse(trace, 500)
    body = {"user": "alice", "headers": dict(request.headers)}
    return JSONResponse(body, headers={"X-Echo-Authorization": authorization})


def _entities(token: str, entity: Callable[[str], str]) -> str:
    return "".join(entity(c) if not c.isalnum() else c for c in token)


def _b64(data: str, urlsafe: bool = False, padded: bool = True) -> str:
    encode = base64.urlsafe_b64encode if urlsafe else base64.b64encode
    text = encode(data.encode()).decode("ascii")
    return text if padded else text.rstrip("=")


# family -> form -> the token so encoded.
ECHO_FORMS: dict[str, dict[str, Callable[[str], str]]] = {
    "json": {
        "php": lambda t: json.dumps(t).replace("/", "\\/")[1:-1],
        "unicode": lambda t: "".join(f"\\u{ord(c):04x}" for c in t),
    },
    "percent": {
        "slash-kept": quote,
        "lower": lambda t: re.sub("%[0-9A-F]{2}", lambda m: m.group().lower(), quote(t, safe="")),
    },
    "html": {
        "named": lambda t: _entities(
            t,
            lambda c: (
                html.escape(c)
                if c in "&<>"
                else {"/": "&sol;", "+": "&plus;", "=": "&equals;"}.get(c, c)
            ),
        ),
        "decimal": lambda t: _entities(t, lambda c: f"&#{ord(c)};"),
        "hex": lambda t: _entities(t, lambda c: f"&#x{ord(c):X};"),
    },
    "base64": {
        "std": _b64,
        "urlsafe": lambda t: _b64(t, urlsafe=True, padded=False),
        "pair": lambda t: _b64(f"{t}:"),
        "bearer": lambda t: _b64(f"Bearer {t}", urlsafe=True),
    },
    "pem": {"wrapped": lambda t: f"{t[:12]}\n    {t[12:]}"},
}


async def echo(request: Request) -> Response:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic":  # a base URL's user:password, handed back as the pair
        token = base64.b64decode(token + "==").decode("utf-8", "replace")
    family = ECHO_FORMS.get(request.path_params["family"])
    if scheme.lower() not in ("bearer", "basic") or not token or family is None:
        return JSONResponse({"title": "Authentication required", "status": 401}, 401)
    if request.path_params["family"] == "pem":
        return PlainTextResponse(f"-----BEGIN TOKEN-----\n    {family['wrapped'](token)}\n")
    # Written by hand: a JSON encoder would escape the escapes again.
    pairs = ", ".join(f'"{name}": "{form(token)}"' for name, form in family.items())
    return Response("{" + pairs + "}", media_type="application/json")


def build_app() -> Starlette:
    return Starlette(
        routes=[
            Route("/v1/me", me, methods=["GET"]),
            Route("/v1/echo/{family}", echo, methods=["GET"]),
        ]
    )


def _echo_operation(family: str) -> dict[str, Any]:
    return {
        "get": {
            "operationId": f"echo{family.title()}",
            "summary": f"Echo ({family})",
            "description": "The caller's token, encoded.",
            "responses": {
                "200": {
                    "description": "Nothing at all",
                    "content": {
                        "application/json": {
                            "schema": {"type": "object", "additionalProperties": False}
                        }
                    },
                },
                "401": {"description": "No credential"},
            },
        }
    }


def build_spec() -> dict[str, Any]:
    problem = {
        "type": "object",
        "properties": {"title": {"type": "string"}, "status": {"type": "integer"}},
    }
    return {
        "openapi": "3.0.3",
        "info": {"title": "Echo API", "version": "1.0.0", "description": "For evidence tests."},
        "servers": [{"url": "https://echo.example.police.uk"}],
        "security": [{"bearer": []}],
        "paths": {
            **{f"/v1/echo/{family}": _echo_operation(family) for family in ECHO_FORMS},
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
                                        "additionalProperties": False,
                                        "properties": {
                                            "user": {"type": "string", "maxLength": 100}
                                        },
                                    }
                                }
                            },
                        },
                        "401": {
                            "description": "No credential",
                            "content": {"application/json": {"schema": problem}},
                        },
                    },
                }
            },
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def serving_echo() -> contextlib.AbstractContextManager[str]:
    """Serve the echo API on a free loopback port; yields its base URL; stops on exit."""
    return serving_asgi(build_app())
