"""A force's or national body's risk register: scenarios with their live evidence, treatments
and actions, and the heatmap. The register's services decide everything (reach, locks, audit);
a scenario outside the caller's reach is a 404, told apart from no scenario by nothing."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from sqlalchemy.orm import Session

from frameworks.risk.policy import risk_policy
from partner_api.deps import Caller, Paging, Reading, Rt
from partner_api.models import Page
from partner_api.risk_models import (
    AcceptanceOut,
    ActionIn,
    ActionOut,
    ActionStatusIn,
    DeploymentIn,
    DeploymentOut,
    HeatmapCellOut,
    HeatmapOut,
    LevelOut,
    LinkedEvidenceOut,
    ScenarioIn,
    ScenarioOut,
    ScenarioSummaryOut,
    SuggestionOut,
    TreatmentIn,
    TreatmentOut,
)
from posture.identity.permissions import NotFound
from posture.portfolio.deployments import (
    DeploymentStanding,
    deployment_standings,
    put_deployment,
)
from posture.risk.acceptance_state import current_acceptance
from posture.risk.evidence import linked_evidence, suggest_from
from posture.risk.forms import read_form
from posture.risk.register_view import heatmap_counts, register_table
from posture.risk.scenarios import ScenarioForm, get_scenario, raise_scenario, scenarios_query
from posture.risk.treatments import (
    ActionForm,
    TreatmentForm,
    add_action,
    add_treatment,
    set_action_status,
    treatments_and_actions,
)
from posture.storage.engine import transaction
from posture.storage.models import Organisation, RiskScenario
from posture.storage.paging import page

router = APIRouter(prefix="/v1/risk", tags=["risk register"])
RecordPath = Annotated[int, Path(ge=1, le=2_147_483_647)]
FilterId = Annotated[int | None, Query(ge=1, le=2_147_483_647)]


def _level(likelihood: str, impact: str) -> LevelOut:
    level = risk_policy().matrix.level_of(likelihood, impact)
    return LevelOut(
        likelihood=likelihood,
        impact=impact,
        level=level.id,
        level_name=level.name,
        colour=level.colour,
    )


def _summary(scenario: RiskScenario) -> ScenarioSummaryOut:
    return ScenarioSummaryOut(
        id=scenario.id,
        organisation_id=scenario.organisation_id,
        subject_kind=scenario.subject_kind,
        product_id=scenario.product_id,
        supplier_id=scenario.supplier_id,
        title=scenario.title,
        threat=scenario.threat,
        status=scenario.status,
        matrix_version=scenario.matrix_version,
        current=_level(scenario.current_likelihood, scenario.current_impact),
        created_at=scenario.created_at,
    )


def _treatments(session: Session, scenario_id: int) -> list[TreatmentOut]:
    treatments, actions = treatments_and_actions(session, scenario_id)
    return [
        TreatmentOut(
            id=treatment.id,
            scenario_id=treatment.scenario_id,
            kind=treatment.kind,
            description=treatment.description,
            created_at=treatment.created_at,
            actions=[
                ActionOut.model_validate(a) for a in actions if a.treatment_id == treatment.id
            ],
        )
        for treatment in treatments
    ]


def scenario_out(session: Session, scenario: RiskScenario, rt: Rt) -> ScenarioOut:
    """The scenario as its owner reads it today: evidence read live, the suggestion it gives now
    and the acceptance that still counts."""
    today = rt.clock().date()
    linked = linked_evidence(session, scenario, today)
    suggestion = suggest_from([view.evidence for view in linked if view.evidence is not None])
    acceptance = current_acceptance(session, scenario.id, today)
    residual = (
        _level(scenario.residual_likelihood, scenario.residual_impact)
        if scenario.residual_likelihood and scenario.residual_impact
        else None
    )
    return ScenarioOut(
        **_summary(scenario).model_dump(),
        threat_text=scenario.threat_text,
        vulnerability_text=scenario.vulnerability_text,
        inherent=_level(scenario.inherent_likelihood, scenario.inherent_impact),
        residual=residual,
        suggestion=SuggestionOut(
            baseline=suggestion.baseline,
            likelihood=suggestion.likelihood,
            explanation=suggestion.explain(),
        ),
        differs_because=scenario.differs_because,
        evidence=[LinkedEvidenceOut.model_validate(view) for view in linked],
        treatments=_treatments(session, scenario.id),
        acceptance=AcceptanceOut.model_validate(acceptance) if acceptance is not None else None,
    )


@router.get(
    "/scenarios",
    operation_id="listRiskScenarios",
    summary="Risk scenarios the caller may read: a force its own, a national assessor all",
    response_model=Page[ScenarioSummaryOut],
)
def list_scenarios(
    me: Caller,
    session: Reading,
    paging: Paging,
    organisation_id: Annotated[FilterId, Query(description="Only this owner's scenarios.")] = None,
    product_id: Annotated[FilterId, Query(description="Only scenarios about this product.")] = None,
) -> Page[ScenarioSummaryOut]:
    query = scenarios_query(me, organisation_id=organisation_id, product_id=product_id)
    rows, total = page(session, query, paging.limit, paging.offset)
    return Page[ScenarioSummaryOut](
        items=[_summary(row) for row in rows],
        total=total,
        limit=paging.limit,
        offset=paging.offset,
    )


@router.get(
    "/scenarios/{scenario_id}",
    operation_id="getRiskScenario",
    summary="One scenario: levels, the suggestion and why, live evidence, treatments, acceptance",
    response_model=ScenarioOut,
)
def read_scenario(me: Caller, rt: Rt, session: Reading, scenario_id: RecordPath) -> ScenarioOut:
    return scenario_out(session, get_scenario(session, me, scenario_id), rt)


@router.post(
    "/scenarios",
    operation_id="createRiskScenario",
    summary="Raise a scenario in the caller's register, resting on current evidence",
    status_code=201,
    response_model=ScenarioOut,
)
def create_scenario(me: Caller, rt: Rt, body: ScenarioIn, response: Response) -> ScenarioOut:
    form = read_form(ScenarioForm, body.model_dump(mode="json"))
    with transaction(rt.sessions) as session:
        scenario = raise_scenario(session, me, form, rt.clock().date())
        created = scenario_out(session, scenario, rt)
    response.headers["Location"] = f"/v1/risk/scenarios/{created.id}"
    return created


@router.post(
    "/scenarios/{scenario_id}/treatments",
    operation_id="recordRiskTreatment",
    summary="Record how the owner treats a scenario: accept, mitigate, transfer or avoid",
    status_code=201,
    response_model=TreatmentOut,
)
def record_treatment(
    me: Caller, rt: Rt, scenario_id: RecordPath, body: TreatmentIn
) -> TreatmentOut:
    form = read_form(TreatmentForm, body.model_dump(mode="json"))
    with transaction(rt.sessions) as session:
        treatment = add_treatment(session, me, scenario_id, form)
        recorded = TreatmentOut(
            id=treatment.id,
            scenario_id=treatment.scenario_id,
            kind=treatment.kind,
            description=treatment.description,
            created_at=treatment.created_at,
            actions=[],
        )
    return recorded


@router.post(
    "/treatments/{treatment_id}/actions",
    operation_id="addRiskAction",
    summary="Add an action that carries out a treatment: who, by when, what it addresses",
    status_code=201,
    response_model=ActionOut,
)
def create_action(me: Caller, rt: Rt, treatment_id: RecordPath, body: ActionIn) -> ActionOut:
    data = body.model_dump(mode="json", exclude={"responsible"})
    form = read_form(ActionForm, {**data, "owner": body.responsible})
    with transaction(rt.sessions) as session:
        added = ActionOut.model_validate(add_action(session, me, treatment_id, form))
    return added


@router.post(
    "/actions/{action_id}/status",
    operation_id="setRiskActionStatus",
    summary="Move an action on: planned, in progress, done (done never goes back to planned)",
    response_model=ActionOut,
)
def move_action(me: Caller, rt: Rt, action_id: RecordPath, body: ActionStatusIn) -> ActionOut:
    with transaction(rt.sessions) as session:
        action = set_action_status(session, me, action_id, body.status, rt.clock().date())
        moved = ActionOut.model_validate(action)
    return moved


@router.get(
    "/organisations/{organisation_id}/heatmap",
    operation_id="getRiskHeatmap",
    summary="How many of an organisation's scenarios sit in each cell of the risk matrix",
    response_model=HeatmapOut,
)
def read_heatmap(me: Caller, rt: Rt, session: Reading, organisation_id: RecordPath) -> HeatmapOut:
    today = rt.clock().date()
    table = register_table(session, me, organisation_id, today)
    if session.get(Organisation, organisation_id) is None:
        # Checked after the reach check, so that a refusal says nothing about which ids exist.
        raise NotFound("organisation not found")
    cells = heatmap_counts(table)
    return HeatmapOut(
        organisation_id=organisation_id,
        as_of=today,
        cells=[HeatmapCellOut.model_validate(row) for row in cells.to_dict("records")],
    )


def _deployment_out(standing: DeploymentStanding) -> DeploymentOut:
    return DeploymentOut(
        product_id=standing.product_id,
        product=standing.product,
        use=standing.use,
        portfolio=standing.details,
        renewal_notice_on=standing.details.renewal_notice_on(),
        required_profile=standing.required.profile_id,
        because=standing.required.explain(),
        assessed_profile=standing.assessed_profile,
        assessment_status=standing.assessment_status,
        reached=standing.reached,
    )


@router.get(
    "/organisations/{organisation_id}/deployments",
    operation_id="listDeployments",
    summary="The products a force deploys, the profile each deployment needs and whether the "
    "product's assessment reaches it",
    response_model=list[DeploymentOut],
)
def list_deployments(
    me: Caller, session: Reading, organisation_id: RecordPath
) -> list[DeploymentOut]:
    return [_deployment_out(s) for s in deployment_standings(session, me, organisation_id)]


@router.put(
    "/organisations/{organisation_id}/deployments/{product_id}",
    operation_id="putDeployment",
    summary="Deploy a listed or accepted product, or replace what the force's use of it adds "
    "and its portfolio record",
    response_model=DeploymentOut,
)
def record_deployment(
    me: Caller,
    rt: Rt,
    organisation_id: RecordPath,
    product_id: RecordPath,
    body: DeploymentIn,
    response: Response,
) -> DeploymentOut:
    with transaction(rt.sessions) as session:
        _, created = put_deployment(
            session, me, organisation_id, product_id, body.use(), body.details()
        )
    if created:
        response.status_code = 201
    with rt.sessions() as session:
        standings = deployment_standings(session, me, organisation_id)
    standing = next((s for s in standings if s.product_id == product_id), None)
    if standing is None:
        # Ended by someone else between the write and this read.
        raise NotFound("deployment not found")
    return _deployment_out(standing)
