"""An accepted assessment as an OSCAL assessment-results document, built with trestle's models.

The input is a plain model of what was decided (posture/assessment_export.py gathers it from the
database), so this module reads nothing and writes nothing. One OSCAL result holds the whole
assessment: every outcome in the profile's scope is a reviewed control, has one finding whose
target is the outcome as an objective (satisfied or not), and its evidence is observations: the
supplier's answer as the assessor accepted it, and each finding of the subject's latest automated
checks that bears on it. What OSCAL has no field for (the claimed level, the rule that gave it,
indicators, provenance, review status) is carried in props under this project's namespace, with
this project's URNs (frameworks/urns.py) naming framework, outcomes, indicators and findings.
"""

from __future__ import annotations

import re
import uuid
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from trestle.oscal.assessment_results import AssessmentResults, ImportAp, LocalDefinitions1, Result
from trestle.oscal.common import (
    BackMatter,
    ControlSelections,
    DocumentId,
    Finding,
    FindingTarget,
    Metadata,
    ObjectiveStatus,
    Observation,
    Parties,
    Property,
    RelatedObservation,
    Resource,
    ReviewedControls,
    SelectControlById,
    Status,
    SubjectReference,
    SystemComponent,
)

from frameworks.oscal.export import NAMESPACE
from frameworks.oscal.validation import SCHEMA_OSCAL_VERSION
from frameworks.urns import (
    UrnKind,
    element_urn,
    finding_urn,
    framework_urn,
    outcome_urn,
    version_key,
)
from kernel.ids import name_based_uuid

# Not the catalog export's namespace: a results document's uuids must never equal a catalog's.
RESULTS_UUID_NAMESPACE = uuid.UUID("5d8c3a44-2f61-4f0e-8b3e-93c1d7a0e6f2")

Level = Literal["not achieved", "partially achieved", "achieved", "not applicable"]
# OSCAL judges an objective satisfied or not; the reason says how plainly. Partially achieved is
# not satisfied (the outcome's target is its own achieved level), but it is no plain fail either;
# a justified not-applicable was accepted by the assessor, so nothing about it is unmet.
OBJECTIVE_STATE: dict[str, tuple[str, str]] = {
    "achieved": ("satisfied", "pass"),
    "not applicable": ("satisfied", "other"),
    "partially achieved": ("not-satisfied", "other"),
    "not achieved": ("not-satisfied", "fail"),
}


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CheckFindingEvidence(_Input):
    """One finding of the subject's latest run of a kind of check, linked to the outcome."""

    code: str = Field(min_length=1, max_length=64)
    severity: str = Field(min_length=1, max_length=32)
    title: str = Field(min_length=1, max_length=300)
    check_kind: str = Field(min_length=1, max_length=32)
    check_run_id: int
    observed_at: AwareDatetime


class OutcomeResult(_Input):
    outcome_id: str = Field(min_length=1, max_length=64)
    label: str = Field(min_length=1)
    level: Level
    rule: str = Field(min_length=1)
    indicators_met: list[str] = Field(default_factory=list)
    # None for an outcome in scope that was never answered (it counts as not achieved).
    provenance: str | None = None
    review_status: str | None = None
    answered_at: AwareDatetime | None = None
    checks: list[CheckFindingEvidence] = Field(default_factory=list)


class AssessmentResultsInput(_Input):
    assessment_id: int
    assessment_version: int
    organisation_name: str = Field(min_length=1)
    product_name: str | None = None
    framework_id: str
    framework_version: str
    framework_title: str
    content_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    profile_id: str
    profile_title: str
    submitted_at: AwareDatetime
    accepted_at: AwareDatetime
    outcomes: list[OutcomeResult] = Field(min_length=1)

    @property
    def framework_key(self) -> str:
        return version_key(self.framework_id, self.framework_version)


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def _line(text: str) -> str:
    """A name as OSCAL's one-line text takes it: no control or direction characters (which
    would let a name print as something else), no leading or trailing space, on one line."""
    return " ".join(_CONTROL.sub(" ", text).split()) or "(unnamed)"


def _prop(name: str, value: str) -> Property:
    return Property(name=name, value=value, ns=NAMESPACE)


