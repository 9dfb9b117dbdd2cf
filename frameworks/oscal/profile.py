"""Read an OSCAL profile and resolve which controls of an imported catalogue it selects.

A profile is read as a catalog is (size-capped JSON, NIST schema validation, trestle's model),
then its imports name the catalog it tailors. That catalog is only ever one already imported
(posture/catalogue_store.py): an href is matched against what was imported, never opened as a
path, and an absolute URL is fetched (through a function the caller passes, which applies the
egress policy) only to read which catalog it is. Resolution keeps the selection: include-all or
include-controls by id, less exclude-controls, in the catalogue's own order. Merge and modify
directives change how controls read, not which are chosen, so they are not applied here.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, ConfigDict, ValidationError
from trestle.oscal.profile import Profile

from checks.safe_parse import InputRefused, Limits, load_json
from frameworks.catalogue import UpstreamCatalogue
from frameworks.oscal.importer import CATALOG_LIMITS, OscalImportError
from frameworks.oscal.validation import oscal_schema_errors

# The largest published profiles (NIST SP 800-53 rev5 HIGH with its parameters) are under 200 KB.
MAX_PROFILE_BYTES = 5 * 1024 * 1024
PROFILE_LIMITS = Limits(max_bytes=MAX_PROFILE_BYTES)
# NIST SP 800-53 rev5 has about 1,200 controls and enhancements. Counted before the schema
# validator walks the lists, which would take minutes over millions of ids.
MAX_SELECTED_IDS = 20_000
MAX_IMPORTS = 100
# The stored key's limits (posture.storage.models.ImportedProfile.title and .version).
MAX_TITLE, MAX_VERSION = 400, 64
MAX_NAMED = 20  # unknown ids listed in a refusal

Fetch = Callable[[str], bytes]


class OscalProfileError(OscalImportError):
    """The profile cannot be read or resolved; the message says where and why."""


@dataclass(frozen=True)
class KnownCatalogue:
    """An imported catalogue as a profile's href may name it."""

    record_id: int
    catalogue_id: str
    version: str
    title: str
    source_name: str
    sha256: str


@dataclass(frozen=True)
class ParsedProfile:
    source: str
    profile: Profile


class ResolvedProfile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    profile_uuid: str
    title: str
    version: str
    catalogue_id: str
    catalogue_version: str
    control_ids: list[str]


def _refuse(source: str, where: str, reason: str) -> OscalProfileError:
    return OscalProfileError(f"{source}{' at ' + where if where else ''}: {reason}")


def _count_selected(source: str, document: dict[str, Any]) -> None:
    imports = document["profile"].get("imports") if isinstance(document["profile"], dict) else None
    if not isinstance(imports, list):
        return  # the schema says what is wrong with it
    if len(imports) > MAX_IMPORTS:
        raise _refuse(source, "/profile/imports", f"refused: more than {MAX_IMPORTS} imports")
    total = 0
    for index, entry in enumerate(imports):
        for key in ("include-controls", "exclude-controls"):
            selectors = entry.get(key) if isinstance(entry, dict) else None
            for selector in selectors if isinstance(selectors, list) else []:
                ids = selector.get("with-ids") if isinstance(selector, dict) else None
                total += len(ids) if isinstance(ids, list) else 0
                if total > MAX_SELECTED_IDS:
                    raise _refuse(
                        source,
                        f"/profile/imports/{index}/{key}",
                        f"refused: more than {MAX_SELECTED_IDS} control ids selected",
                    )


