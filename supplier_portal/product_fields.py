"""A product's fields, defined once. The portal's product form is this model and the partner API's
request bodies derive from it (registration's, and `ProductChanges` for a partial update), so a
limit (how many data locations, how long a name) cannot differ between them.

The types are the strictest either side needs: the API publishes this schema and must refuse
what it does not describe ("1" is not true, a number is not a date, a name has no control
characters or surrounding spaces), and the form holds to the same rules; pages tidy what a person
typed (surrounding spaces) before they submit it."""

from __future__ import annotations

import re
from copy import copy
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    create_model,
    model_validator,
)

from frameworks.deployment_facts import (
    FACT_OF_FIELD,
    DeploymentFacts,
    Distinct,
    Flag,
    ForceCount,
    RecordCount,
    caveat_problem,
)
from posture.portfolio.details import Version
from supplier_portal.vocabulary import (
    CertificationScheme,
    DataLocation,
    DeploymentModel,
    NationalSystem,
    PoliceNetwork,
    ProductCategory,
    SecurityClassification,
    VettingLevel,
)

ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _day(value: Any) -> Any:
    # pydantic would also read "0" as 1970-01-01 and take a midnight timestamp as a day; the
    # published schema says `format: date`, so only that is accepted.
    if isinstance(value, datetime):
        raise ValueError("must be a date, not a moment")
    if isinstance(value, date) or (isinstance(value, str) and ISO_DAY.fullmatch(value)):
        return value
    raise ValueError("must be a date written YYYY-MM-DD")


# A calendar day: a date, or its ISO text; never a number of days.
Day = Annotated[date, BeforeValidator(_day)]
# No control characters, and no space at either end. Spelled out rather than with \s, whose
# meaning differs between regex engines (U+0085 is whitespace to Python and Rust, not to ECMA).
Name = Annotated[
    str,
    Field(
        min_length=2,
        max_length=200,
        pattern=r"^[^\x00-\x20\x7f-\x9f](?:[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\x9f])?$",
    ),
]
Label = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9 ._-]+$")]

MAX_CERTIFICATIONS = 5
MAX_CONNECTED_NETWORKS = 10


class CertificationHeld(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    scheme: CertificationScheme
    expires: Day

    @model_validator(mode="before")
    @classmethod
    def _expiry_given(cls, data: Any) -> Any:
        # A certification is only worth recording with the day it lapses (lot gates, reminders
        # and buyers read it): one without is refused by name, never kept or dropped quietly.
        if isinstance(data, dict) and data.get("expires") in (None, ""):
            scheme = data.get("scheme") or "a certification"
            raise ValueError(f"{scheme}: give the day it expires (YYYY-MM-DD)")
        return data


class ProductFields(BaseModel):
    """What a supplier says about a product: what it is, and what buyers filter on."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: Name
    # The release the supplier ships and has assessed: a passport states it, and a force whose
    # deployment runs another cannot rely on that passport.
    version: Version | None = None
    category: ProductCategory
    deployment_model: DeploymentModel
    description: str = Field(default="", max_length=5000)
    data_locations: Distinct[DataLocation] = Field(
        default_factory=list, max_length=len(DataLocation)
    )
    max_classification: SecurityClassification | None = None
    # OFFICIAL-SENSITIVE: OFFICIAL with the SENSITIVE handling caveat, not a tier of its own.
    sensitive_caveat: Flag = False
    police_networks: Distinct[PoliceNetwork] = Field(
        default_factory=list, max_length=len(PoliceNetwork)
    )
    national_systems: Distinct[NationalSystem] = Field(
        default_factory=list, max_length=len(NationalSystem)
    )
    vetting: VettingLevel | None = None
    forces_served: ForceCount | None = None
    records_held: RecordCount | None = None
    certifications: list[CertificationHeld] = Field(
        default_factory=list, max_length=MAX_CERTIFICATIONS
    )
    support_ends: Day | None = None
    end_of_life: Day | None = None
    api_available: Flag = False
    connected_networks: list[Label] = Field(default_factory=list, max_length=MAX_CONNECTED_NETWORKS)

    def caveat_problem(self) -> None:
        """The SENSITIVE caveat with SECRET or above: two fields that disagree, which the
        services refuse as a conflict (a schema cannot say it, so the API must not call it
        malformed)."""
        caveat_problem(self.max_classification, self.sensitive_caveat)

    def dates_problem(self) -> None:
        """An end of life before support ends: two fields that disagree, refused by the services
        as a conflict (a schema cannot say it)."""
        if self.support_ends and self.end_of_life and self.end_of_life < self.support_ends:
            raise ValueError(
                f"end_of_life: {self.end_of_life} is before support ends ({self.support_ends}); "
                "a product is supported until its end of life at the latest"
            )

    def version_problem(self) -> None:
        """A version that begins or ends with a space: refused by the services as a conflict,
        as the portfolio's product version is (the schema states only what it refuses)."""
        if self.version is not None and self.version != self.version.strip():
            raise ValueError(f"version: {self.version!r} must not begin or end with a space")

    def facts(self) -> DeploymentFacts:
        """What proportionality rules read of the product."""
        return DeploymentFacts.model_validate(
            {fact: getattr(self, field) for field, fact in FACT_OF_FIELD.items()}
        )

    def listing_fields(self) -> dict[str, object]:
        """The listing columns of a stored product, as stored (vocabularies as their values)."""
        stored = self.model_dump(mode="json")
        return {
            "version": self.version,
            "data_locations": stored["data_locations"],
            "max_classification": stored["max_classification"],
            "sensitive_caveat": self.sensitive_caveat,
            "police_networks": stored["police_networks"],
            "national_systems": stored["national_systems"],
            "vetting": stored["vetting"],
            "forces_served": self.forces_served,
            "records_held": self.records_held,
            "certifications": stored["certifications"],
            "support_ends": self.support_ends,
            "end_of_life": self.end_of_life,
            "api_available": self.api_available,
            "connected_networks": stored["connected_networks"],
        }


def _absent_means_unchanged(schema: dict[str, Any]) -> None:
    # Each field defaults to None only so that it may be left out; None is no name or category,
    # so the published schema names no default (a field given as null is validated and refused
    # where its type does not allow null).
    for field in schema.get("properties", {}).values():
        field.pop("default", None)


def _every_field_optional(fields: type[BaseModel]) -> type[BaseModel]:
    optional = {}
    for field, info in fields.model_fields.items():
        loosened = copy(info)
        loosened.default, loosened.default_factory = None, None
        optional[field] = (info.annotation, loosened)
    config = ConfigDict(**fields.model_config, json_schema_extra=_absent_means_unchanged)
    return create_model(f"Optional{fields.__name__}", __config__=config, **optional)  # type: ignore[call-overload,no-any-return]


# Built from ProductFields, so each field keeps its type and limits; `model_fields_set` says
# which fields a change gives.
class ProductChanges(_every_field_optional(ProductFields)):  # type: ignore[misc]
    """Some of a product's fields: those given replace the stored values (null clears a field
    that may be empty), the others are kept."""
