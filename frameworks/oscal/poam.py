"""A risk register as an OSCAL plan of action and milestones, built with trestle's models.

The input is a plain model of the register (posture/risk/exports.py gathers it), so this module
reads nothing and writes nothing. Each scenario is an OSCAL risk (threat as its description, the
vulnerability as its statement, likelihood, impact and level as facets of one characterization)
and one POA&M item that names it as a related risk. Each treatment is one of the risk's
remediations, and each mitigation action is a milestone task of it, due on its day. What OSCAL
has no field for (the register's ids, the subject, appetite, the day an acceptance runs to) is
carried in props under this project's namespace.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from trestle.oscal.common import (
    AssociatedRisk,
    Characterization,
    Facet,
    Metadata,
    OnDate,
    Origin,
    OriginActor,
    Parties,
    Property,
    Response,
    Risk,
    Task,
    TimingOnDate,
)
from trestle.oscal.poam import PlanOfActionAndMilestones, PoamItem

from frameworks.oscal.assessment_results import _line
from frameworks.oscal.export import NAMESPACE
from frameworks.oscal.validation import SCHEMA_OSCAL_VERSION
from kernel.ids import name_based_uuid

# Not another document's namespace: a POA&M's uuids must never equal a catalog's or results'.
POAM_UUID_NAMESPACE = uuid.UUID("a3f1c6d2-7b84-4e09-9c5d-1e2f3a4b5c6d")

# The register's status as OSCAL's risk status: an accepted risk is a deviation its owner has
# approved; one being treated is being remediated.
RISK_STATUS: dict[str, str] = {
    "open": "open",
    "treating": "remediating",
    "accepted": "deviation-approved",
    "closed": "closed",
}


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PoamLevel(_Input):
    likelihood: str = Field(min_length=1, max_length=64)
    impact: str = Field(min_length=1, max_length=64)
    level: str = Field(min_length=1, max_length=64)
    level_name: str = Field(min_length=1, max_length=200)


class PoamAction(_Input):
    action_id: int
    title: str = Field(min_length=1)
    responsible: str = Field(min_length=1)
    due_on: date
    status: Literal["planned", "in_progress", "done"]
    addresses: list[str] = Field(default_factory=list)


class PoamTreatment(_Input):
    treatment_id: int
    kind: Literal["accept", "mitigate", "transfer", "avoid"]
    description: str = Field(min_length=1)
    actions: list[PoamAction] = Field(default_factory=list)

    @property
    def done(self) -> bool:
        """A decision is complete once recorded; a mitigation once its actions are all done."""
        if self.kind != "mitigate":
            return True
        return bool(self.actions) and all(a.status == "done" for a in self.actions)


class PoamScenario(_Input):
    scenario_id: int
    title: str = Field(min_length=1)
    subject: str = Field(min_length=1)
    threat_id: str = Field(min_length=1)
    threat_name: str = Field(min_length=1)
    threat_text: str = Field(min_length=1)
    vulnerability_text: str = Field(min_length=1)
    status: Literal["open", "treating", "accepted", "closed"]
    inherent: PoamLevel
    current: PoamLevel
    residual: PoamLevel | None = None
    accepted_until: date | None = None
    within_appetite: bool
    treatments: list[PoamTreatment] = Field(default_factory=list)


class PoamInput(_Input):
    organisation_id: int
    organisation_name: str = Field(min_length=1)
    matrix_version: str = Field(min_length=1)
    as_of: date
    generated_at: AwareDatetime
    scenarios: list[PoamScenario] = Field(min_length=1)


def _prop(name: str, value: str) -> Property:
    return Property(name=name, value=_line(value), ns=NAMESPACE)


def _moment(day: date) -> datetime:
    # OSCAL dates here are date-times: a day's end in UTC is when something due that day is late.
    return datetime.combine(day, time(23, 59, 59), tzinfo=UTC)


class _Ids:
    """Uuids stable per register item, so the same scenario, treatment or action keeps its
    uuid across revisions of the plan, as OSCAL asks of POA&M items."""

    def __init__(self, source: PoamInput) -> None:
        self.scope = f"poam:{source.organisation_id}"

    def __call__(self, *parts: object) -> str:
        return name_based_uuid(POAM_UUID_NAMESPACE, ":".join([self.scope, *map(str, parts)]))


def _level_props(prefix: str, level: PoamLevel) -> list[Property]:
    return [
        _prop(f"{prefix}-likelihood", level.likelihood),
        _prop(f"{prefix}-impact", level.impact),
        _prop(f"{prefix}-level", level.level),
    ]


def _characterization(scenario: PoamScenario, party: str) -> Characterization:
    current = scenario.current
    return Characterization(
        origin=Origin(actors=[OriginActor(type="party", actor_uuid=party)]),
        facets=[
            Facet(name="likelihood", system=NAMESPACE, value=current.likelihood),
            Facet(name="impact", system=NAMESPACE, value=current.impact),
            Facet(name="risk", system=NAMESPACE, value=current.level),
        ],
    )


def _task(scenario: PoamScenario, action: PoamAction, ids: _Ids) -> Task:
    addressed = ", ".join(action.addresses) or "nothing named"
    props = [
        _prop("action-id", str(action.action_id)),
        _prop("action-status", action.status),
        _prop("responsible", action.responsible),
        *(_prop("addresses", ref) for ref in action.addresses),
    ]
    return Task(
        uuid=ids("action", action.action_id),
        type="milestone",
        title=_line(action.title),
        description=(
            f"{action.title}, carried out by {action.responsible}, due "
            f"{action.due_on.isoformat()} ({action.status.replace('_', ' ')}); addresses "
            f"{addressed}."
        ),
        props=props,
        timing=TimingOnDate(on_date=OnDate(date=_moment(action.due_on))),
    )


def _remediation(scenario: PoamScenario, treatment: PoamTreatment, ids: _Ids) -> Response:
    return Response(
        uuid=ids("treatment", treatment.treatment_id),
        lifecycle="completed" if treatment.done else "planned",
        title=f"{treatment.kind.capitalize()}: {_line(scenario.title)}",
        description=treatment.description,
        props=[
            _prop("treatment-id", str(treatment.treatment_id)),
            _prop("treatment-kind", treatment.kind),
        ],
        tasks=[_task(scenario, action, ids) for action in treatment.actions] or None,
    )


def _deadline(scenario: PoamScenario) -> datetime | None:
    """When the last open action is due: the day the plan says the risk is treated."""
    due = [
        action.due_on
        for treatment in scenario.treatments
        for action in treatment.actions
        if action.status != "done"
    ]
    return _moment(max(due)) if due else None


def _risk(scenario: PoamScenario, party: str, ids: _Ids) -> Risk:
    props = [
        _prop("scenario-id", str(scenario.scenario_id)),
        _prop("subject", scenario.subject),
        _prop("threat", scenario.threat_id),
        _prop("within-appetite", "yes" if scenario.within_appetite else "no"),
        *_level_props("inherent", scenario.inherent),
        *_level_props("current", scenario.current),
        *(_level_props("residual", scenario.residual) if scenario.residual else []),
    ]
    if scenario.accepted_until is not None:
        props.append(_prop("accepted-until", scenario.accepted_until.isoformat()))
    return Risk(
        uuid=ids("risk", scenario.scenario_id),
        title=_line(scenario.title),
        description=f"{scenario.threat_name}: {scenario.threat_text}",
        statement=scenario.vulnerability_text,
        props=props,
        status=RISK_STATUS[scenario.status],
        characterizations=[_characterization(scenario, party)],
        deadline=_deadline(scenario),
        remediations=[_remediation(scenario, t, ids) for t in scenario.treatments] or None,
    )


def _item(scenario: PoamScenario, risk: Risk, ids: _Ids) -> PoamItem:
    treated = ", ".join(t.kind for t in scenario.treatments) or "no treatment recorded yet"
    return PoamItem(
        uuid=ids("item", scenario.scenario_id),
        title=_line(scenario.title),
        description=(
            f"{scenario.subject}. Current level {scenario.current.level_name}; treatment: "
            f"{treated}."
        ),
        props=[_prop("scenario-id", str(scenario.scenario_id))],
        related_risks=[AssociatedRisk(risk_uuid=risk.uuid)],
    )


def build_poam(source: PoamInput) -> PlanOfActionAndMilestones:
    ids = _Ids(source)
    party = ids("organisation")
    risks = [_risk(scenario, party, ids) for scenario in source.scenarios]
    owner = _line(source.organisation_name)
    return PlanOfActionAndMilestones(
        # A new uuid per generation: each export is a revision of the plan.
        uuid=ids("document", source.generated_at.isoformat()),
        metadata=Metadata(
            title=f"Risk register of {owner}: plan of action and milestones",
            last_modified=source.generated_at,
            version=source.as_of.isoformat(),
            oscal_version=SCHEMA_OSCAL_VERSION,
            props=[
                _prop("organisation-id", str(source.organisation_id)),
                _prop("matrix-version", source.matrix_version),
                _prop("as-of", source.as_of.isoformat()),
            ],
            parties=[Parties(uuid=party, type="organization", name=owner)],
        ),
        risks=risks,
        poam_items=[
            _item(scenario, risk, ids)
            for scenario, risk in zip(source.scenarios, risks, strict=True)
        ],
    )


def poam_document(source: PoamInput) -> dict[str, Any]:
    """The OSCAL JSON document (a dict ready for json.dump); validate it before writing it."""
    plan = build_poam(source)
    return {
        "plan-of-action-and-milestones": plan.model_dump(
            mode="json", by_alias=True, exclude_none=True
        )
    }


def parse_poam(document: dict[str, Any]) -> PlanOfActionAndMilestones:
    """The document read back with trestle's models: the round trip an export must survive."""
    return PlanOfActionAndMilestones.model_validate(document["plan-of-action-and-milestones"])
