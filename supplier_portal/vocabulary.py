"""The closed vocabularies that describe a product and that buyers filter on. Each is defined
here once: the product form, the partner API's schema, lot and shortlist gates and the pages
all take their values from these enums (stored as their string values)."""

from __future__ import annotations

from enum import StrEnum

# A product's facts that proportionality and the risk register read are defined beside the
# rules that read them; they are re-exported here with the rest of the product's vocabulary.
from frameworks.deployment_facts import (
    DataLocation,
    DeploymentModel,
    NationalSystem,
    PoliceNetwork,
    SecurityClassification,
    VettingLevel,
)

__all__ = [
    "CertificationScheme",
    "DataLocation",
    "DeploymentModel",
    "NationalSystem",
    "PoliceNetwork",
    "ProductCategory",
    "SecurityClassification",
    "VettingLevel",
    "values",
]


class ProductCategory(StrEnum):
    RECORDS_MANAGEMENT = "records_management"
    DIGITAL_EVIDENCE = "digital_evidence"
    BODY_WORN_VIDEO = "body_worn_video"
    COMMAND_AND_CONTROL = "command_and_control"
    MOBILE = "mobile"
    ANALYTICS = "analytics"
    OTHER = "other"


class CertificationScheme(StrEnum):
    CYBER_ESSENTIALS = "cyber_essentials"
    CYBER_ESSENTIALS_PLUS = "cyber_essentials_plus"
    ISO27001 = "iso27001"


def values(vocabulary: type[StrEnum]) -> list[str]:
    """The vocabulary's values in definition order, for pick lists."""
    return [member.value for member in vocabulary]
