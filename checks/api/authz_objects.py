"""The objects each identity owns, as the user names them for the authorisation matrix.

    primary:
      - /v1/notes/17                       # a path, relative to --base-url
      - operation: GET /v1/notes/{id}      # or a read operation and its ids
        params: {id: 18}
    secondary:
      - /v1/notes/19

YAML or JSON. The file is the user's, but it may be one a supplier handed them: it is parsed
within size, depth and count limits, and a path that could lead anywhere but the base URL (a full
URL, another host, `..`) is refused before anything is sent.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import quote, unquote, urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StringConstraints, ValidationError

from checks.api.credentials import IDENTITY_NAMES
from checks.api.model import OpenApiView
from checks.api.objects_limits import MAX_BYTES
from checks.safe_parse import InputRefused, Limits, load_json, load_yaml
from kernel.errors import ValidationFailed

# An object is two levels in (identity, list); an operation's params one more.
LIMITS = Limits(max_bytes=MAX_BYTES, max_depth=6, max_aliases=10, max_expanded_nodes=20_000)
MAX_PER_IDENTITY = 50
MAX_PARAMS = 10
MAX_PATH_CHARS = 2000
MAX_VALUE_CHARS = 200
PLACEHOLDER = re.compile(r"\{([^{}/]+)\}")
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")

Value = StrictInt | Annotated[str, StringConstraints(min_length=1, max_length=MAX_VALUE_CHARS)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=MAX_PATH_CHARS)]


class ObjectsFileError(ValidationFailed):
    """The objects file cannot be used; nothing was sent."""


class OperationRef(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    operation: Text
    params: dict[str, Value] = Field(default_factory=dict, max_length=MAX_PARAMS)


class ObjectsFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    primary: tuple[Text | OperationRef, ...] = Field(default=(), max_length=MAX_PER_IDENTITY)
    secondary: tuple[Text | OperationRef, ...] = Field(default=(), max_length=MAX_PER_IDENTITY)


@dataclass(frozen=True)
class NamedObject:
    """An object one identity owns: its path, and the description's read operation when known."""

    owner: str
    path: str
    template: str | None = None  # /v1/notes/{id}
    params: dict[str, str] = field(default_factory=dict, compare=False, hash=False)
    source: str = "file"

    @property
    def operation(self) -> str | None:
        return f"GET {self.template}" if self.template else None


def parse_objects(text: str) -> ObjectsFile:
    """The file's objects, or ObjectsFileError saying what is wrong with it."""
    try:
        as_json = text.lstrip()[:1] in ("{", "[")
        raw = load_json(text, LIMITS) if as_json else load_yaml(text, LIMITS)
    except InputRefused as exc:
        raise ObjectsFileError(f"the objects file was refused: {exc}") from None
    except (json.JSONDecodeError, yaml.YAMLError, UnicodeError) as exc:
        detail = " ".join(str(exc).split())[:200]
        raise ObjectsFileError(f"the objects file is not JSON or YAML: {detail}") from None
    if not isinstance(raw, dict):
        raise ObjectsFileError(
            "the objects file must map identities (primary, secondary) to lists of objects"
        )
    try:
        parsed = ObjectsFile.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ObjectsFileError(
            f"the objects file is not usable at {where}: {first['msg']} "
            f"(at most {MAX_PER_IDENTITY} objects per identity)"
        ) from None
    if not parsed.primary and not parsed.secondary:
        raise ObjectsFileError("the objects file names no objects")
    return parsed


def relative_path(path: str) -> str:
    """The path, when it can only lead to the base URL; ObjectsFileError otherwise."""
    if SCHEME.match(path) or path.startswith("//") or "://" in path:
        raise ObjectsFileError(
            f"{path[:100]!r} is a full URL: the objects file takes paths relative to --base-url "
            "(/v1/notes/17), so no request can go to another host"
        )
    if not path.startswith("/"):
        raise ObjectsFileError(f"{path[:100]!r} must start with / (a path under --base-url)")
    if any(not 33 <= ord(c) <= 126 or c in "\\#" for c in path):
        raise ObjectsFileError(
            f"{path[:100]!r} holds spaces, control characters, \\, # or a character outside "
            "printable ASCII (percent-encode it)"
        )
    # Decoded twice (%252e) or as a Windows separator (%5c), a path can still step out.
    if re.search(r"%(25|5c)", path, re.IGNORECASE):
        raise ObjectsFileError(f"{path[:100]!r} holds an encoded % or \\ (%25, %5c)")
    segments = unquote(urlsplit(path).path).split("/")
    if ".." in segments or "." in segments:
        raise ObjectsFileError(f"{path[:100]!r} steps out of its folder (. or ..)")
    return path


