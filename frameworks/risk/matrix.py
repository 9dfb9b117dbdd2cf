"""The likelihood x impact matrix: two ordered scales, the ordered risk levels and the grid that
maps every (likelihood, impact) pair to exactly one risk level."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, TypeVar

from pydantic import Field, StringConstraints, model_validator

from frameworks.schema import Strict, Text, reject_duplicates

# Ids of levels and threats: lower-case words joined by hyphens, as stored scenarios hold them.
RiskId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$", max_length=40)]
Colour = Annotated[str, StringConstraints(pattern=r"^#[0-9a-fA-F]{6}$")]
Version = Annotated[str, StringConstraints(pattern=r"^\d+\.\d+$")]
# Ten a side is already a hundred cells; no published risk method uses more.
MAX_SCALE = 10
# Neighbouring risk levels must differ this much in lightness (as a WCAG contrast ratio), so the
# order reads without hue: red-green colour blindness is common among the people who read these.
MIN_LEVEL_CONTRAST = 1.25


class RiskDataMismatch(ValueError):
    """A risk data file disagrees with the matrix it names; `location` says where in the file."""

    def __init__(self, location: str, problem: str) -> None:
        self.location, self.problem = location, problem
        super().__init__(f"{location}: {problem}")


class UnknownRiskId(LookupError):
    """An id that is not a likelihood, impact, risk level or threat of the policy in hand."""

    def __str__(self) -> str:
        return str(self.args[0])


class ScaleLevel(Strict):
    id: RiskId
    name: Text
    score: int = Field(ge=1, le=MAX_SCALE, strict=True)
    description: Text


def _luminance(colour: str) -> float:
    def channel(hex_pair: str) -> float:
        value = int(hex_pair, 16) / 255
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = (channel(colour[i : i + 2]) for i in (1, 3, 5))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def _contrast(first: float, second: float) -> float:
    lighter, darker = max(first, second), min(first, second)
    return (lighter + 0.05) / (darker + 0.05)


class RiskLevel(Strict):
    id: RiskId
    name: Text
    colour: Colour
    description: Text | None = None

    def _contrasts(self) -> tuple[float, float]:
        luminance = _luminance(self.colour)
        return _contrast(luminance, 0.0), _contrast(luminance, 1.0)

    @property
    def luminance(self) -> float:
        return _luminance(self.colour)

    @property
    def text_colour(self) -> str:
        """Black or white, whichever reads better on this level's colour: on any colour one of
        them reaches 4.58:1, above WCAG AA's 4.5:1 for text."""
        on_black, on_white = self._contrasts()
        return "#000000" if on_black >= on_white else "#ffffff"


Found = TypeVar("Found", ScaleLevel, RiskLevel)


@dataclass(frozen=True)
class GridRow:
    """One row of the heatmap: a likelihood and the risk level under each impact, lowest first."""

    likelihood: ScaleLevel
    cells: tuple[RiskLevel, ...]


def _unique(name: str, ids: list[str]) -> None:
    try:
        reject_duplicates(ids)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from exc


def _check_scale(name: str, levels: list[ScaleLevel]) -> None:
    _unique(name, [level.id for level in levels])
    for index, level in enumerate(levels):
        if level.score != index + 1:
            raise ValueError(
                f"{name}[{index}]({level.id}): score must be {index + 1}; scores rise by one "
                "from 1, lowest first"
            )