def parse_oscal_profile(raw: bytes, source: str) -> ParsedProfile:
    """The profile in `raw` (named `source` in errors), validated; OscalProfileError otherwise."""
    if len(raw) > MAX_PROFILE_BYTES:
        raise _refuse(source, "", f"{len(raw)} bytes is over the {MAX_PROFILE_BYTES} byte limit")
    try:
        document = load_json(raw, PROFILE_LIMITS)
    except InputRefused as exc:
        raise _refuse(source, "", f"refused: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise _refuse(
            source, "", f"not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from exc
    except UnicodeDecodeError as exc:
        raise _refuse(source, "", "not UTF-8 JSON") from exc
    if not isinstance(document, dict) or "profile" not in document:
        kind = next(iter(document), None) if isinstance(document, dict) else None
        hint = f" (it is an OSCAL {kind})" if isinstance(kind, str) and len(kind) < 40 else ""
        raise _refuse(source, "", f"not an OSCAL profile (no top-level 'profile'){hint}")
    _count_selected(source, document)
    try:
        problems = oscal_schema_errors(document)
        if problems:
            raise _refuse(source, "", "not a valid OSCAL profile: " + "; ".join(problems))
        profile = Profile.model_validate(document["profile"])
    except ValidationError as exc:
        raise _refuse(source, "", f"profile content cannot be used: {exc}") from exc
    except RecursionError as exc:  # a backstop: PROFILE_LIMITS refuses such nesting first
        raise _refuse(source, "", "refused: nested too deeply to read") from exc
    title = profile.metadata.title.strip()
    if len(title) > MAX_TITLE:
        raise _refuse(source, "/profile/metadata/title", f"longer than {MAX_TITLE} characters")
    if len(profile.metadata.version) > MAX_VERSION:
        raise _refuse(source, "/profile/metadata/version", f"longer than {MAX_VERSION} characters")
    for where, value in (("title", title), ("version", profile.metadata.version)):
        if "\x00" in value:  # PostgreSQL text cannot hold it; no title needs it
            raise _refuse(source, f"/profile/metadata/{where}", "holds a NUL character")
    return ParsedProfile(source, profile)


# --- which imported catalogue the imports name ------------------------------------------------


def _normalised(text: str) -> str:
    return " ".join(text.split()).casefold()


def _file_name(href: str) -> str:
    return posixpath.basename(unquote(urlsplit(href).path))


def _absolute(href: str) -> bool:
    parts = urlsplit(href)
    return bool(parts.scheme) or href.startswith("//")


def _one(source: str, where: str, found: list[KnownCatalogue], what: str) -> KnownCatalogue | None:
    unique = {c.record_id: c for c in found}
    if len(unique) > 1:
        names = ", ".join(f"{c.catalogue_id} {c.version}" for c in unique.values())
        raise _refuse(
            source,
            where,
            f"{what} matches several imported catalogues ({names}); name one with --catalogue",
        )
    return next(iter(unique.values()), None)


def _by_title(
    known: Sequence[KnownCatalogue], title: str, version: str | None
) -> list[KnownCatalogue]:
    return [
        c
        for c in known
        if _normalised(c.title) == _normalised(title) and (version is None or c.version == version)
    ]


def _fetched(
    source: str, where: str, url: str, known: Sequence[KnownCatalogue], fetch: Fetch | None
) -> KnownCatalogue:
    scheme = urlsplit(url).scheme.lower()
    if scheme not in ("http", "https"):
        raise _refuse(source, where, f"{url[:200]!r}: only http and https catalogs are fetched")
    if fetch is None:
        raise _refuse(
            source,
            where,
            f"{url[:200]} is a remote catalog and fetching is off here; import "
            "the catalog first and name it with --catalogue",
        )
    try:
        raw = fetch(url)
    except Exception as exc:  # the fetcher's own errors (egress, deadline, size) name the cause
        reason = str(exc) if url in str(exc) else f"cannot fetch {url[:200]}: {exc}"
        raise _refuse(source, where, reason) from exc
    digest = hashlib.sha256(raw).hexdigest()
    same = [c for c in known if c.sha256 == digest]
    if same:
        return same[0]
    # Only the title and version are read, to find the catalog among those already imported: its
    # content is never used, so it needs no schema validation, only the same parsing limits.
    try:
        document = load_json(raw, CATALOG_LIMITS)
        metadata = document["catalog"]["metadata"]
        title, version = str(metadata["title"]), str(metadata.get("version") or "unversioned")
    except (InputRefused, ValueError, TypeError, KeyError) as exc:
        raise _refuse(source, where, f"{url[:200]} did not return an OSCAL catalog") from exc
    match = _one(source, where, _by_title(known, title, version), url[:200])
    if match is None:
        raise _refuse(
            source,
            where,
            f"{url[:200]} is {title!r} {version}, which has not been imported; "
            "import it with assure framework import-oscal first",
        )
    return match


def _named_by(
    parsed: ParsedProfile,
    index: int,
    href: str,
    known: Sequence[KnownCatalogue],
    fetch: Fetch | None,
) -> KnownCatalogue:
    source, where = parsed.source, f"/profile/imports/{index}/href"
    if href.startswith("#"):
        resources = parsed.profile.back_matter.resources if parsed.profile.back_matter else []
        resource = next((r for r in resources or [] if r.uuid == href[1:]), None)
        if resource is None:
            raise _refuse(source, where, f"{href} names no back-matter resource")
        version = next((p.value for p in resource.props or [] if p.name == "version"), None)
        if resource.title:
            match = _one(source, where, _by_title(known, resource.title, version), href)
            if match is not None:
                return match
        links = [rlink.href for rlink in resource.rlinks or []]
        for link in (link for link in links if not _absolute(link)):
            match = _one(
                source, where, [c for c in known if c.source_name == _file_name(link)], link
            )
            if match is not None:
                return match
        remote = [link for link in links if _absolute(link)]
        if remote:
            return _fetched(source, where, remote[0], known, fetch)
        raise _refuse(
            source,
            where,
            f"the catalog {resource.title or href!r} has not been imported; "
            "import it with assure framework import-oscal first, or name it with --catalogue",
        )
    if _absolute(href):
        return _fetched(source, where, href, known, fetch)
    name = _file_name(href)
    match = _one(source, where, [c for c in known if c.source_name == name], href)
    if match is None:
        raise _refuse(
            source,
            where,
            f"no imported catalogue was read from a file named {name!r}; import "
            "it with assure framework import-oscal first, or name it with --catalogue",
        )
    return match


def named_catalogue(
    parsed: ParsedProfile,
    known: Sequence[KnownCatalogue],
    catalogue_id: str | None = None,
    fetch: Fetch | None = None,
) -> KnownCatalogue:
    """The one imported catalogue the profile tailors: `catalogue_id` when given, else the one
    every import's href names. A profile of several catalogues is refused."""
    source = parsed.source
    if catalogue_id is not None:
        match = _one(source, "", [c for c in known if c.catalogue_id == catalogue_id], catalogue_id)
        if match is None:
            raise _refuse(source, "", f"no imported catalogue has the id {catalogue_id!r}")
        return match
    chosen: dict[int, KnownCatalogue] = {}
    for index, entry in enumerate(parsed.profile.imports):
        if not entry.href:
            raise _refuse(
                source, f"/profile/imports/{index}", "no href; name the catalog with --catalogue"
            )
        match = _named_by(parsed, index, entry.href, known, fetch)
        chosen[match.record_id] = match
    if len(chosen) > 1:
        names = ", ".join(f"{c.catalogue_id} {c.version}" for c in chosen.values())
        raise _refuse(
            source,
            "/profile/imports",
            f"imports several catalogues ({names}); only a profile of one catalogue is resolved",
        )
    return next(iter(chosen.values()))


# --- the selection ----------------------------------------------------------------------------


def _selected_ids(source: str, where: str, selectors: Iterable[Any] | None) -> list[str]:
    ids: list[str] = []
    for number, selector in enumerate(selectors or []):
        at = f"{where}/{number}"
        if selector.matching:
            raise _refuse(source, at, "'matching' patterns are not resolved; list with-ids")
        if (selector.with_child_controls or "no") != "no":
            raise _refuse(
                source, at, "with-child-controls is not resolved; list each control in with-ids"
            )
        ids.extend(selector.with_ids or [])
    return ids


def _unknown(source: str, where: str, ids: Iterable[str], known: set[str]) -> None:
    missing = list(dict.fromkeys(i for i in ids if i not in known))
    if missing:
        shown = ", ".join(missing[:MAX_NAMED])
        more = f" and {len(missing) - MAX_NAMED} more" if len(missing) > MAX_NAMED else ""
        raise _refuse(
            source, where, f"the catalogue has no control {shown}{more}; nothing was imported"
        )


def resolve_profile(parsed: ParsedProfile, catalogue: UpstreamCatalogue) -> ResolvedProfile:
    """The controls of `catalogue` the profile selects, in the catalogue's order."""
    source = parsed.source
    order = catalogue.item_ids()
    present = set(order)
    chosen: set[str] = set()
    for index, entry in enumerate(parsed.profile.imports):
        where = f"/profile/imports/{index}"
        included = getattr(entry, "include_controls", None)
        if included is None:
            selection = set(order)
        else:
            ids = _selected_ids(source, f"{where}/include-controls", included)
            _unknown(source, f"{where}/include-controls", ids, present)
            selection = set(ids)
        excluded = _selected_ids(source, f"{where}/exclude-controls", entry.exclude_controls)
        _unknown(source, f"{where}/exclude-controls", excluded, present)
        chosen |= selection - set(excluded)
    if not chosen:
        raise _refuse(source, "/profile/imports", "selects no control of the catalogue")
    metadata = parsed.profile.metadata
    return ResolvedProfile(
        profile_uuid=parsed.profile.uuid,
        title=metadata.title.strip(),
        version=metadata.version,
        catalogue_id=catalogue.catalogue_id,
        catalogue_version=catalogue.version,
        control_ids=[control_id for control_id in order if control_id in chosen],
    )
