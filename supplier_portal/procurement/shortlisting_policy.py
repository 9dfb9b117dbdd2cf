"""The shortlisting rules as data (supplier_portal/data/shortlisting.yaml), read through a schema
so that a mistyped key or an unknown tie-break fails when the file is read, not when a buyer
ranks: the quality scale, the least weight social value may have, how many products may be
compared, and the order in which ties on the weighted total are broken."""

from __future__ import annotations

from enum import StrEnum
from functools import cache
from importlib import resources

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator


class Criterion(StrEnum):
    """What a buyer may weigh; each is also a 0-100 component of a product's ranking row."""

    SECURITY_POSTURE = "security_posture"
    PQC_READINESS = "pqc_readiness"
    API_CONFORMANCE = "api_conformance"
    PRICE = "price"
    QUALITY = "quality"
    SOCIAL_VALUE = "social_value"

    @property
    def label(self) -> str:
        """The criterion in words, as buyers read it on pages and in comparisons."""
        return _CRITERION_LABELS[self]

    @property
    def heading(self) -> str:
        """The label starting with a capital, for a column or a field."""
        return self.label[:1].upper() + self.label[1:]


_CRITERION_LABELS = {
    Criterion.SECURITY_POSTURE: "security posture",
    Criterion.PQC_READINESS: "PQC readiness",
    Criterion.API_CONFORMANCE: "API conformance",
    Criterion.PRICE: "price",
    Criterion.QUALITY: "quality",
    Criterion.SOCIAL_VALUE: "social value",
}


class TieBreak(StrEnum):
    """How two products with the same weighted total are ordered. A component name puts the higher
    component first; the `_ascending` rules put the lower price (none given: last) or id first."""

    SECURITY_POSTURE = Criterion.SECURITY_POSTURE.value
    PQC_READINESS = Criterion.PQC_READINESS.value
    API_CONFORMANCE = Criterion.API_CONFORMANCE.value
    QUALITY = Criterion.QUALITY.value
    SOCIAL_VALUE = Criterion.SOCIAL_VALUE.value
    PRICE_ASCENDING = "price_ascending"
    PRODUCT_ID_ASCENDING = "product_id_ascending"


class ShortlistingPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    quality_scale: dict[int, str]
    min_social_value_weight: int = Field(ge=0, le=100)
    max_compare: int = Field(ge=2, le=50)
    tie_breaks: tuple[TieBreak, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _sane(self) -> ShortlistingPolicy:
        points = sorted(self.quality_scale)
        if len(points) < 2 or points != list(range(len(points))):
            raise ValueError("quality_scale: points run 0, 1, 2, ... with a description each")
        if len(set(self.tie_breaks)) != len(self.tie_breaks):
            raise ValueError("tie_breaks: each rule may appear once")
        if TieBreak.PRODUCT_ID_ASCENDING not in self.tie_breaks:
            # Two products never share an id, so a ranking that ends there is always the same.
            raise ValueError("tie_breaks: include product_id_ascending so every tie is broken")
        return self

    @property
    def top_quality(self) -> int:
        return max(self.quality_scale)

    def tie_break_text(self) -> str:
        return ", then ".join(rule.value.replace("_", " ") for rule in self.tie_breaks)


@cache
def shortlisting_policy() -> ShortlistingPolicy:
    text = (resources.files("supplier_portal") / "data" / "shortlisting.yaml").read_text()
    return ShortlistingPolicy.model_validate(yaml.safe_load(text))
