"""The scoring policy schema: points, confidence weights, finding caps, bands and gates."""

from __future__ import annotations

from pydantic import Field, model_validator

from checks.findings import Severity
from frameworks.schema import LEVEL_ORDER, Level, Strict

PROVENANCES = ("self_asserted", "documentary", "automated_check", "independent")


class Points(Strict):
    not_achieved: float = Field(ge=0, le=1)
    partially_achieved: float = Field(ge=0, le=1)
    achieved: float = Field(ge=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> Points:
        if not self.not_achieved <= self.partially_achieved <= self.achieved:
            raise ValueError("points must not decrease from not_achieved to achieved")
        return self


class Confidence(Strict):
    provenance_weights: dict[str, float]
    half_life_days: float = Field(gt=0, le=36500)

    @model_validator(mode="after")
    def _every_provenance(self) -> Confidence:
        if set(self.provenance_weights) != set(PROVENANCES):
            raise ValueError(f"provenance_weights must name exactly {', '.join(PROVENANCES)}")
        if any(not 0 <= weight <= 1 for weight in self.provenance_weights.values()):
            raise ValueError("provenance weights must be between 0 and 1")
        return self


class BandRule(Strict):
    band: str = Field(pattern=r"^[A-Z]$")
    min_score: float = Field(ge=0, le=100)


class ScoringPolicy(Strict):
    framework_id: str
    framework_version: str
    policy_version: str
    points: Points
    confidence: Confidence
    # The highest level a finding of each severity lets the outcomes it links to reach; a
    # severity not listed caps nothing.
    finding_caps: dict[Severity, Level] = Field(default_factory=dict)
    bands: list[BandRule] = Field(min_length=2)
    critical_not_achieved_cap: str

    @model_validator(mode="after")
    def _bands_cover_the_range(self) -> ScoringPolicy:
        thresholds = [rule.min_score for rule in self.bands]
        if thresholds != sorted(thresholds, reverse=True) or len(set(thresholds)) != len(
            thresholds
        ):
            raise ValueError("bands must be listed best first with strictly falling min_score")
        if thresholds[-1] != 0:
            raise ValueError("the last band must start at min_score 0")
        if self.critical_not_achieved_cap not in self.band_names():
            raise ValueError(
                f"critical_not_achieved_cap {self.critical_not_achieved_cap!r} is not a band"
            )
        return self

    def band_names(self) -> list[str]:
        return [rule.band for rule in self.bands]

    def band_for(self, score: float) -> str:
        for rule in self.bands:
            if score >= rule.min_score:
                return rule.band
        return self.bands[-1].band

    def cap_level(self, severity: str) -> int | None:
        level = self.finding_caps.get(Severity(severity))
        return None if level is None else LEVEL_ORDER[level]