def object_url(base_url: str, path: str) -> str:
    """The object's URL under the base URL, never anywhere else."""
    url = base_url.rstrip("/") + relative_path(path)
    if urlsplit(url).netloc != urlsplit(base_url).netloc:
        raise ObjectsFileError(f"{path[:100]!r} would leave the base URL's host")
    return url


def filled(template: str, params: dict[str, str]) -> str:
    """The template with each placeholder replaced by its value, quoted so a value cannot add a
    segment, a query or a fragment."""
    return PLACEHOLDER.sub(lambda m: quote(params[m[1]], safe=""), template)


def _read_templates(view: OpenApiView) -> dict[str, re.Pattern[str]]:
    """Each path with a GET operation, and a pattern matching its concrete paths."""
    patterns = {}
    for op in view.operations():
        if op.method != "get":
            continue
        pattern = "".join(
            f"(?P<p{index}>[^/]+)" if index % 2 else re.escape(part)
            for index, part in enumerate(PLACEHOLDER.split(op.path))
        )
        patterns[op.path] = re.compile(f"^{pattern}$")
    return patterns


def matched(view: OpenApiView, path: str) -> tuple[str | None, dict[str, str]]:
    """The description's GET path a concrete path is an instance of (the most literal one when
    several are), and the values it gives each placeholder."""
    bare = urlsplit(path).path
    best: tuple[int, str, dict[str, str]] | None = None
    for template, pattern in _read_templates(view).items():
        hit = pattern.match(bare)
        if not hit:
            continue
        names = PLACEHOLDER.findall(template)
        values = {name: unquote(hit[f"p{2 * i + 1}"]) for i, name in enumerate(names)}
        literal = len(PLACEHOLDER.sub("", template))
        if best is None or literal > best[0]:
            best = (literal, template, values)
    return (best[1], best[2]) if best else (None, {})


def _from_operation(view: OpenApiView, owner: str, ref: OperationRef) -> NamedObject:
    method, _, template = ref.operation.strip().partition(" ")
    template = template.strip()
    if method.upper() != "GET":
        raise ObjectsFileError(
            f"{ref.operation[:100]!r}: name the object by its read operation (GET ...); its "
            "writes are found in the description"
        )
    if template not in _read_templates(view):
        raise ObjectsFileError(f"{ref.operation[:100]!r} is not an operation of the description")
    names = set(PLACEHOLDER.findall(template))
    params = {name: str(value) for name, value in ref.params.items()}
    if set(params) != names:
        raise ObjectsFileError(
            f"{ref.operation[:100]!r} needs the parameters {sorted(names)}, "
            f"the file gives {sorted(params)}"
        )
    path = relative_path(filled(template, params))
    return NamedObject(owner, path, template, params)


def named_objects(
    objects: ObjectsFile, document: dict[str, Any], identities: int
) -> list[NamedObject]:
    """The file's objects checked against the description and the identities given."""
    view = OpenApiView(document)
    found: list[NamedObject] = []
    for index, owner in enumerate(IDENTITY_NAMES):
        entries = getattr(objects, owner)
        if entries and index >= identities:
            raise ObjectsFileError(
                f"the objects file names objects of {owner}, but only {identities} "
                f"identit{'y was' if identities == 1 else 'ies were'} given (--auth, --auth2)"
            )
        for entry in entries:
            if isinstance(entry, OperationRef):
                named = _from_operation(view, owner, entry)
            else:
                template, params = matched(view, relative_path(entry))
                named = NamedObject(owner, entry, template, params)
            if all((named.owner, named.path) != (o.owner, o.path) for o in found):
                found.append(named)
    return found
