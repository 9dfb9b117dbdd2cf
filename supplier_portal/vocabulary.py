"""The closed vocabularies that describe a product and that buyers filter on. Each is defined
here once: the product form, the partner API's schema, lot and shortlist gates and the pages
all take their values from these enums (stored as their string values)."""

from __future__ import annotations

from enum import StrEnum


class ProductCategory(StrEnum):
    RECORDS_MANAGEMENT = "records_management"
    DIGITAL_EVIDENCE = "digital_evidence"
    BODY_WORN_VIDEO = "body_worn_video"
    COMMAND_AND_CONTROL = "command_and_control"
    MOBILE = "mobile"
    ANALYTICS = "analytics"
    OTHER = "other"


class DeploymentModel(StrEnum):
    SAAS = "saas"
    ON_PREMISES = "on_premises"
    HYBRID = "hybrid"


class DataLocation(StrEnum):
    """Where a product stores or processes policing data."""

    UK = "uk"
    EEA = "eea"
    US = "us"
    OTHER = "other"


class SecurityClassification(StrEnum):
    """The highest Government Security Classification the product is accredited to hold."""

    OFFICIAL = "official"
    OFFICIAL_SENSITIVE = "official-sensitive"
    SECRET = "secret"  # noqa: S105 (a classification, not a credential)


class CertificationScheme(StrEnum):
    CYBER_ESSENTIALS = "cyber_essentials"
    CYBER_ESSENTIALS_PLUS = "cyber_essentials_plus"
    ISO27001 = "iso27001"


def values(vocabulary: type[StrEnum]) -> list[str]:
    """The vocabulary's values in definition order, for pick lists."""
    return [member.value for member in vocabulary]
