"""The risk register's request and response bodies. A request is refused with 422 for exactly what
its published schema says (bounds, enums, patterns), so a body the schema allows is never a 422;
what the register refuses beyond the schema (text that is blank once trimmed, rare unprintable
characters, another tenant's product, a closed scenario) is the services' 404 or 409, and nothing
is written either way."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, ConfigDict, Field

from frameworks.deployment_facts import ForceUse
from frameworks.risk.likelihood import EvidenceKind, EvidenceRef
from frameworks.risk.policy import risk_policy
from partner_api.models import Id, In, Out
from posture.plain_text import PLAIN_TEXT
from posture.portfolio.details import DeploymentRecord, PortfolioDetails
from posture.risk.scenarios import MAX_LINKS
from posture.risk.treatments import MAX_ADDRESSES
from posture.storage.models.enums import (
    ActionStatus,
    RiskStatus,
    RiskSubjectKind,
    TreatmentKind,
)


def _member(ids: list[str], what: str) -> Callable[[str], str]:
    allowed = frozenset(ids)

    def check(value: str) -> str:
        # The value is not echoed: a refusal never repeats what the client sent.
        if value not in allowed:
            raise ValueError(f"not {what}; see the enum")
        return value

    return check


# The policy's ids, published as enums so that clients see the vocabulary.
_POLICY = risk_policy()
_LIKELIHOODS = _POLICY.matrix.likelihood_ids()
_IMPACTS = [level.id for level in _POLICY.matrix.impact_levels]
_THREATS = [threat.id for threat in _POLICY.threats.threats]
LikelihoodId = Annotated[
    str,
    Field(min_length=1, max_length=64, json_schema_extra={"enum": _LIKELIHOODS}),
    AfterValidator(_member(_LIKELIHOODS, "a likelihood of the risk matrix")),
]
ImpactId = Annotated[
    str,
    Field(min_length=1, max_length=64, json_schema_extra={"enum": _IMPACTS}),
    AfterValidator(_member(_IMPACTS, "an impact of the risk matrix")),
]
ThreatCode = Annotated[
    str,
    Field(min_length=1, max_length=64, json_schema_extra={"enum": _THREATS}),
    AfterValidator(_member(_THREATS, "a threat of the risk policy")),
]


Title = Annotated[str, Field(min_length=3, max_length=200, pattern=PLAIN_TEXT)]
Name = Annotated[str, Field(min_length=2, max_length=200, pattern=PLAIN_TEXT)]
LongText = Annotated[str, Field(min_length=1, max_length=4000, pattern=PLAIN_TEXT)]
Description = Annotated[str, Field(min_length=10, max_length=4000, pattern=PLAIN_TEXT)]
Because = Annotated[str, Field(min_length=10, max_length=4000, pattern=PLAIN_TEXT)]


class EvidenceRefIn(In):
    kind: EvidenceKind
    ref: Annotated[EvidenceRef, Field(max_length=160)] = Field(
        description="`outcome:<urn>`, `finding:<id>` or `alert:<id>`, as current evidence "
        "about the subject product."
    )


class ScenarioIn(In):
    organisation_id: Id = Field(description="The owner: the caller's force or national body.")
    subject_kind: RiskSubjectKind
    product_id: Id | None = None
    supplier_id: Id | None = None
    title: Title
    threat: ThreatCode
    threat_text: LongText
    vulnerability_text: LongText
    inherent_likelihood: LikelihoodId
    inherent_impact: ImpactId
    current_impact: ImpactId
    current_likelihood: LikelihoodId | None = Field(
        default=None, description="Left out: the platform's suggestion from the evidence."
    )
    differs_because: Because | None = Field(
        default=None, description="Why the current likelihood differs from the suggestion."
    )
    evidence: list[EvidenceRefIn] = Field(default_factory=list, max_length=MAX_LINKS)


class TreatmentIn(In):
    kind: TreatmentKind
    description: Description


class ActionIn(In):
    title: Title
    # Not `owner`: in a request that word reads as the record's owning account, which the
    # server decides; this is the person who carries the action out.
    responsible: Name = Field(description="Who carries the action out.")
    due_on: date
    addresses: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        default_factory=list,
        max_length=MAX_ADDRESSES,
        description="Outcome ids of the default framework or finding codes the action addresses.",
    )


class ActionStatusIn(In):
    status: ActionStatus


class LevelOut(Out):
    likelihood: str
    impact: str
    level: str
    level_name: str
    colour: str


class SuggestionOut(Out):
    baseline: str
    likelihood: str
    explanation: str


class LinkedEvidenceOut(Out):
    link_id: int
    kind: str
    ref: str
    state: Literal["current", "resolved"]
    label: str


class ActionOut(Out):
    id: int
    treatment_id: int
    title: str
    responsible: str = Field(validation_alias="owner")
    due_on: date
    status: ActionStatus
    addresses: list[str]
    done_at: datetime | None


class TreatmentOut(Out):
    id: int
    scenario_id: int
    kind: TreatmentKind
    description: str
    created_at: datetime
    actions: list[ActionOut]


class AcceptanceOut(Out):
    # It names who accepted and why: closed, so nothing added to the row later leaks out.
    model_config = ConfigDict(from_attributes=True, extra="forbid")

    id: int
    approver_role: str
    residual_level: str
    rationale: str
    conditions: str
    accepted_at: datetime
    expires_on: date


class ScenarioSummaryOut(Out):
    id: int
    organisation_id: int
    subject_kind: RiskSubjectKind
    product_id: int | None
    supplier_id: int | None
    title: str
    threat: str
    status: RiskStatus
    matrix_version: str
    current: LevelOut
    created_at: datetime


class ScenarioOut(ScenarioSummaryOut):
    threat_text: str
    vulnerability_text: str
    inherent: LevelOut
    residual: LevelOut | None
    suggestion: SuggestionOut
    differs_because: str | None
    evidence: list[LinkedEvidenceOut]
    treatments: list[TreatmentOut]
    acceptance: AcceptanceOut | None = Field(description="The acceptance that counts today.")


class HeatmapCellOut(Out):
    likelihood: str
    impact: str
    level: str
    level_name: str
    colour: str
    count: int = Field(ge=0)


class HeatmapOut(Out):
    organisation_id: int
    as_of: date
    cells: list[HeatmapCellOut]


class DeploymentIn(DeploymentRecord):
    """A deployment, whole: what the force's use of the product adds to its facts and its
    portfolio record, the same models the register page uses, so the API refuses exactly what
    the page refuses, as a schema error. A field left out is undeclared (PUT replaces)."""


class DeploymentOut(Out):
    product_id: int
    product: str
    use: ForceUse
    portfolio: PortfolioDetails
    renewal_notice_on: date | None = Field(
        description="The last day to give notice of renewal or exit: the contract's end less "
        "its notice period."
    )
    required_profile: str = Field(description="The profile this deployment needs.")
    because: str = Field(description="Why: the facts of the product and of the force's use.")
    assessed_profile: str | None = Field(
        description="The profile the product's newest submitted or accepted assessment under "
        "the current framework was made against; null when none."
    )
    assessment_status: str | None
    reached: bool = Field(
        description="Whether that assessment was made against the required profile or a "
        "stricter one."
    )
