"""Posture bands, best first. There is one definition: the scoring policy of the default framework
(`frameworks/data/ptsbd/scoring-<version>.yaml`), the same list the scoring engine bands scores
with. Gates, forms, API models and pages take the band names and their order from here, so a
policy that adds or renames a band changes every one of them."""

from __future__ import annotations

from enum import StrEnum
from functools import cache

from frameworks.loader import default_framework


@cache
def band_names() -> tuple[str, ...]:
    """Every band, best first."""
    return tuple(default_framework().scoring.band_names())


# The band as a closed type for forms and published API schemas, built from the policy.
PostureBand = StrEnum("PostureBand", [(name, name) for name in band_names()])  # type: ignore[misc]


def meets_band(band: str | None, minimum: str) -> bool:
    """Whether `band` is `minimum` or better; a subject without a band never meets one."""
    names = band_names()
    return band is not None and names.index(band) <= names.index(minimum)


def minimum_band_choices() -> list[str]:
    """The bands a minimum can usefully name: every band but the lowest, which all subjects meet."""
    return list(band_names()[:-1])
