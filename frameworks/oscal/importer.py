"""Read an OSCAL catalog: size-capped JSON, NIST schema validation, then trestle's typed models.

Any catalog becomes an UpstreamCatalogue (groups and controls with their ids and titles). A catalog
that carries this project's props (one exported by `export_oscal`) also rebuilds the full Framework.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from trestle.oscal.catalog import Catalog, Control

from checks.safe_parse import InputRefused, Limits, load_json
from frameworks.catalogue import CatalogueGroup, CatalogueItem, UpstreamCatalogue
from frameworks.oscal.export import NAMESPACE
from frameworks.oscal.validation import oscal_schema_errors
from frameworks.schema import Framework

MAX_CATALOG_BYTES = 50 * 1024 * 1024
# The shared depth of 64 JSON levels (NIST SP 800-53 rev5 nests 18) stops a catalog before the
# schema validator, trestle and _group recurse into it: the validator spends about seven Python
# frames on each level of nested groups, so 150 of them already exhaust the interpreter's stack.
CATALOG_LIMITS = Limits(max_bytes=MAX_CATALOG_BYTES)
UNGROUPED = "ungrouped"


class OscalImportError(ValueError):
    """The file is not a usable OSCAL catalog; the message says where and why."""


@dataclass(frozen=True)
class ImportedCatalog:
    catalogue: UpstreamCatalogue
    control_count: int
    top_level_control_count: int
    framework: Framework | None


def _read_json(path: Path) -> Any:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise OscalImportError(f"{path}: cannot be read ({exc.strerror})") from exc
    if size > MAX_CATALOG_BYTES:
        raise OscalImportError(f"{path}: {size} bytes is over the {MAX_CATALOG_BYTES} byte limit")
    try:
        return load_json(path.read_bytes(), CATALOG_LIMITS)
    except InputRefused as exc:
        raise OscalImportError(f"{path}: refused: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise OscalImportError(
            f"{path}: not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from exc
    except UnicodeDecodeError as exc:
        raise OscalImportError(f"{path}: not UTF-8 JSON") from exc


def _props(props: Iterable[Any] | None) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for prop in props or []:
        if str(prop.ns or "") == NAMESPACE:
            found.setdefault(prop.name, []).append(prop.value)
    return found


def _walk_controls(controls: Iterable[Control] | None) -> list[Control]:
    """Controls with their enhancements, depth first, as they appear in the catalog."""
    ordered: list[Control] = []
    for control in controls or []:
        ordered.append(control)
        ordered.extend(_walk_controls(control.controls))
    return ordered


def _group(group: Any) -> CatalogueGroup:
    return CatalogueGroup(
        id=group.id or _slug(group.title),
        title=group.title,
        items=[
            CatalogueItem(id=c.id, title=c.title)
            for c in _walk_controls(getattr(group, "controls", None))
        ],
        groups=[_group(child) for child in getattr(group, "groups", None) or []],
    )


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:48] or "catalogue"


def _party_names(catalog: Catalog) -> str:
    names = [party.name for party in catalog.metadata.parties or [] if party.name]
    return ", ".join(names) or "not stated in the catalog"


def _catalogue(catalog: Catalog, catalogue_id: str | None, source: str) -> UpstreamCatalogue:
    metadata = catalog.metadata
    ours = _props(metadata.props)
    groups = [_group(group) for group in catalog.groups or []]
    loose = _walk_controls(catalog.controls)
    if loose:
        groups.append(
            CatalogueGroup(
                id=UNGROUPED,
                title="Controls outside any group",
                items=[CatalogueItem(id=c.id, title=c.title) for c in loose],
            )
        )
    version = metadata.version or "unversioned"
    return UpstreamCatalogue(
        catalogue_id=catalogue_id
        or (ours.get("framework-id", [None])[0] or _slug(metadata.title))[:40]
        + f"-{_slug(version)}",
        title=metadata.title,
        version=version,
        publisher=(ours.get("publisher") or [_party_names(catalog)])[0],
        licence=(ours.get("licence") or ["not stated in the catalog"])[0],
        source=source,
        groups=groups,
    )


def _framework(catalog: Catalog) -> Framework | None:
    """Rebuild a PTSbD-style framework from our props; None for catalogs we did not write."""
    ours = _props(catalog.metadata.props)
    if "framework-id" not in ours:
        return None
    objectives = []
    for objective in catalog.groups or []:
        principles = []
        for principle in getattr(objective, "groups", None) or []:
            outcomes = [_outcome(control) for control in principle.controls or []]
            principles.append(
                {
                    "id": principle.id,
                    "title": principle.title,
                    "intent": _prose(principle.parts, "overview"),
                    "outcomes": outcomes,
                }
            )
        objectives.append(
            {
                "id": objective.id,
                "title": objective.title,
                "intent": _prose(objective.parts, "overview"),
                "principles": principles,
            }
        )
    return Framework.model_validate(
        {
            "framework_id": ours["framework-id"][0],
            "version": catalog.metadata.version,
            "title": catalog.metadata.title,
            "publisher": ours["publisher"][0],
            "licence": ours["licence"][0],
            "released": ours["released"][0],
            "evidence_types": ours.get("evidence-type", []),
            "earlier_content_sha256": ours.get("earlier-content-sha256", []),
            "objectives": objectives,
        }
    )


def _prose(parts: Iterable[Any] | None, name: str) -> str:
    return next((part.prose for part in parts or [] if part.name == name), "")


def _outcome(control: Control) -> dict[str, Any]:
    ours = _props(control.props)
    levels: dict[str, list[dict[str, str]]] = {
        "not_achieved": [],
        "partially_achieved": [],
        "achieved": [],
    }
    for part in control.parts or []:
        if part.name == "indicator":
            level = _props(part.props)["achievement-level"][0]
            levels[level].append({"id": part.id, "text": part.prose})
    return {
        "id": control.id,
        "title": control.title,
        "intent": _prose(control.parts, "statement"),
        "audience": ours["audience"][0],
        "weight": int(ours["weight"][0]),
        "critical": ours["critical"][0] == "true",
        "evidence_types": ours.get("evidence-type", []),
        "indicators": levels,
    }


def read_oscal_catalog(path: Path, catalogue_id: str | None = None) -> ImportedCatalog:
    document = _read_json(path)
    if not isinstance(document, dict) or "catalog" not in document:
        raise OscalImportError(f"{path}: not an OSCAL catalog (no top-level 'catalog')")
    try:
        problems = oscal_schema_errors(document)
        if problems:
            raise OscalImportError(f"{path}: not a valid OSCAL catalog: " + "; ".join(problems))
        catalog = Catalog.model_validate(document["catalog"])
        catalogue = _catalogue(catalog, catalogue_id, path.name)
        framework = _framework(catalog)
    except (ValidationError, KeyError, IndexError) as exc:
        raise OscalImportError(f"{path}: catalog content cannot be used: {exc}") from exc
    except RecursionError as exc:  # a backstop: CATALOG_LIMITS should refuse such nesting first
        raise OscalImportError(f"{path}: refused: nested too deeply to import") from exc
    controls = _walk_controls(catalog.controls) + [
        control for group in catalog.groups or [] for control in _all_group_controls(group)
    ]
    top_level = list(catalog.controls or []) + [
        control for group in catalog.groups or [] for control in _group_controls(group)
    ]
    return ImportedCatalog(catalogue, len(controls), len(top_level), framework)


def _group_controls(group: Any) -> list[Control]:
    found = list(getattr(group, "controls", None) or [])
    for child in getattr(group, "groups", None) or []:
        found.extend(_group_controls(child))
    return found


def _all_group_controls(group: Any) -> list[Control]:
    return _walk_controls(_group_controls(group))