class RiskMatrix(Strict):
    version: Version
    title: Text
    # Read from `likelihood` and `impact`; named apart so that likelihood(id) and impact(id)
    # can be the look-ups.
    likelihood_levels: list[ScaleLevel] = Field(
        alias="likelihood", min_length=2, max_length=MAX_SCALE
    )
    impact_levels: list[ScaleLevel] = Field(alias="impact", min_length=2, max_length=MAX_SCALE)
    levels: list[RiskLevel] = Field(min_length=2, max_length=MAX_SCALE)
    # Likelihood id -> the risk level id under each impact, lowest impact first; rows from the
    # most likely down, as the matrix is drawn, so the file reads as the picture.
    cells: dict[RiskId, list[RiskId]]

    @model_validator(mode="after")
    def _complete_and_consistent(self) -> RiskMatrix:
        _check_scale("likelihood", self.likelihood_levels)
        _check_scale("impact", self.impact_levels)
        _unique("levels", [level.id for level in self.levels])
        self._check_colours()
        self._check_cells()
        self._check_monotonic()
        return self

    def _check_colours(self) -> None:
        lightness = [level.luminance for level in self.levels]
        falling = lightness[0] > lightness[-1]
        for index in range(1, len(self.levels)):
            before, here = lightness[index - 1], lightness[index]
            darker = here < before
            if darker != falling or _contrast(before, here) < MIN_LEVEL_CONTRAST:
                level = self.levels[index]
                raise ValueError(
                    f"levels[{index}]({level.id}): colour {level.colour} is too close in "
                    f"lightness to {self.levels[index - 1].colour}, or out of order; risk levels "
                    f"must grow steadily {'darker' if falling else 'lighter'}, each at least "
                    f"{MIN_LEVEL_CONTRAST}:1 from the one before, to be read without colour"
                )

    def _check_cells(self) -> None:
        known_levels = {level.id for level in self.levels}
        expected_rows = [level.id for level in reversed(self.likelihood_levels)]
        for row_id in self.cells:
            if row_id not in expected_rows:
                raise ValueError(f"cells.{row_id}: {row_id} is not a likelihood level")
        for row_id in expected_rows:
            if row_id not in self.cells:
                raise ValueError(f"cells: the row for likelihood {row_id} is missing")
        if list(self.cells) != expected_rows:
            raise ValueError(
                "cells: rows must run from the most likely to the least, as the matrix is "
                f"drawn: {', '.join(expected_rows)}"
            )
        for row_id, row in self.cells.items():
            if len(row) != len(self.impact_levels):
                raise ValueError(
                    f"cells.{row_id}: {len(row)} cells, but there are {len(self.impact_levels)} "
                    "impact levels; one cell per impact, lowest impact first"
                )
            for column, level_id in enumerate(row):
                if level_id not in known_levels:
                    raise ValueError(
                        f"cells.{row_id}[{column}]({self.impact_levels[column].id}): "
                        f"{level_id} is not a risk level"
                    )

    def _check_monotonic(self) -> None:
        # A more likely or more harmful scenario is never a lower risk: a grid that says so is
        # a typing mistake, and it would let a scenario fall within appetite by being worse.
        rank = {level.id: index for index, level in enumerate(self.levels)}
        for row_index, likelihood in enumerate(self.likelihood_levels):
            row = self.cells[likelihood.id]
            below = self.cells[self.likelihood_levels[row_index - 1].id] if row_index else None
            for column, impact in enumerate(self.impact_levels):
                where = f"cells.{likelihood.id}[{column}]({impact.id})"
                if column and rank[row[column - 1]] > rank[row[column]]:
                    raise ValueError(
                        f"{where}: {row[column]} is lower than the cell to its left; risk must "
                        "not fall as impact rises"
                    )
                if below is not None and rank[below[column]] > rank[row[column]]:
                    raise ValueError(
                        f"{where}: {row[column]} is lower than the cell below it; risk must "
                        "not fall as likelihood rises"
                    )

    def likelihood_ids(self) -> list[str]:
        """The likelihood scale's ids, lowest first."""
        return [level.id for level in self.likelihood_levels]

    def likelihood(self, likelihood_id: str) -> ScaleLevel:
        return self._find(self.likelihood_levels, likelihood_id, "likelihood level")

    def impact(self, impact_id: str) -> ScaleLevel:
        return self._find(self.impact_levels, impact_id, "impact level")

    def level(self, level_id: str) -> RiskLevel:
        return self._find(self.levels, level_id, "risk level")

    def _find(self, levels: list[Found], wanted: str, what: str) -> Found:
        for level in levels:
            if level.id == wanted:
                return level
        raise UnknownRiskId(f"{wanted!r} is not a {what} of risk matrix {self.version}")

    def level_of(self, likelihood_id: str, impact_id: str) -> RiskLevel:
        likelihood, impact = self.likelihood(likelihood_id), self.impact(impact_id)
        return self.level(self.cells[likelihood.id][impact.score - 1])

    def step(self, likelihood_id: str, steps: int) -> str:
        """The likelihood `steps` up (down when negative) from this one, held at either end."""
        score = self.likelihood(likelihood_id).score + steps
        score = min(max(score, 1), len(self.likelihood_levels))
        return self.likelihood_levels[score - 1].id

    def rank(self, level_id: str) -> int:
        """The level's place among the risk levels, 0 for the lowest."""
        return self.levels.index(self.level(level_id))

    def grid(self) -> list[GridRow]:
        """The heatmap's rows, the most likely first (the top row as drawn); cells run from the
        lowest impact to the highest."""
        return [
            GridRow(
                likelihood=likelihood,
                cells=tuple(self.level(level_id) for level_id in self.cells[likelihood.id]),
            )
            for likelihood in reversed(self.likelihood_levels)
        ]
