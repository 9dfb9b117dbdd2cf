"""Export a framework as an OSCAL catalog, using compliance-trestle's OSCAL models.

Objectives and principles become nested groups, outcomes become controls. Everything OSCAL has no
field for (weight, criticality, audience, evidence types, indicator levels) is carried in props
under this project's namespace, so the catalog re-imports to the same framework. The kinds of check
that bear on each outcome are exported too, for readers; they follow from checks/data/findings.yaml
and are not part of the framework, so import ignores them.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time
from typing import Any

from trestle.oscal.catalog import Catalog, Control
from trestle.oscal.catalog import Group1 as GroupOfGroups
from trestle.oscal.catalog import Group2 as GroupOfControls
from trestle.oscal.common import Metadata, Part, Property

from checks.catalogue import kinds as check_kinds
from frameworks.finding_links import FindingLinkTable
from frameworks.loader import LoadedFramework
from frameworks.oscal.validation import SCHEMA_OSCAL_VERSION
from frameworks.schema import Framework, Outcome
from kernel.ids import name_based_uuid

NAMESPACE = "https://policetech-assure.example/ns/oscal"
UUID_NAMESPACE = uuid.UUID("0f0b7f8e-5a3c-4c55-9a57-6f8a1d0c2b11")


def _prop(name: str, value: str) -> Property:
    return Property(name=name, value=value, ns=NAMESPACE)


def _listed(name: str, values: list[str]) -> list[Property]:
    return [_prop(name, value) for value in values]


def _outcome_control(outcome: Outcome, links: FindingLinkTable) -> Control:
    parts = [Part(id=f"{outcome.id}_smt", name="statement", prose=outcome.intent)]
    for level, indicators in outcome.indicators.by_level().items():
        for indicator in indicators:
            parts.append(
                Part(
                    id=indicator.id,
                    name="indicator",
                    prose=indicator.text,
                    props=[_prop("achievement-level", level.value)],
                )
            )
    props = [
        _prop("audience", outcome.audience.value),
        _prop("weight", str(outcome.weight)),
        _prop("critical", "true" if outcome.critical else "false"),
        *_listed("evidence-type", outcome.evidence_types),
        *_listed("automated-check", list(links.kinds_for(outcome.id))),
    ]
    return Control(id=outcome.id, title=outcome.title, props=props, parts=parts)


def _checked_kinds(framework: Framework, links: FindingLinkTable) -> list[str]:
    kinds = {kind for outcome in framework.outcomes() for kind in links.kinds_for(outcome.id)}
    return [kind for kind in check_kinds() if kind in kinds]


def _intent_part(node_id: str, intent: str) -> list[Part]:
    return [Part(id=f"{node_id}_intent", name="overview", prose=intent)]


def framework_to_catalog(framework: Framework, links: FindingLinkTable) -> Catalog:
    """The catalog; `automated-check` props name the kinds of check that bear on each outcome,
    derived from the findings linked to it, and are not read back on import."""
    identity = f"{framework.framework_id}:{framework.version}"
    groups = [
        GroupOfGroups(
            id=objective.id,
            title=objective.title,
            parts=_intent_part(objective.id, objective.intent),
            groups=[
                GroupOfControls(
                    id=principle.id,
                    title=principle.title,
                    parts=_intent_part(principle.id, principle.intent),
                    controls=[_outcome_control(o, links) for o in principle.outcomes],
                )
                for principle in objective.principles
            ],
        )
        for objective in framework.objectives
    ]
    released = datetime.combine(framework.released, time(), tzinfo=UTC)
    metadata = Metadata(
        title=framework.title,
        last_modified=released,
        version=framework.version,
        oscal_version=SCHEMA_OSCAL_VERSION,
        props=[
            _prop("framework-id", framework.framework_id),
            _prop("publisher", framework.publisher),
            _prop("licence", framework.licence),
            _prop("released", framework.released.isoformat()),
            *_listed("evidence-type", framework.evidence_types),
            *_listed("earlier-content-sha256", framework.earlier_content_sha256),
            *_listed("automated-check", _checked_kinds(framework, links)),
        ],
    )
    return Catalog(uuid=name_based_uuid(UUID_NAMESPACE, identity), metadata=metadata, groups=groups)


def export_oscal(loaded: LoadedFramework) -> dict[str, Any]:
    """The OSCAL JSON document (a dict ready for json.dump)."""
    catalog = framework_to_catalog(loaded.framework, loaded.finding_links)
    return {"catalog": catalog.model_dump(mode="json", by_alias=True, exclude_none=True)}