class _Ids:
    """Stable uuids: the same accepted assessment exports the same document every time."""

    def __init__(self, source: AssessmentResultsInput) -> None:
        self.scope = f"assessment-results:{source.assessment_id}:{source.accepted_at.isoformat()}"

    def __call__(self, *parts: object) -> str:
        return name_based_uuid(RESULTS_UUID_NAMESPACE, ":".join([self.scope, *map(str, parts)]))


def _framework_resource(source: AssessmentResultsInput, ids: _Ids) -> Resource:
    return Resource(
        uuid=ids("framework"),
        title=f"{source.framework_title} {source.framework_version}",
        description=(
            f"The framework version this assessment was made and reviewed against, with the "
            f"target profile {source.profile_id} ({source.profile_title}) choosing the outcomes "
            "in scope. Its OSCAL catalog is what `assure framework export-oscal` writes."
        ),
        props=[
            _prop("framework-urn", framework_urn(source.framework_id, source.framework_version)),
            _prop("framework-id", source.framework_id),
            _prop("framework-version", source.framework_version),
            _prop(
                "profile-urn",
                element_urn(
                    UrnKind.PROFILE,
                    source.framework_id,
                    source.framework_version,
                    source.profile_id,
                ),
            ),
            _prop("content-sha256", source.content_sha256),
        ],
        document_ids=[
            DocumentId(
                scheme=NAMESPACE + "/framework-urn",
                identifier=framework_urn(source.framework_id, source.framework_version),
            )
        ],
    )


def _subject(source: AssessmentResultsInput, ids: _Ids) -> SubjectReference:
    if source.product_name is None:
        return SubjectReference(subject_uuid=ids("organisation"), type="party")
    return SubjectReference(subject_uuid=ids("product"), type="component")


def _product_component(source: AssessmentResultsInput, ids: _Ids) -> SystemComponent:
    return SystemComponent(
        uuid=ids("product"),
        type="software",
        title=_line(source.product_name or ""),
        description=f"A product of {_line(source.organisation_name)}, the subject of this "
        "assessment.",
        status=Status(state="operational"),
    )


def _answer_observation(
    source: AssessmentResultsInput, outcome: OutcomeResult, ids: _Ids
) -> Observation | None:
    if outcome.answered_at is None:
        return None
    props = [
        _prop("outcome-urn", _outcome_urn(source, outcome.outcome_id)),
        *(
            _prop(
                "indicator-met",
                element_urn(
                    UrnKind.INDICATOR, source.framework_id, source.framework_version, indicator
                ),
            )
            for indicator in outcome.indicators_met
        ),
    ]
    if outcome.provenance:
        props.append(_prop("provenance", outcome.provenance))
    if outcome.review_status:
        props.append(_prop("review-status", outcome.review_status))
    met = ", ".join(outcome.indicators_met) or "none"
    return Observation(
        uuid=ids("answer", outcome.outcome_id),
        title=f"Answer to {outcome.outcome_id}",
        description=(
            f"The supplier's answer to {outcome.outcome_id} ({outcome.label}), "
            f"{outcome.review_status or 'not reviewed'} by an assessor. Indicators that hold: "
            f"{met}."
        ),
        props=props,
        # The assessor examined the answer and what it cites; nothing was tested.
        methods=["EXAMINE"],
        types=["control-objective"],
        subjects=[_subject(source, ids)],
        collected=outcome.answered_at,
    )


def _check_observation(
    source: AssessmentResultsInput, outcome: OutcomeResult, check: CheckFindingEvidence, ids: _Ids
) -> Observation:
    return Observation(
        uuid=ids("check", check.check_run_id, check.code, outcome.outcome_id),
        title=_line(check.title),
        description=(
            f"Automated {check.check_kind} check run {check.check_run_id} raised {check.code} "
            f"({check.severity}): {check.title}"
        ),
        props=[
            _prop("finding-urn", finding_urn(check.code)),
            _prop("severity", check.severity),
            _prop("check-kind", check.check_kind),
            _prop("check-run-id", str(check.check_run_id)),
            _prop("outcome-urn", _outcome_urn(source, outcome.outcome_id)),
        ],
        methods=["TEST"],
        types=["finding"],
        subjects=[_subject(source, ids)],
        collected=check.observed_at,
    )


def _outcome_urn(source: AssessmentResultsInput, outcome_id: str) -> str:
    return outcome_urn(source.framework_id, source.framework_version, outcome_id)


