"""The case-notes API's rules, shared by the three frameworks: who the caller is, what a note
looks like, what may be written, CORS and rate-limit headers. Each rule that a flawed target
breaks says so where it breaks it (faults.py lists them); everything else is the same in both
modes, so the twins differ by the planted faults alone.

A framework calls one function per operation and renders the Reply it gets; it keeps its own
routing, 404/405 handling and, for the flawed targets, its own debug page for the exception
`parsed_json` lets through.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import jwt
from jsonschema import Draft202012Validator

from tests.peers.ground_truth.document import FULL_PAGE, MAX_LIMIT, PROBLEM, SESSION_COOKIE, schema

Mode = Literal["flawed", "clean"]
MODES: tuple[Mode, ...] = ("flawed", "clean")
SECRET = "ground-truth-case-notes-signing-key!"
AUDIENCE = "case-notes-api"
ISSUER = "https://idp.example.police.uk"
USERS = ("alice", "bob")  # identity 1 and identity 2
TRUSTED_ORIGIN = "https://case-notes.example.police.uk"
# The clean twins' limit: far above what the checker sends at its 200/s default, so the fuzzing
# run never meets it, while every answer still announces it.
RATE_LIMIT = 5000
RATE_WINDOW_SECONDS = 10

CREATE = Draft202012Validator(schema("NoteCreate"))
PATCH = Draft202012Validator(schema("NotePatch"))


def token_for(user: str, expires_in: int = 3600, key: str = SECRET, **claims: Any) -> str:
    """A bearer token the case-notes API issues to `user` (HS256, with audience and expiry);
    another `key` makes one it never issued."""
    now = int(time.time())
    payload = {
        "sub": user,
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + expires_in,
        **claims,
    }
    return jwt.encode(payload, key, algorithm="HS256")


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def media_type(self) -> str:
        return PROBLEM if self.status >= 400 else "application/json"

    def encoded(self) -> bytes:
        return json.dumps(self.body).encode()

    def with_headers(self, headers: dict[str, str]) -> Reply:
        return Reply(self.status, self.body, {**headers, **self.headers})


@dataclass(frozen=True)
class Incoming:
    """What the rules read of a request, whichever framework took it."""

    headers: Mapping[str, str]  # names in lower case
    cookies: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, list[str]] = field(default_factory=dict)
    body: bytes = b""

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


class MalformedBody(ValueError):
    """The body is not JSON. The clean twins answer 400; the flawed ones let it escape to their
    framework, which shows its debug page."""


def problem(status: int, title: str, detail: str | None = None, **headers: str) -> Reply:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail[:500]  # the description allows 2000
    return Reply(status, body, headers)


def _seeded(owner: str, title: str) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"case-notes/{owner}/{title}")),
        "owner": owner,
        "title": title,
        "body": f"Notes taken by {owner}.",
        "classification": "OFFICIAL-SENSITIVE",
        "created_at": "2026-01-05T09:30:00Z",
    }


class CaseNotes:
    """One target's state: its notes (two for each user before any test runs: objects that
    already exist, which only a list operation reveals) and its rate window."""

    def __init__(self, mode: Mode) -> None:
        self.mode = mode
        self.flawed = mode == "flawed"
        self.lock = threading.Lock()
        self.notes: dict[str, dict[str, Any]] = {}
        for user in USERS:
            for title in ("Witness statement", "Scene log"):
                note = _seeded(user, title)
                self.notes[note["id"]] = note
        self.hits: list[float] = []

    # Who is calling ------------------------------------------------------------------------

    def caller(self, headers: Mapping[str, str], cookies: Mapping[str, str]) -> str | None:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            token = cookies.get(SESSION_COOKIE, "")
        if not token:
            return None
        try:
            if self.flawed:
                # Planted fault (f): the claims are read and nothing is verified, so alg none,
                # a stripped signature, an expired token or another audience all pass.
                claims = jwt.decode(token.strip(), options={"verify_signature": False})
            else:
                claims = jwt.decode(
                    token.strip(),
                    SECRET,
                    algorithms=["HS256"],
                    audience=AUDIENCE,
                    issuer=ISSUER,
                    options={"require": ["exp", "sub", "aud"]},
                )
        except jwt.PyJWTError:
            return None
        subject = claims.get("sub")
        return subject if isinstance(subject, str) and 0 < len(subject) <= 64 else None

    # Headers on every answer ---------------------------------------------------------------

    def cors(self, origin: str | None) -> dict[str, str]:
        if not origin:
            return {}
        if self.flawed or origin == TRUSTED_ORIGIN:
            # Planted fault (e) on the flawed targets: whatever origin asks is let in, with
            # credentials, and the session cookie makes those credentials ambient.
            return {
                "Access-Control-Allow-Origin": origin,
                "Access-Control-Allow-Credentials": "true",
                "Vary": "Origin",
            }
        return {"Vary": "Origin"}

    def limited(self) -> tuple[Reply | None, dict[str, str]]:
        """A 429 when past the limit, and the headers announcing it; planted fault (h): the
        flawed targets neither limit nor announce anything."""
        if self.flawed:
            return None, {}
        now = time.monotonic()
        with self.lock:
            self.hits = [t for t in self.hits if now - t < RATE_WINDOW_SECONDS] + [now]
            used = len(self.hits)
        headers = {
            "RateLimit-Limit": str(RATE_LIMIT),
            "RateLimit-Remaining": str(max(0, RATE_LIMIT - used)),
            "RateLimit-Reset": str(RATE_WINDOW_SECONDS),
        }
        if used > RATE_LIMIT:
            stop = problem(429, "Too many requests", **{"Retry-After": str(RATE_WINDOW_SECONDS)})
            return stop, headers
        return None, headers

    def session_cookie(self, token: str) -> str:
        same_site = "None" if self.flawed else "Strict"
        return f"{SESSION_COOKIE}={token}; Path=/; Secure; HttpOnly; SameSite={same_site}"

    # Operations ----------------------------------------------------------------------------

    def serve(self, operation: str, request: Incoming, note_id: str = "") -> Reply:
        """Answer one declared operation: the rate limit, CORS and the caller first, as a
        framework's middleware would, then the operation itself."""
        stop, announced = self.limited()
        around = {**self.cors(request.headers.get("origin")), **announced}
        if stop is not None:
            return stop.with_headers(around)
        user = self.caller(request.headers, request.cookies)
        if operation == "noteStats":
            return self.stats(user).with_headers(around)
        if user is None:
            return unauthenticated().with_headers(around)
        if operation == "whoAmI":
            reply = self.who_am_i(user, request)
        elif operation == "listNotes":
            reply = self.list_notes(user, request.query.get("limit", []))
        elif operation == "createNote":
            reply = self.create_note(user, request.content_type, request.body)
        elif operation == "getNote":
            reply = self.read_note(user, note_id)
        elif operation == "updateNote":
            reply = self.update_note(user, note_id, request.content_type, request.body)
        else:
            raise LookupError(f"no operation {operation}")
        return reply.with_headers(around)

    def who_am_i(self, user: str, request: Incoming) -> Reply:
        """The caller, and the session cookie a browser then sends instead of the header."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return Reply(200, {"user": user})
        return Reply(200, {"user": user}, {"Set-Cookie": self.session_cookie(token.strip())})

    def stats(self, user: str | None) -> Reply:
        # Planted fault (a): the flawed targets count every note for anyone, signed in or not.
        if user is None and not self.flawed:
            return unauthenticated()
        with self.lock:
            return Reply(200, {"notes": len(self.notes)})

    def list_notes(self, user: str, raw_limit: list[str]) -> Reply:
        if len(raw_limit) > 1:
            return problem(400, "limit is given more than once")
        limit = 10
        if raw_limit:
            text = raw_limit[0]
            if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= MAX_LIMIT:
                return problem(400, f"limit is a whole number from 1 to {MAX_LIMIT}")
            limit = int(text)
        with self.lock:
            mine = [dict(n) for n in self.notes.values() if n["owner"] == user][:limit]
        if self.flawed and limit > FULL_PAGE:
            # Planted fault (c): a long page is built by another code path that forgets a
            # property the description requires.
            for note in mine:
                note.pop("classification")
        return Reply(200, mine)

    def create_note(self, user: str, content_type: str, body: bytes) -> Reply:
        raw = parsed_json(content_type, body, self.flawed)
        if isinstance(raw, Reply):
            return raw
        if errors := _invalid(CREATE, raw):
            return problem(422, "The body does not match the schema", errors)
        # Planted fault (d): the flawed targets take the owner the client sends.
        owner = raw.get("owner", user) if self.flawed else user
        note = {
            "id": str(uuid.uuid4()),
            "owner": owner,
            "title": raw["title"],
            "body": raw.get("body", ""),
            "classification": raw.get("classification", "OFFICIAL"),
            "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        with self.lock:
            self.notes[note["id"]] = note
        return Reply(201, dict(note), {"Location": f"/v1/notes/{note['id']}"})

    def read_note(self, user: str, note_id: str) -> Reply:
        with self.lock:
            note = self.notes.get(note_id)
            # Planted fault (b): the flawed targets never ask whose note it is.
            if note is None or (note["owner"] != user and not self.flawed):
                return problem(404, "No such note")
            return Reply(200, dict(note))

    def update_note(self, user: str, note_id: str, content_type: str, body: bytes) -> Reply:
        with self.lock:
            note = self.notes.get(note_id)
            if note is None or note["owner"] != user:
                return problem(404, "No such note")
        raw = parsed_json(content_type, body, self.flawed)
        if isinstance(raw, Reply):
            return raw
        if errors := _invalid(PATCH, raw):
            return problem(422, "The body does not match the schema", errors)
        with self.lock:
            note.update(raw)
            return Reply(200, dict(note))


def unauthenticated() -> Reply:
    return problem(401, "Authentication required", **{"WWW-Authenticate": 'Bearer realm="notes"'})


def parsed_json(content_type: str, body: bytes, flawed: bool) -> Any:
    """The JSON body, or the problem to answer instead."""
    if content_type.split(";")[0].strip().lower() != "application/json":
        return problem(415, "Send application/json")
    try:
        return json.loads(body)
    except ValueError as exc:
        if flawed:
            # Planted fault (g): the parse error escapes to the framework.
            raise MalformedBody(f"cannot parse the note: {exc}") from exc
        return problem(400, "The body is not JSON")


def _invalid(validator: Draft202012Validator, value: Any) -> str | None:
    error = next(iter(validator.iter_errors(value)), None)
    return None if error is None else error.message
