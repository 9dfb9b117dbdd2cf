"""Does a replayed answer hold the owner's object? Pure decisions of the authorisation matrix.

Two reads of the same object differ in what the server makes up per request (a request id, a
timestamp), so a body is compared with the owner's after leaving out the fields named like those
and the fields that differed between the owner's own two reads.

Equality alone is easy to dodge: a server that stamps the caller in a `viewer` field, reorders a
list or wraps the object per caller answers another body holding the same object. So a body
also leaks when it holds the owner's distinctive values, wherever they sit: the object's id and
one more of its values (two when the owner's own answer does not carry the id). A value is
distinctive when it is not a boolean, not tiny, not a common word, and not one the caller sees in
its own objects too (a unit or an organisation every note shares proves nothing).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from checks.catalogue.api import AuthzOutcome

# Compared with every key lower-cased, without _ and -.
VOLATILE = frozenset(
    {
        "requestid",
        "traceid",
        "spanid",
        "correlationid",
        "timestamp",
        "servedat",
        "generatedat",
        "servertime",
        "responsetime",
        "nonce",
        "csrftoken",
    }
)
# A body nested deeper than this is not read as JSON: json.loads and every walk of it would
# exhaust Python's recursion limit (about 1000) on a body a hostile API fits in 64 KB.
MAX_DEPTH = 100
# A leaf value shorter than this, a boolean, or a word many objects share says nothing about
# which object a body holds.
MIN_DISTINCT_CHARS = 4
COMMON = frozenset(
    {
        "true",
        "false",
        "null",
        "none",
        "yes",
        "active",
        "inactive",
        "enabled",
        "disabled",
        "open",
        "closed",
        "draft",
        "public",
        "private",
        "pending",
        "unknown",
        "default",
    }
)
NOT_JSON = object()
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)


def _key(name: str) -> str:
    return name.lower().replace("_", "").replace("-", "")


def too_deep(body: bytes) -> bool:
    """Arrays and objects open more than MAX_DEPTH deep (strings left out)."""
    depth = 0
    for byte in _STRING.sub(b"", body):
        if byte in b"[{":
            depth += 1
            if depth > MAX_DEPTH:
                return True
        elif byte in b"]}":
            depth -= 1
    return False


def parsed(body: bytes) -> Any:
    """The body as JSON, or NOT_JSON (a JSON null is None, which is JSON)."""
    if too_deep(body):
        return NOT_JSON
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return NOT_JSON


def differing(first: Any, second: Any) -> set[str]:
    """Keys (normalised) whose values differ between two reads of one object."""
    found: set[str] = set()
    if isinstance(first, dict) and isinstance(second, dict):
        for key in first.keys() | second.keys():
            a, b = first.get(key), second.get(key)
            if a == b:
                continue
            nested = differing(a, b)
            found |= nested if nested else {_key(str(key))}
    elif isinstance(first, list) and isinstance(second, list) and len(first) == len(second):
        for a, b in zip(first, second, strict=True):
            found |= differing(a, b)
    return found


def comparable(payload: Any, ignored: frozenset[str]) -> Any:
    """The payload without its volatile fields, at any depth."""
    if isinstance(payload, dict):
        return {
            key: comparable(value, ignored)
            for key, value in payload.items()
            if _key(str(key)) not in VOLATILE | ignored
        }
    if isinstance(payload, list):
        return [comparable(item, ignored) for item in payload]
    return payload


def left_out(body: bytes, ignored: frozenset[str]) -> list[str]:
    """The names of the fields the comparison leaves out of this body."""
    found: set[str] = set()
    stack = [parsed(body)]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            found |= {str(k) for k in node if _key(str(k)) in VOLATILE | ignored}
            stack += list(node.values())
        elif isinstance(node, list):
            stack += node
    return sorted(found)


def meaningful(body: bytes, ignored: frozenset[str]) -> bool:
    """The owner's answer holds something of the object to compare (an empty body, `{}` or a
    body of nothing but volatile fields matches any other)."""
    payload = parsed(body)
    if payload is NOT_JSON:
        return bool(body.strip())
    return comparable(payload, ignored) not in (None, {}, [], "")


def same_body(owners: bytes, other: bytes, ignored: frozenset[str]) -> bool:
    first, second = parsed(owners), parsed(other)
    if first is NOT_JSON or second is NOT_JSON:
        return owners.strip() == other.strip()
    return comparable(first, ignored) == comparable(second, ignored)


def leaves(payload: Any, ignored: frozenset[str] = frozenset()) -> Iterator[Any]:
    """Every scalar leaf, at any depth, but those under a volatile or ignored key."""
    stack = [payload]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            stack += [v for k, v in node.items() if _key(str(k)) not in VOLATILE | ignored]
        elif isinstance(node, list):
            stack += node
        elif node is not None:
            yield node


def _text(value: Any) -> str:
    return str(value).strip()


def distinctive(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return False
    text = _text(value).lstrip("-")
    return len(text) >= MIN_DISTINCT_CHARS and text.lower() not in COMMON


def distinct_values(body: bytes, ignored: frozenset[str] = frozenset()) -> frozenset[str]:
    """The body's distinctive leaf values, as text (none for a body that is not JSON)."""
    payload = parsed(body)
    if payload is NOT_JSON:
        return frozenset()
    return frozenset(_text(v) for v in leaves(payload, ignored) if distinctive(v))


def held(
    owners: bytes,
    other: bytes,
    object_id: str | None,
    ignored: frozenset[str],
    public: frozenset[str],
) -> tuple[str, ...]:
    """The owner's values another body holds, the id first, when they are enough to say it
    holds the owner's object; () otherwise. `public` are values the caller may see anyway."""
    mine, theirs = parsed(owners), parsed(other)
    if mine is NOT_JSON:
        return ()
    if theirs is NOT_JSON:
        text = other.decode("utf-8", "replace")
        found_in = text.__contains__
    else:
        texts = {_text(v) for v in leaves(theirs)}
        found_in = texts.__contains__
    own_leaves = {_text(v) for v in leaves(mine, ignored)}
    with_id = object_id is not None and object_id in own_leaves
    values = {_text(v) for v in leaves(mine, ignored) if distinctive(v)} - public
    values.discard(object_id or "")
    found = sorted(v for v in values if found_in(v))
    if with_id and found and found_in(object_id):
        return (str(object_id), *found)
    if not with_id and len(found) >= 2:
        return tuple(found)
    return ()


def outcome(status: int | None, same: bool, holds: bool = False) -> AuthzOutcome:
    if status is None or status >= 500:
        return AuthzOutcome.ERROR
    if 200 <= status < 300:
        if same:
            return AuthzOutcome.ALLOWED_SAME_BODY
        if holds:
            return AuthzOutcome.ALLOWED_OWNERS_VALUES
        return AuthzOutcome.ALLOWED_DIFFERENT_BODY
    return AuthzOutcome.REFUSED
