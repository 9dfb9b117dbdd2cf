"""The facts of a product or a deployment that decide how much assurance it needs: what data it
holds, where, how it is hosted, what police networks and national systems it reaches, the vetting
its staff need and how much of policing depends on it. Each vocabulary is defined here once; the
product form, the partner API, proportionality rules and the risk register take their values from
these enums (stored as their string values)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator


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
    national security clearances. Rules name levels by membership, not by an order, because
    NPPV and national security vetting are separate schemes."""

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
    VettingLevel.NPPV1: "NPPV1",
    VettingLevel.NPPV2: "NPPV2",
    VettingLevel.NPPV3: "NPPV3",
    VettingLevel.SC: "SC",
    VettingLevel.DV: "DV",
}

# Every force in England and Wales and the national bodies beside them, with room to spare.
MAX_FORCES = 100
MAX_RECORDS = 10**12


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


class DeploymentFacts(BaseModel):
    """The facts proportionality rules read. Unknown is not safe: a missing classification is
    read as OFFICIAL, the lowest, but rules that need a fact to be absent never match on None."""

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

    @model_validator(mode="after")
    def _caveat_on_official_only(self) -> DeploymentFacts:
        caveat_problem(self.classification, self.sensitive_caveat)
        return self

    def classification_label(self) -> str:
        tier = LABELS[self.classification or SecurityClassification.OFFICIAL]
        return f"{tier} with the SENSITIVE caveat" if self.sensitive_caveat else tier
