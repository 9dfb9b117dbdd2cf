"""Stable URNs for every framework object, in the style of CISO Assistant's libraries.

Ids such as `A1.a` stay as display labels; they collide across catalogues (PTSbD and the CAF both
have an `A1.a`), so anything that leaves a catalogue (crosswalks, findings, exports, the API,
stored answers) names an object by its URN. This module is the only place the URN shape is known.

    urn:policetech-assure:catalogue:ncsc-caf                 a catalogue, across its versions
    urn:policetech-assure:framework:ncsc-caf-4.0             one version of it
    urn:policetech-assure:outcome:ncsc-caf-4.0:a1.a          an element of that version
    urn:policetech-assure:profile:ncsc-caf-4.0:caf-baseline  a target profile
    urn:policetech-assure:finding:tls-no-pq-key-exchange     a finding code (not versioned)
    urn:policetech-assure:crosswalk:ptsbd-1.0:ncsc-caf-4.0   a crosswalk between two versions

Element ids are lower-cased as CISO Assistant does; a catalogue whose ids differ only in case is
refused where it is loaded (`colliding_ids`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

PREFIX = "urn:policetech-assure"


class UrnKind(StrEnum):
    CATALOGUE = "catalogue"
    FRAMEWORK = "framework"
    OBJECTIVE = "objective"
    PRINCIPLE = "principle"
    OUTCOME = "outcome"
    INDICATOR = "indicator"
    GROUP = "group"  # a grouping node of an upstream catalogue
    REQUIREMENT = "requirement"  # an item of an upstream catalogue
    PROFILE = "profile"
    FINDING = "finding"
    CROSSWALK = "crosswalk"


# Kinds that name an element inside one catalogue version.
ELEMENT_KINDS = frozenset(
    {
        UrnKind.OBJECTIVE,
        UrnKind.PRINCIPLE,
        UrnKind.OUTCOME,
        UrnKind.INDICATOR,
        UrnKind.GROUP,
        UrnKind.REQUIREMENT,
        UrnKind.PROFILE,
    }
)

# RFC 8141 allows more, but nothing this project names needs it, and a narrow alphabet keeps URNs
# safe to print, to put in a file name and to compare byte for byte.
_PART = r"[a-z0-9][a-z0-9._()@:-]{0,127}"
_VERSIONED = r"[a-z0-9][a-z0-9._-]{0,127}"
_URN = re.compile(
    rf"^{re.escape(PREFIX)}:(?P<kind>[a-z]+):(?P<scope>{_VERSIONED})(?::(?P<element>{_PART}))?$"
)


class UrnError(ValueError):
    """A string that is not one of this project's URNs."""


def _label(value: str) -> str:
    lowered = value.strip().lower()
    if not re.fullmatch(_PART, lowered):
        raise UrnError(f"{value!r} cannot be part of a URN")
    return lowered


def version_key(catalogue_id: str, version: str) -> str:
    """`ncsc-caf` + `4.0` -> `ncsc-caf-4.0`; an id that already ends in its version is kept."""
    family = _label(catalogue_id)
    suffix = "-" + _label(version)
    return family if family.endswith(suffix) else family + suffix


def family_of(catalogue_id: str, version: str) -> str:
    """The id without its version: `owasp-api-top10-2023` + `2023` -> `owasp-api-top10`."""
    family = _label(catalogue_id)
    suffix = "-" + _label(version)
    return family.removesuffix(suffix) if family.endswith(suffix) else family


def catalogue_urn(catalogue_id: str, version: str) -> str:
    return f"{PREFIX}:{UrnKind.CATALOGUE}:{family_of(catalogue_id, version)}"


def framework_urn(catalogue_id: str, version: str) -> str:
    return f"{PREFIX}:{UrnKind.FRAMEWORK}:{version_key(catalogue_id, version)}"


def element_urn(kind: UrnKind, catalogue_id: str, version: str, element_id: str) -> str:
    if kind not in ELEMENT_KINDS:
        raise UrnError(f"{kind} is not an element kind")
    return f"{PREFIX}:{kind}:{version_key(catalogue_id, version)}:{_label(element_id)}"


def outcome_urn(catalogue_id: str, version: str, outcome_id: str) -> str:
    return element_urn(UrnKind.OUTCOME, catalogue_id, version, outcome_id)


def finding_urn(code: str) -> str:
    return f"{PREFIX}:{UrnKind.FINDING}:{_label(code)}"


def crosswalk_urn(source_key: str, target_key: str) -> str:
    return f"{PREFIX}:{UrnKind.CROSSWALK}:{_label(source_key)}:{_label(target_key)}"


@dataclass(frozen=True)
class ParsedUrn:
    kind: UrnKind
    scope: str  # the versioned catalogue key, a family, or a finding code
    element: str | None


def parse_urn(urn: str) -> ParsedUrn:
    """Split one of this project's URNs; anything else is refused with the reason."""
    if not isinstance(urn, str) or len(urn) > 400:
        raise UrnError("not a URN of this project")
    match = _URN.match(urn)
    if match is None:
        raise UrnError(f"{urn[:120]!r} is not a URN of this project ({PREFIX}:<kind>:...)")
    try:
        kind = UrnKind(match["kind"])
    except ValueError:
        raise UrnError(f"{urn[:120]!r}: unknown kind {match['kind']!r}") from None
    element = match["element"]
    if (kind in ELEMENT_KINDS or kind is UrnKind.CROSSWALK) != (element is not None):
        raise UrnError(
            f"{urn[:120]!r}: a {kind} URN {'needs' if element is None else 'takes no'} element"
        )
    return ParsedUrn(kind, match["scope"], element)


def colliding_ids(ids: list[str]) -> list[tuple[str, str]]:
    """Pairs of ids that would share a URN (they differ only in case)."""
    seen: dict[str, str] = {}
    clashes = []
    for element_id in ids:
        key = element_id.lower()
        if key in seen and seen[key] != element_id:
            clashes.append((seen[key], element_id))
        seen.setdefault(key, element_id)
    return clashes
