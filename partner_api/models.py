"""The API's request and response bodies. Requests are strict (unknown fields refused, every
string and list bounded) so that the published schema says exactly what the server accepts."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from fastapi import UploadFile
from pydantic import AliasChoices, BaseModel, BeforeValidator, ConfigDict, Field, computed_field
from pydantic.json_schema import SkipJsonSchema

from checks.catalogue import CatalogueKind, InputKind
from frameworks.finding_links import linked_outcome_urns
from frameworks.library import shipped_library
from frameworks.urns import finding_urn
from posture.scoring.bands import PostureBand
from supplier_portal.check_results import CheckState
from supplier_portal.product_fields import ProductFields
from supplier_portal.profile_raises import RaiseForm
from supplier_portal.vocabulary import (
    DataLocation,
    DeploymentModel,
    NationalSystem,
    PoliceNetwork,
    ProductCategory,
    SecurityClassification,
    VettingLevel,
)

Item = TypeVar("Item")
# The schema of a document another standard defines (SARIF, CycloneDX, OSCAL), served as is.
OBJECT_SCHEMA: dict[str, Any] = {"type": "object", "additionalProperties": True}


def _not_text(value: Any) -> Any:
    if isinstance(value, str | bool):
        raise ValueError("must be a JSON number")
    return value


# Request fields as JSON types them: "1" is not 1 (though 1.0 is). The product's own field types
# (names, labels, flags, days) are defined once with its fields in supplier_portal.product_fields.
Id = Annotated[int, Field(ge=1, le=2_147_483_647), BeforeValidator(_not_text)]


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Page(Out, Generic[Item]):
    items: list[Item]
    total: int = Field(ge=0)
    limit: int = Field(ge=1)
    offset: int = Field(ge=0)


class OutcomeOut(Out):
    id: str
    urn: str
    title: str
    critical: bool
    weight: int


class PrincipleOut(Out):
    id: str
    urn: str
    title: str
    outcomes: list[OutcomeOut]


class ObjectiveOut(Out):
    id: str
    urn: str
    title: str
    principles: list[PrincipleOut]


class ProfileOut(Out):
    id: str
    urn: str
    title: str
    subject: str


class FrameworkOut(Out):
    framework_id: str
    version: str
    catalogue_id: str = Field(description="The id crosswalks and assessments name it by.")
    urn: str
    title: str
    publisher: str
    released: date
    objectives: list[ObjectiveOut]
    profiles: list[ProfileOut] = Field(description="Target profiles an assessment can name.")


class ListingOut(Out):
    application_id: int
    lot_id: int
    lot: str
    framework: str
    product_id: int
    product: str
    supplier: str
    listed_since: datetime | None


class OrganisationOut(Out):
    id: int
    slug: str
    name: str
    kind: str
    description: str = ""
    website: str | None = None
    security_contact: str | None = None


class ProductOut(Out):
    id: int
    organisation_id: int
    name: str
    version: str | None = None
    category: ProductCategory
    deployment_model: DeploymentModel
    description: str
    data_locations: list[DataLocation]
    max_classification: SecurityClassification | None
    sensitive_caveat: bool = False
    police_networks: list[PoliceNetwork] = Field(default_factory=list)
    national_systems: list[NationalSystem] = Field(default_factory=list)
    vetting: VettingLevel | None = None
    forces_served: int | None = None
    records_held: int | None = None
    api_available: bool
    created_at: datetime
    # Read from the stored `deleted_at`: a withdrawn product is kept, never deleted.
    withdrawn_at: datetime | None = Field(
        default=None, validation_alias=AliasChoices("withdrawn_at", "deleted_at")
    )


class TargetProfileOut(Out):
    """The profile a product must be assessed against under one framework, and why. Derived from
    the product's facts; an assessor may have raised it (never lowered)."""

    product_id: int
    framework: str = Field(description="Catalogue id of the framework version, e.g. ptsbd-1.0.")
    profile_id: str
    derived_profile_id: str = Field(description="What the product's facts alone require.")
    because: str = Field(description="The derivation in words, from the facts that decided it.")
    raised_reason: str | None = Field(
        None, description="The assessor's reason, when raised above the derived profile."
    )


class ProfileRaiseIn(RaiseForm):
    """An assessor's raise: the portal's form is the same model, so the API refuses exactly
    what the page refuses, as a schema error."""


class ProductIn(ProductFields):
    """A product to register: the product's one field set (the portal's form is the same model),
    and the supplier organisation it belongs to."""

    organisation_id: Id

    def product_fields(self) -> ProductFields:
        return ProductFields.model_validate(self.model_dump(exclude={"organisation_id"}))


