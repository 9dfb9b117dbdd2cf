"""The facts of a product or a deployment that decide how much assurance it needs: what data it
holds, where, how it is hosted, what police networks and national systems it reaches, the vetting
its staff need and how much of policing depends on it. Each vocabulary is defined here once; the
product form, the partner API, proportionality rules and the risk register take their values from
these enums (stored as their string values)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    field_validator,
    model_validator,
)


class SecurityClassification(StrEnum):
    """The Government Security Classifications tiers, lowest first. OFFICIAL-SENSITIVE is not a
    tier: it is OFFICIAL with the SENSITIVE handling caveat (`sensitive_caveat`)."""

    OFFICIAL = "official"
    SECRET = "secret"  # noqa: S105 (a classification, not a credential)
    TOP_SECRET = "top-secret"  # noqa: S105


CLASSIFICATION_RANK = {c: i for i, c in enumerate(SecurityClassification)}


class DeploymentModel(StrEnum):
    """How the product is hosted."""

    SAAS = "saas"
    PAAS = "paas"
    ON_PREMISES = "on_premises"
    HYBRID = "hybrid"


class DataLocation(StrEnum):
    """Where a product stores or processes policing data."""

    UK = "uk"
    EEA = "eea"
    US = "us"
    OTHER = "other"


class PoliceNetwork(StrEnum):
    """Networks a product connects to: the Police National Network and the Public Services
    Network (policing's community of interest on it)."""

    PNN = "pnn"
    PSN = "psn"


class NationalSystem(StrEnum):
    """National policing systems a product reads or writes."""

    PND = "pnd"  # Police National Database
    PNC = "pnc"  # Police National Computer
    LEDS = "leds"  # Law Enforcement Data Service, PNC's successor


class VettingLevel(StrEnum):
    """The vetting the product's support staff need: Non-Police Personnel Vetting levels, and the
    national security clearances, or none (a product whose supplier never reaches policing data).
    Rules name levels by membership, not by an order, because NPPV and national security vetting
    are separate schemes."""

    NOT_NEEDED = "not_needed"
    NPPV1 = "nppv1"
    NPPV2 = "nppv2"
    NPPV3 = "nppv3"
    SC = "sc"
    DV = "dv"


# Label shown to people for each value; derived text (explanations) uses these.
LABELS: dict[StrEnum, str] = {
    SecurityClassification.OFFICIAL: "OFFICIAL",
    SecurityClassification.SECRET: "SECRET",
    SecurityClassification.TOP_SECRET: "TOP SECRET",
    DeploymentModel.SAAS: "software as a service",
    DeploymentModel.PAAS: "platform as a service",
    DeploymentModel.ON_PREMISES: "on-premises",
    DeploymentModel.HYBRID: "hybrid",
    DataLocation.UK: "the UK",
    DataLocation.EEA: "the EEA",
    DataLocation.US: "the US",
    DataLocation.OTHER: "another country",
    PoliceNetwork.PNN: "PNN",
    PoliceNetwork.PSN: "PSN",
    NationalSystem.PND: "PND",
    NationalSystem.PNC: "PNC",
    NationalSystem.LEDS: "LEDS",
    VettingLevel.NOT_NEEDED: "no vetting needed",
    VettingLevel.NPPV1: "NPPV1",
    VettingLevel.NPPV2: "NPPV2",
    VettingLevel.NPPV3: "NPPV3",
    VettingLevel.SC: "SC",
    VettingLevel.DV: "DV",
}

# Every force in England and Wales and the national bodies beside them, with room to spare.
MAX_FORCES = 100
MAX_RECORDS = 10**12


def _distinct(values: list[Any]) -> list[Any]:
    if len(set(values)) != len(values):
        raise ValueError("a value is listed twice")
    return values


# A list of vocabulary values, each at most once; the published schema says so (uniqueItems).
Item = TypeVar("Item")
Distinct = Annotated[
    list[Item], AfterValidator(_distinct), Field(json_schema_extra={"uniqueItems": True})
]


def _whole(value: Any) -> Any:
    # JSON Schema's "integer" includes 2.0, so the API must take it; text and yes/no are not
    # numbers, and 4.5 is not whole.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a whole number")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError("must be a whole number")
        return int(value)
    return value


def whole_number(maximum: int) -> Any:
    # The bounds before the validator, so the published schema states them as JSON Schema does.
    return Annotated[int, Field(ge=0, le=maximum), BeforeValidator(_whole)]


ForceCount = whole_number(MAX_FORCES)
RecordCount = whole_number(MAX_RECORDS)

# A yes/no as JSON types it: 0 is not false.
Flag = Annotated[bool, Strict()]


# The product fields that are facts proportionality reads, and the fact each one is: a change
# to any of them re-targets the product's assessments.
FACT_OF_FIELD = {
    "max_classification": "classification",
    "sensitive_caveat": "sensitive_caveat",
    "deployment_model": "hosting",
    "data_locations": "data_locations",
    "police_networks": "police_networks",
    "national_systems": "national_systems",
    "vetting": "vetting",
    "forces_served": "forces_served",
    "records_held": "records_held",
}
FACT_FIELDS = frozenset(FACT_OF_FIELD)


def caveat_problem(classification: SecurityClassification | None, sensitive_caveat: bool) -> None:
    """The SENSITIVE caveat qualifies OFFICIAL only; SECRET and above are handled as such."""
    if sensitive_caveat and classification not in (None, SecurityClassification.OFFICIAL):
        raise ValueError(
            "sensitive_caveat: the SENSITIVE caveat applies to OFFICIAL only, "
            f"not {LABELS[classification]}"
        )


# A classification and whether the SENSITIVE caveat is on it.
Tier = tuple[SecurityClassification | None, bool]


def combined_tier(product: Tier, use: Tier) -> Tier:
    """The classification and caveat of a product's data with a use's added: the higher of two
    declared classifications, the caveat going with the one that is kept; a product that never
    said what it holds stays undeclared (read as the most demanding), whatever the use says."""
    classification, use_classification = product[0], use[0]
    if classification is not None and use_classification is not None:
        classification = max(
            classification, use_classification, key=CLASSIFICATION_RANK.__getitem__
        )
    caveat = classification in (None, SecurityClassification.OFFICIAL) and (product[1] or use[1])
    return classification, caveat


class DeploymentFacts(BaseModel):
    """The facts proportionality rules read. A fact not declared is not read as the safe answer:
    a rule that reads it holds (frameworks/proportionality.py), so a product that declares
    nothing must meet the most demanding profile until it does. Undeclared is None for the
    classification, vetting and the counts, and no locations for a product the supplier hosts
    (on-premises, with none named, the data stays on the force's own infrastructure). No networks
    and no national systems mean none: a force declares those it connects in its deployment."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    classification: SecurityClassification | None = None
    sensitive_caveat: bool = False
    hosting: DeploymentModel
    data_locations: tuple[DataLocation, ...] = ()
    police_networks: tuple[PoliceNetwork, ...] = ()
    national_systems: tuple[NationalSystem, ...] = ()
    vetting: VettingLevel | None = None
    forces_served: int | None = Field(default=None, ge=0, le=MAX_FORCES)
    records_held: int | None = Field(default=None, ge=0, le=MAX_RECORDS)

    @field_validator("data_locations", "police_networks", "national_systems", mode="after")
    @classmethod
    def _in_vocabulary_order(cls, values: tuple[StrEnum, ...]) -> tuple[StrEnum, ...]:
        # One order however the facts were typed: the same facts digest the same.
        return tuple(sorted(values, key=lambda v: list(type(v)).index(v)))

    @model_validator(mode="after")
    def _caveat_on_official_only(self) -> DeploymentFacts:
        caveat_problem(self.classification, self.sensitive_caveat)
        return self

    def locations_undeclared(self) -> bool:
        return not self.data_locations and self.hosting is not DeploymentModel.ON_PREMISES

    def undeclared(self) -> list[str]:
        """The facts not declared, by name, in a fixed order."""
        missing = [
            name
            for name in ("classification", "vetting", "forces_served", "records_held")
            if getattr(self, name) is None
        ]
        if self.locations_undeclared():
            missing.insert(1, "data_locations")
        return missing

    def classification_label(self) -> str:
        tier = LABELS[self.classification or SecurityClassification.OFFICIAL]
        return f"{tier} with the SENSITIVE caveat" if self.sensitive_caveat else tier


class ForceUse(BaseModel):
    """What a force's own use of a product adds to the product's facts: the classification of
    the data the force puts in it, the police networks and national systems the force connects
    it to, and the records the force holds in it. Each can only add: the deployment needs at
    least what the product needs."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    classification: SecurityClassification | None = None
    sensitive_caveat: Flag = False
    police_networks: Distinct[PoliceNetwork] = Field(default_factory=list, max_length=2)
    national_systems: Distinct[NationalSystem] = Field(default_factory=list, max_length=3)
    records_held: RecordCount | None = None

    def caveat_problem(self) -> None:
        """The SENSITIVE caveat with SECRET or above: two fields that disagree, which the
        services refuse as a conflict (a schema cannot say it, so the API must not call it
        malformed)."""
        caveat_problem(self.classification, self.sensitive_caveat)

    def added_to(self, product: DeploymentFacts) -> DeploymentFacts:
        """The deployment's facts: the product's, with this use's added. The higher of two
        declared classifications (the caveat goes with the one that is kept), every network and
        system either names, and the larger record count. What the product leaves undeclared
        stays undeclared (read as the most demanding): a force's OFFICIAL does not make a
        product that never said what it holds an OFFICIAL one."""
        classification, caveat = combined_tier(
            (product.classification, product.sensitive_caveat),
            (self.classification, self.sensitive_caveat),
        )
        counts = [n for n in (product.records_held, self.records_held) if n is not None]
        # Validated, not copied: the facts' own checks (the caveat on OFFICIAL only, lists in
        # vocabulary order) hold of the result as of any other facts.
        return DeploymentFacts.model_validate(
            {
                **product.model_dump(),
                "classification": classification,
                "sensitive_caveat": caveat,
                "police_networks": {*product.police_networks, *self.police_networks},
                "national_systems": {*product.national_systems, *self.national_systems},
                # The product's own count is every force's records; unknown stays unknown.
                "records_held": max(counts) if product.records_held is not None else None,
            }
        )
