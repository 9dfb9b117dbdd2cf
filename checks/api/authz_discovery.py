"""Find objects each identity owns, for the authorisation matrix, when the user named none.

A collection is a secured GET with nothing to fill in (`/v1/notes`) beside a GET of one of its
items (`/v1/notes/{id}`). Each proven identity lists a few collections; the ids in the answer's
items fill the item path. An id both identities list is shared, not owned, and is left out: it
would make a cross-identity read look like a leak. Bounded: a few list calls and a few objects
per identity, through the matrix's client (its deadline and the user's rate).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from checks.api.authz_compare import parsed
from checks.api.authz_objects import NamedObject, ObjectsFileError, filled, relative_path
from checks.api.credentials import bearer
from checks.api.live_probes.client import ProbeClient
from checks.api.model import OpenApiView

MAX_LIST_CALLS = 4  # per identity
MAX_OBJECTS = 5  # per identity
PER_COLLECTION = 2  # so the few objects come from more than one collection
MAX_ID_CHARS = 200
# Where a list's items are when the answer is an object rather than a list.
ITEM_KEYS = ("items", "data", "results", "content", "records", "objects", "entries", "value")
ITEM = re.compile(r"^(?P<collection>[^{}]*[^/{}])/\{(?P<param>[^{}/]+)\}$")


@dataclass(frozen=True)
class Collection:
    list_path: str
    item_path: str
    param: str


def collections(view: OpenApiView) -> list[Collection]:
    """Collections whose list needs a credential and nothing filled in, shortest first."""
    lists = {op.path for op in view.plain_gets()}
    found = []
    for op in view.operations():
        hit = ITEM.match(op.path) if op.method == "get" else None
        if hit is None or hit["collection"] not in lists:
            continue
        if any(p.get("required") and p.get("in") != "path" for p in op.parameters):
            continue
        found.append(Collection(hit["collection"], op.path, hit["param"]))
    return sorted(found, key=lambda c: (len(c.list_path), c.list_path))[:MAX_LIST_CALLS]


def items_of(payload: Any) -> list[dict[str, Any]]:
    """The items of a list answer: the list itself, or the one list an envelope holds."""
    if isinstance(payload, dict):
        for key in ITEM_KEYS:
            if isinstance(payload.get(key), list):
                payload = payload[key]
                break
        else:
            lists = [v for v in payload.values() if isinstance(v, list)]
            payload = lists[0] if len(lists) == 1 else []
    return [item for item in payload if isinstance(item, dict)] if isinstance(payload, list) else []


def id_of(item: dict[str, Any], param: str) -> str | None:
    """The item's id: the field the path parameter is named for, else `id` or `uuid`."""
    for key in (param, "id", "uuid", "_id"):
        value = item.get(key)
        if isinstance(value, bool) or not isinstance(value, str | int):
            continue
        text = str(value)
        if 0 < len(text) <= MAX_ID_CHARS:
            return text
    return None


def discover(
    client: ProbeClient,
    view: OpenApiView,
    base_url: str,
    identities: dict[str, str],
) -> tuple[list[NamedObject], list[str]]:
    """Objects each identity (name -> token) lists, and what discovery saw on the way."""
    notes: list[str] = []
    listed: dict[tuple[str, Collection], list[str]] = {}
    found = collections(view)
    if not found:
        return [], ["no list operation beside a read of its items (GET /x and GET /x/{id})"]
    for name, token in identities.items():
        for collection in found:
            url = base_url.rstrip("/") + collection.list_path
            answer = client.send("GET", url, bearer(token), note=f"identity token ({name})")
            if answer is None or not 200 <= answer.status < 300:
                status = "no answer" if answer is None else f"HTTP {answer.status}"
                notes.append(f"GET {collection.list_path} as {name}: {status}")
                continue
            ids = (id_of(item, collection.param) for item in items_of(parsed(answer.body)))
            listed[(name, collection)] = [i for i in ids if i is not None]
    objects: list[NamedObject] = []
    for name in identities:
        mine: list[NamedObject] = []
        for collection in found:
            others = {
                value
                for (who, where), values in listed.items()
                if who != name and where == collection
                for value in values
            }
            own = [i for i in listed.get((name, collection), []) if i not in others]
            shared = len(listed.get((name, collection), [])) - len(own)
            if shared:
                notes.append(
                    f"GET {collection.list_path}: {shared} item(s) {name} lists are listed for "
                    "another identity too (shared, not owned): left out"
                )
            for value in own[:PER_COLLECTION]:
                params = {collection.param: value}
                path = filled(collection.item_path, params)
                try:
                    relative_path(path)
                except ObjectsFileError as exc:  # the id the API listed makes no usable path
                    notes.append(f"GET {collection.list_path}: {exc}")
                    continue
                mine.append(NamedObject(name, path, collection.item_path, params, "discovered"))
        if not mine:
            notes.append(f"no object of {name} was found through a list operation")
        objects += mine[:MAX_OBJECTS]
    return objects, notes