class AnswerOut(Out):
    outcome_id: str = Field(description="The outcome's label in its framework.")
    outcome_urn: str
    indicators_met: list[str]
    provenance: str
    review_status: str | None = None
    inferred: str | None = Field(
        None,
        description="Set while the answer is only inferred from another framework's answers: "
        "what it was inferred from. It counts only once confirmed.",
    )


class AssessmentOut(Out):
    id: int
    organisation_id: int
    product_id: int | None
    framework: str = Field(description="Catalogue id of the framework version, e.g. ptsbd-1.0.")
    framework_urn: str
    profile_id: str
    status: str
    version: int
    created_at: datetime
    submitted_at: datetime | None


class AssessmentDetail(AssessmentOut):
    answers: list[AnswerOut]


class FileUpload(In):
    """multipart/form-data with one file part; unknown parts are refused."""

    file: UploadFile


# The kinds of check each way of starting one takes, as the check catalogue says when the
# document is built (a check of a file published at a URL takes an upload here too).
FileCheckKind = Annotated[str, CatalogueKind((InputKind.FILE, InputKind.FILE_OR_URL))]
EndpointCheckKind = Annotated[str, CatalogueKind((InputKind.ENDPOINT,))]


class ArtefactCheckUpload(In):
    """A check of a file: `kind` names the check that reads it."""

    kind: FileCheckKind
    file: UploadFile


class EvidenceUpload(In):
    """A document as evidence: one file part, and the day it stops holding when it has one."""

    file: UploadFile
    # Left out when there is none: a form part has no null (its "null" would be text).
    expires_on: date | SkipJsonSchema[None] = Field(
        default=None,
        description="The last day the document holds (today or later, within ten years); the "
        "supplier is reminded 30, 7 and 1 days before.",
    )


class EvidenceOut(Out):
    id: int
    assessment_id: int | None
    filename: str
    media_type: str
    size_bytes: int
    sha256: str
    created_at: datetime
    expires_on: date | None


HostPort = Annotated[
    str, Field(min_length=3, max_length=300, pattern=r"^[A-Za-z0-9.-]{1,253}:[0-9]{1,5}$")
]


class EndpointCheckIn(In):
    """A check of a live endpoint at host:port: `kind` names the check that probes it."""

    kind: EndpointCheckKind
    target: HostPort


class JobOut(Out):
    id: int
    status: str
    # The job's status says whether the worker ran the check; `outcome` says what the check
    # found, in the words the app shows (supplier_portal.check_results.check_status).
    outcome: str = Field(
        description=(
            "The check's one status in words: Queued, Running, Passed, Failed (with the "
            "findings that fail it, or because it could not assess its target), Could not run "
            "(with the reason) or Cancelled."
        )
    )
    state: CheckState = Field(
        description="The same status for programs: what `outcome` says, without the details."
    )
    progress: float
    message: str
    error: str | None
    check_run_id: int | None
    created_at: datetime
    finished_at: datetime | None


class FindingOut(Out):
    code: str
    severity: str
    title: str
    outcome_ids: list[str] = Field(description="Labels of the PTSbD outcomes it bears on.")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def urn(self) -> str:
        return finding_urn(self.code)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def outcome_urns(self) -> list[str]:
        """The outcomes it bears on in every shipped framework version its links name."""
        tables = [loaded.finding_links for loaded in shipped_library().frameworks.values()]
        return linked_outcome_urns(self.code, tables)


class CheckRunOut(Out):
    id: int
    product_id: int | None
    kind: str
    target: str
    status: str
    score: float | None
    created_at: datetime
    finished_at: datetime | None


class CheckRunDetail(CheckRunOut):
    findings: list[FindingOut]
    report: dict[str, Any] | None


class ScoreOut(Out):
    """`unscored` until the product has a submitted assessment; `reason` says why."""

    product_id: int
    as_of: date
    status: Literal["scored", "unscored"]
    reason: str | None = None
    score: float | None = None
    confidence: float | None = None
    band: PostureBand | None = None
    capped: bool = False
    gaps: int = 0
    contradicted: int = 0


class ReviewItemOut(Out):
    answer_id: int
    assessment_id: int
    subject: str
    outcome_id: str
    claimed: str
    contradicted: bool
    submitted_at: str


class ShortlistRowOut(Out):
    rank: int
    product: str
    total: float
    passes_gates: bool
    why: str
