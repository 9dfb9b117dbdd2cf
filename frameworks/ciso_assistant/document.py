"""The part of CISO Assistant's library format this project reads and writes, as pydantic models.

Strict where a mistake would change meaning: a requirement node, framework or mapping with a key
CISO Assistant's loader does not read is refused (a typo or a different format, not something to
guess at), as is an object kind outside the loader's list. Library metadata we do not use is
passed over. URNs are compared lower-cased, as CISO Assistant stores them.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StringConstraints

from frameworks.schema import Audience, Level

EXTENSION = "policetech_assure"  # the key our own fields ride in; CISO Assistant passes over it
MAX_NODES = 50_000
MAX_MAPPINGS = 100_000
MAX_NODE_DEPTH = 32  # real libraries nest five or six levels

# No NUL anywhere: PostgreSQL text cannot hold one and no library needs it.
Urn = Annotated[
    str, StringConstraints(pattern=r"^urn:[A-Za-z0-9][A-Za-z0-9-]{0,31}:[^\s\x00]{1,400}$")
]
Name = Annotated[str, StringConstraints(max_length=5_000, pattern=r"^[^\x00]*$")]
LongText = Annotated[str, StringConstraints(max_length=100_000, pattern=r"^[^\x00]*$")]
RefId = Annotated[str, StringConstraints(max_length=200, pattern=r"^[^\x00]*$")] | StrictInt | float

# Object kinds CISO Assistant's library loader knows; only frameworks and mapping sets are read.
READ_KINDS = ("framework", "frameworks", "requirement_mapping_set", "requirement_mapping_sets")
PASSED_OVER_KINDS = (
    "threats",
    "reference_controls",
    "risk_matrix",
    "risk_matrices",
    "metric_definitions",
    "quick_forms",
    "ttp_catalogs",
    "tactics",
    "techniques",
    "preset",
    "workflows",
)
KNOWN_KINDS = READ_KINDS + PASSED_OVER_KINDS


class Closed(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NodeType(StrEnum):
    OBJECTIVE = "objective"
    PRINCIPLE = "principle"
    OUTCOME = "outcome"
    INDICATOR = "indicator"


class NodeExtension(Closed):
    """Our fields on a requirement node: which framework element it is, and what CISO Assistant
    has no field for."""

    node: NodeType
    audience: Audience | None = None
    critical: StrictBool | None = None
    evidence_types: list[Annotated[str, StringConstraints(max_length=64)]] | None = None
    level: Level | None = None


class FrameworkExtension(Closed):
    framework_id: Annotated[str, StringConstraints(max_length=64)]
    version: Annotated[str, StringConstraints(max_length=32)]
    source: LongText | None = None
    evidence_types: list[Annotated[str, StringConstraints(max_length=64)]] = Field(max_length=200)
    earlier_content_sha256: list[str] = Field(default_factory=list, max_length=200)


class ScoreDefinition(Closed):
    score: StrictInt
    name: Name
    description: LongText | None = None
    translations: dict[str, Any] | None = None


class ImplementationGroup(Closed):
    ref_id: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    name: Name
    description: LongText | None = None
    default_selected: StrictBool | None = None
    translations: dict[str, Any] | None = None


class RequirementNode(Closed):
    urn: Urn
    assessable: StrictBool | None = None
    depth: StrictInt | None = Field(default=None, ge=1, le=MAX_NODE_DEPTH)
    parent_urn: Urn | None = None
    ref_id: RefId | None = None
    name: Name | None = None
    description: LongText | None = None
    annotation: LongText | None = None
    typical_evidence: LongText | None = None
    implementation_groups: list[Annotated[str, StringConstraints(max_length=200)]] | None = None
    threats: list[Urn] | None = None
    reference_controls: list[Urn] | None = None
    questions: dict[str, Any] | None = None
    questions_properties: dict[str, Any] | None = None
    display_mode: Annotated[str, StringConstraints(max_length=32)] | None = None
    weight: StrictInt | None = None
    min_score: StrictInt | None = None
    max_score: StrictInt | None = None
    scores_definition_ref: Annotated[str, StringConstraints(max_length=200)] | None = None
    translations: dict[str, Any] | None = None
    policetech_assure: NodeExtension | None = None

    @property
    def key(self) -> str:
        return self.urn.lower()

    @property
    def parent_key(self) -> str | None:
        return self.parent_urn.lower() if self.parent_urn else None

    @property
    def ref_text(self) -> str | None:
        if self.ref_id is None:
            return None
        return self.ref_id.strip() if isinstance(self.ref_id, str) else str(self.ref_id)


class FrameworkObject(Closed):
    urn: Urn
    ref_id: RefId
    name: Name | None = None
    description: LongText | None = None
    annotation: LongText | None = None
    min_score: StrictInt | None = None
    max_score: StrictInt | None = None
    result_aggregation: Annotated[str, StringConstraints(max_length=64)] | None = None
    scores_definition: list[ScoreDefinition] | dict[str, Any] | None = None
    implementation_groups_definition: list[ImplementationGroup] | None = Field(
        default=None, max_length=1_000
    )
    outcomes_definition: list[Any] | None = None
    field_visibility: dict[str, Any] | None = None
    translations: dict[str, Any] | None = None
    requirement_nodes: list[RequirementNode] = Field(min_length=1, max_length=MAX_NODES)
    policetech_assure: FrameworkExtension | None = None


class NotRelated(Closed):
    position: StrictInt = Field(ge=0)
    target_requirement_urn: Urn
    rationale: LongText


class MappingExtension(Closed):
    """A crosswalk's entries CISO Assistant cannot hold (a target no source relates to) with the
    position each had, and whether the crosswalk covers every target element."""

    complete_for_target: StrictBool = False
    not_related: list[NotRelated] = Field(default_factory=list, max_length=MAX_MAPPINGS)


class RequirementMapping(Closed):
    source_requirement_urn: Urn
    target_requirement_urn: Urn
    relationship: Annotated[str, StringConstraints(max_length=32)]
    strength_of_relationship: StrictInt | None = Field(default=None, ge=0, le=10)
    rationale: LongText | None = None
    annotation: LongText | None = None


class MappingSet(Closed):
    urn: Urn
    ref_id: RefId | None = None
    name: Name
    description: LongText | None = None
    annotation: LongText | None = None
    source_framework_urn: Urn
    target_framework_urn: Urn
    source_node_base_urn: Urn | None = None
    target_node_base_urn: Urn | None = None
    translations: dict[str, Any] | None = None
    requirement_mappings: list[RequirementMapping] = Field(min_length=1, max_length=MAX_MAPPINGS)
    policetech_assure: MappingExtension | None = None


class LibraryObjects(BaseModel):
    # Unknown kinds are refused before validation (read.py) with a message naming the kind.
    model_config = ConfigDict(extra="forbid", frozen=True)

    framework: FrameworkObject | None = None
    frameworks: list[FrameworkObject] | None = Field(default=None, max_length=1)
    requirement_mapping_set: MappingSet | None = None
    requirement_mapping_sets: list[MappingSet] | None = Field(default=None, max_length=100)
    threats: Any = None
    reference_controls: Any = None
    risk_matrix: Any = None
    risk_matrices: Any = None
    metric_definitions: Any = None
    quick_forms: Any = None
    ttp_catalogs: Any = None
    tactics: Any = None
    techniques: Any = None
    preset: Any = None
    workflows: Any = None

    def the_framework(self) -> FrameworkObject | None:
        return self.framework or (self.frameworks[0] if self.frameworks else None)

    def mapping_sets(self) -> list[MappingSet]:
        if self.requirement_mapping_set is not None:
            return [self.requirement_mapping_set]
        return list(self.requirement_mapping_sets or [])


class LibraryDocument(BaseModel):
    # Metadata this project does not use (labels, flags a newer CISO Assistant adds) is passed
    # over; everything that shapes what is imported is under `objects`, which is closed.
    model_config = ConfigDict(extra="ignore", frozen=True)

    urn: Urn
    locale: Annotated[str, StringConstraints(max_length=16)]
    ref_id: RefId
    name: Name
    description: LongText | None = None
    copyright: LongText | None = None
    version: StrictInt = Field(ge=0)
    publication_date: date | None = None
    provider: Name | None = None
    packager: Name | None = None
    dependencies: list[Urn] | None = Field(default=None, max_length=1_000)
    objects: LibraryObjects