def _finding(
    source: AssessmentResultsInput,
    outcome: OutcomeResult,
    observations: list[Observation],
    ids: _Ids,
) -> Finding:
    state, reason = OBJECTIVE_STATE[outcome.level]
    props = [
        _prop("outcome-urn", _outcome_urn(source, outcome.outcome_id)),
        _prop("claimed-level", outcome.level),
        _prop("provenance", outcome.provenance or "none"),
        _prop("review-status", outcome.review_status or "none"),
    ]
    return Finding(
        uuid=ids("finding", outcome.outcome_id),
        title=f"{outcome.outcome_id}: {outcome.level}",
        description=f"{outcome.label}. Claimed level {outcome.level}, because {outcome.rule}.",
        props=props,
        target=FindingTarget(
            type="objective-id",
            target_id=outcome.outcome_id,
            title=_line(outcome.label),
            status=ObjectiveStatus(state=state, reason=reason, remarks=outcome.rule),
        ),
        related_observations=[RelatedObservation(observation_uuid=o.uuid) for o in observations]
        or None,
    )


def _result(source: AssessmentResultsInput, ids: _Ids) -> Result:
    observations: list[Observation] = []
    findings: list[Finding] = []
    for outcome in source.outcomes:
        answer = _answer_observation(source, outcome, ids)
        own = ([answer] if answer else []) + [
            _check_observation(source, outcome, check, ids) for check in outcome.checks
        ]
        observations.extend(own)
        findings.append(_finding(source, outcome, own, ids))
    subject = _line(source.product_name or source.organisation_name)
    return Result(
        uuid=ids("result"),
        title=f"Assessment {source.assessment_id} version {source.assessment_version}: {subject}",
        description=(
            f"{subject} assessed against {source.framework_title} {source.framework_version} "
            f"under the {source.profile_id} profile; submitted {source.submitted_at.isoformat()} "
            f"and accepted by an assessor {source.accepted_at.isoformat()}."
        ),
        start=source.submitted_at,
        end=source.accepted_at,
        props=[
            _prop("assessment-id", str(source.assessment_id)),
            _prop("profile", source.profile_id),
        ],
        local_definitions=LocalDefinitions1(components=[_product_component(source, ids)])
        if source.product_name is not None
        else None,
        reviewed_controls=ReviewedControls(
            control_selections=[
                ControlSelections(
                    include_controls=[
                        SelectControlById(control_id=outcome.outcome_id)
                        for outcome in source.outcomes
                    ]
                )
            ]
        ),
        observations=observations or None,
        findings=findings,
    )


def build_assessment_results(source: AssessmentResultsInput) -> AssessmentResults:
    ids = _Ids(source)
    resource = _framework_resource(source, ids)
    subject = _line(source.product_name or source.organisation_name)
    metadata = Metadata(
        title=f"Accepted assessment of {subject} against {source.framework_title} "
        f"{source.framework_version}",
        last_modified=source.accepted_at,
        version=str(source.assessment_version),
        oscal_version=SCHEMA_OSCAL_VERSION,
        props=[
            _prop("framework-urn", framework_urn(source.framework_id, source.framework_version)),
            _prop("framework-key", source.framework_key),
            _prop("assessment-id", str(source.assessment_id)),
        ],
        parties=[
            Parties(
                uuid=ids("organisation"), type="organization", name=_line(source.organisation_name)
            )
        ],
    )
    return AssessmentResults(
        uuid=ids("document"),
        metadata=metadata,
        # OSCAL requires every results document to import an assessment plan. This project has
        # none: what was to be assessed is the framework version and the target profile, fixed
        # when the assessment started. So the reference is to a back-matter resource naming them
        # (an internal '#uuid' href, which OSCAL allows), not to a plan file that does not exist.
        import_ap=ImportAp(href=f"#{resource.uuid}"),
        results=[_result(source, ids)],
        back_matter=BackMatter(resources=[resource]),
    )


def assessment_results_document(source: AssessmentResultsInput) -> dict[str, Any]:
    """The OSCAL JSON document (a dict ready for json.dump); validate it before writing it."""
    results = build_assessment_results(source)
    return {"assessment-results": results.model_dump(mode="json", by_alias=True, exclude_none=True)}
