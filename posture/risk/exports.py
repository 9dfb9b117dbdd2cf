"""One organisation's risk register out of the platform: a spreadsheet (CSV or XLSX) with one
row per scenario, and an OSCAL plan of action and milestones of its treatments. The spreadsheets
go through posture.exports, which neutralises cells a spreadsheet would run as formulas; the
POA&M is built by frameworks.oscal.poam, then read back with trestle's models and checked
against NIST's schema before anyone gets it."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date
from typing import TYPE_CHECKING, Any

import pandas as pd
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from frameworks.risk.policy import risk_policy
from kernel.clock import utcnow
from kernel.errors import ValidationFailed
from posture.exports import to_csv, to_xlsx
from posture.identity.permissions import NotFound, Principal
from posture.risk.register_view import register_table
from posture.storage.models import Organisation
from posture.storage.models.enums import ActionStatus, OrgKind
from posture.storage.models.risk import RiskAction, RiskScenario, RiskTreatment

if TYPE_CHECKING:
    # OSCAL support (compliance-trestle and the schema) takes seconds to import: a spreadsheet
    # export does without it, and the POA&M export imports it when asked for.
    from frameworks.oscal.poam import PoamInput, PoamLevel

EXPORT_COLUMNS = (
    "id",
    "organisation",
    "title",
    "subject",
    "threat",
    "status",
    "inherent_level",
    "current_likelihood",
    "current_impact",
    "current_level",
    "residual_level",
    "suggested_likelihood",
    "treatment",
    "actions",
    "accepted_until",
    "within_appetite",
)
SHEET = "Risk register"
REGISTER_KEEPERS = (OrgKind.FORCE, OrgKind.NATIONAL_BODY)


class PoamInvalid(ValidationFailed):
    """The POA&M built does not validate; nothing is handed out."""


def _register(
    session: Session, principal: Principal, organisation_id: int, as_of: date
) -> tuple[Organisation, pd.DataFrame]:
    """The organisation and its register table, once the principal may read it; an
    organisation that does not exist is not found, not an empty register."""
    table = register_table(session, principal, organisation_id, as_of)
    owner = session.get(Organisation, organisation_id)
    if owner is None:
        raise NotFound("organisation not found")
    if owner.kind not in REGISTER_KEEPERS:
        raise ValidationFailed(
            f"organisation: {owner.name} is a {owner.kind.value.replace('_', ' ')}; only a force "
            "or a national body keeps a risk register"
        )
    return owner, table


def _scenarios(session: Session, organisation_id: int) -> list[RiskScenario]:
    return list(
        session.scalars(
            select(RiskScenario)
            .where(RiskScenario.organisation_id == organisation_id)
            .order_by(RiskScenario.id)
        )
    )


def _treatments(
    session: Session, scenario_ids: list[int]
) -> tuple[dict[int, list[RiskTreatment]], dict[int, list[RiskAction]]]:
    """Each scenario's treatments and each treatment's actions, in the order recorded."""
    treatments: dict[int, list[RiskTreatment]] = defaultdict(list)
    actions: dict[int, list[RiskAction]] = defaultdict(list)
    if not scenario_ids:
        return treatments, actions
    rows = session.scalars(
        select(RiskTreatment)
        .where(RiskTreatment.scenario_id.in_(scenario_ids))
        .order_by(RiskTreatment.id)
    )
    for treatment in rows:
        treatments[treatment.scenario_id].append(treatment)
    treatment_ids = [t.id for ts in treatments.values() for t in ts]
    for action in session.scalars(
        select(RiskAction).where(RiskAction.treatment_id.in_(treatment_ids)).order_by(RiskAction.id)
    ):
        actions[action.treatment_id].append(action)
    return treatments, actions


def actions_summary(actions: list[RiskAction], as_of: date) -> str:
    """One cell: how many actions, how far they are, the next due day and how many are late."""
    if not actions:
        return "none"
    by_status = {status: 0 for status in ActionStatus}
    for action in actions:
        by_status[action.status] += 1
    parts = ", ".join(
        f"{count} {status.value.replace('_', ' ')}" for status, count in by_status.items() if count
    )
    open_due = sorted(a.due_on for a in actions if a.status is not ActionStatus.DONE)
    summary = f"{len(actions)} action(s): {parts}"
    if open_due:
        summary += f"; next due {open_due[0].isoformat()}"
        late = sum(1 for due in open_due if due < as_of)
        if late:
            summary += f"; {late} overdue"
    return summary


def register_frame(
    session: Session, principal: Principal, organisation_id: int, as_of: date
) -> pd.DataFrame:
    """The register as the exports show it: the register table with each scenario's treatment
    and a summary of its actions."""
    _, table = _register(session, principal, organisation_id, as_of)
    treatments, actions = _treatments(session, [int(i) for i in table["id"]])
    treatment_cells, action_cells = [], []
    for scenario_id in table["id"]:
        own = treatments.get(int(scenario_id), [])
        treatment_cells.append("; ".join(t.kind.value for t in own) or "none")
        action_cells.append(actions_summary([a for t in own for a in actions.get(t.id, [])], as_of))
    frame = table.assign(treatment=treatment_cells, actions=action_cells)
    return frame[list(EXPORT_COLUMNS)]


def register_csv(session: Session, principal: Principal, organisation_id: int, as_of: date) -> str:
    return to_csv(register_frame(session, principal, organisation_id, as_of))


def register_xlsx(
    session: Session, principal: Principal, organisation_id: int, as_of: date
) -> bytes:
    return to_xlsx(register_frame(session, principal, organisation_id, as_of), SHEET)


def _level(likelihood: str, impact: str) -> PoamLevel:
    from frameworks.oscal.poam import PoamLevel

    level = risk_policy().matrix.level_of(likelihood, impact)
    return PoamLevel(likelihood=likelihood, impact=impact, level=level.id, level_name=level.name)


def _poam_input(
    session: Session, principal: Principal, organisation_id: int, as_of: date
) -> PoamInput:
    from frameworks.oscal.poam import PoamAction, PoamInput, PoamScenario, PoamTreatment

    owner, table = _register(session, principal, organisation_id, as_of)
    scenarios = _scenarios(session, organisation_id)
    if not scenarios:
        raise ValidationFailed(
            "organisation: the register has no scenarios; a plan of action and milestones "
            "needs at least one"
        )
    rows = {int(row["id"]): row for row in table.to_dict("records")}
    treatments, actions = _treatments(session, [s.id for s in scenarios])
    policy = risk_policy()
    return PoamInput(
        organisation_id=owner.id,
        organisation_name=owner.name,
        matrix_version=policy.version,
        as_of=as_of,
        generated_at=utcnow(),
        scenarios=[
            PoamScenario(
                scenario_id=s.id,
                title=s.title,
                subject=rows[s.id]["subject"],
                threat_id=s.threat,
                threat_name=policy.threats.threat(s.threat).name,
                threat_text=s.threat_text,
                vulnerability_text=s.vulnerability_text,
                status=s.status.value,
                inherent=_level(s.inherent_likelihood, s.inherent_impact),
                current=_level(s.current_likelihood, s.current_impact),
                residual=(
                    _level(s.residual_likelihood, s.residual_impact)
                    if s.residual_likelihood and s.residual_impact
                    else None
                ),
                accepted_until=_day(rows[s.id]["accepted_until"]),
                within_appetite=bool(rows[s.id]["within_appetite"]),
                treatments=[
                    PoamTreatment(
                        treatment_id=t.id,
                        kind=t.kind.value,
                        description=t.description,
                        actions=[
                            PoamAction(
                                action_id=a.id,
                                title=a.title,
                                responsible=a.owner,
                                due_on=a.due_on,
                                status=a.status.value,
                                addresses=list(a.addresses or []),
                            )
                            for a in actions.get(t.id, [])
                        ],
                    )
                    for t in treatments.get(s.id, [])
                ],
            )
            for s in scenarios
        ],
    )


def _day(value: Any) -> date | None:
    # The table's column holds None for no acceptance; pandas may show that as NaN or NaT.
    return value if isinstance(value, date) else None


def register_poam(
    session: Session, principal: Principal, organisation_id: int, as_of: date
) -> dict[str, Any]:
    """The register as a validated OSCAL plan of action and milestones (a JSON-ready dict)."""
    from frameworks.oscal.poam import parse_poam, poam_document
    from frameworks.oscal.validation import oscal_schema_errors

    source = _poam_input(session, principal, organisation_id, as_of)
    try:
        document = poam_document(source)
        parse_poam(document)
    except ValidationError as exc:
        raise PoamInvalid(f"the register cannot be exported as OSCAL: {exc}") from exc
    problems = oscal_schema_errors(document)
    if problems:
        raise PoamInvalid("the OSCAL POA&M does not validate: " + "; ".join(problems))
    return document


def register_poam_json(
    session: Session, principal: Principal, organisation_id: int, as_of: date
) -> bytes:
    """`register_poam` as the file handed out (UTF-8 JSON, indented)."""
    document = register_poam(session, principal, organisation_id, as_of)
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
