"""The risk matrix: the shipped grid as a reader sees it, and every way a matrix file can be wrong
refused with the file and the place."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from frameworks.loader import FrameworkDataError
from frameworks.risk.matrix import RiskMatrix, UnknownRiskId
from frameworks.risk.policy import RISK_DATA, load_risk_policy, read_risk_file

EXPECTED_GRID = {
    #                 negligible   minor        moderate     major        severe
    "almost-certain": ["medium", "high", "high", "very-high", "very-high"],
    "likely": ["low", "medium", "high", "very-high", "very-high"],
    "possible": ["low", "medium", "medium", "high", "high"],
    "unlikely": ["very-low", "low", "medium", "medium", "high"],
    "rare": ["very-low", "very-low", "low", "low", "medium"],
}


@pytest.fixture
def shipped() -> RiskMatrix:
    return read_risk_file(RISK_DATA / "matrix-1.0.yaml", RiskMatrix)


def _matrix_document() -> dict[str, Any]:
    return yaml.safe_load((RISK_DATA / "matrix-1.0.yaml").read_text("utf-8"))


def _write(folder: Path, document: Any) -> Path:
    path = folder / "matrix-1.0.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), "utf-8")
    return path


def _refusal(folder: Path, document: Any) -> FrameworkDataError:
    path = _write(folder, document)
    with pytest.raises(FrameworkDataError) as caught:
        read_risk_file(path, RiskMatrix)
    assert caught.value.path == path
    return caught.value


def test_the_shipped_matrix_holds_the_expected_grid(shipped: RiskMatrix) -> None:
    drawn = {row.likelihood.id: [cell.id for cell in row.cells] for row in shipped.grid()}
    assert drawn == EXPECTED_GRID
    assert list(drawn) == list(EXPECTED_GRID)  # most likely on top, as drawn


def test_the_shipped_scales_run_lowest_first(shipped: RiskMatrix) -> None:
    assert [level.id for level in shipped.likelihood_levels] == [
        "rare",
        "unlikely",
        "possible",
        "likely",
        "almost-certain",
    ]
    assert [level.id for level in shipped.impact_levels] == [
        "negligible",
        "minor",
        "moderate",
        "major",
        "severe",
    ]
    assert [level.id for level in shipped.levels] == [
        "very-low",
        "low",
        "medium",
        "high",
        "very-high",
    ]
    assert "SECRET" in shipped.impact("severe").description


def test_level_of_reads_the_cell(shipped: RiskMatrix) -> None:
    assert shipped.level_of("rare", "severe").id == "medium"
    assert shipped.level_of("almost-certain", "negligible").id == "medium"
    assert shipped.level_of("likely", "major").id == "very-high"
    for likelihood, row in EXPECTED_GRID.items():
        for impact, expected in zip(
            [level.id for level in shipped.impact_levels], row, strict=True
        ):
            assert shipped.level_of(likelihood, impact).id == expected


def test_step_is_held_at_both_ends(shipped: RiskMatrix) -> None:
    assert shipped.step("unlikely", 1) == "possible"
    assert shipped.step("unlikely", -1) == "rare"
    assert shipped.step("unlikely", -5) == "rare"
    assert shipped.step("likely", 2) == "almost-certain"
    assert shipped.step("almost-certain", 10) == "almost-certain"
    assert shipped.step("possible", 0) == "possible"


def test_rank_orders_the_levels(shipped: RiskMatrix) -> None:
    assert [shipped.rank(level.id) for level in shipped.levels] == [0, 1, 2, 3, 4]


def test_an_unknown_id_is_refused_by_name(shipped: RiskMatrix) -> None:
    with pytest.raises(UnknownRiskId, match="'catastrophic' is not a impact level"):
        shipped.level_of("rare", "catastrophic")
    with pytest.raises(UnknownRiskId, match="'often' is not a likelihood level"):
        shipped.step("often", 1)
    with pytest.raises(UnknownRiskId, match="'amber' is not a risk level"):
        shipped.rank("amber")


def test_label_text_is_black_on_light_and_white_on_dark(shipped: RiskMatrix) -> None:
    assert shipped.level("very-low").text_colour == "#000000"
    assert shipped.level("very-high").text_colour == "#ffffff"


def test_a_missing_row_is_refused(tmp_path: Path) -> None:
    document = _matrix_document()
    del document["cells"]["possible"]
    error = _refusal(tmp_path, document)
    assert "cells: the row for likelihood possible is missing" in str(error)


def test_a_short_row_is_refused(tmp_path: Path) -> None:
    document = _matrix_document()
    document["cells"]["likely"] = document["cells"]["likely"][:4]
    error = _refusal(tmp_path, document)
    assert "cells.likely: 4 cells, but there are 5 impact levels" in str(error)


def test_an_extra_cell_is_refused(tmp_path: Path) -> None:
    document = _matrix_document()
    document["cells"]["rare"].append("high")
    error = _refusal(tmp_path, document)
    assert "cells.rare: 6 cells, but there are 5 impact levels" in str(error)


def test_an_extra_row_is_refused(tmp_path: Path) -> None:
    document = _matrix_document()
    document["cells"]["frequent"] = ["high"] * 5
    error = _refusal(tmp_path, document)
    assert "cells.frequent: frequent is not a likelihood level" in str(error)


def test_a_row_written_twice_is_refused_not_silently_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "matrix-1.0.yaml"
    text = (RISK_DATA / "matrix-1.0.yaml").read_text("utf-8")
    text = text.replace(
        "  rare:           [very-low,  very-low,  low,       low,       medium]",
        "  rare:           [very-low,  very-low,  low,       low,       medium]\n"
        "  rare:           [very-low,  very-low,  very-low,  very-low,  very-low]",
    )
    path.write_text(text, "utf-8")
    with pytest.raises(FrameworkDataError, match="'rare' is written twice") as caught:
        read_risk_file(path, RiskMatrix)
    assert caught.value.location.startswith("line ")


def test_an_unknown_level_in_a_cell_is_refused(tmp_path: Path) -> None:
    document = _matrix_document()
    document["cells"]["unlikely"][3] = "amber"
    error = _refusal(tmp_path, document)
    assert "cells.unlikely[3](major): amber is not a risk level" in str(error)


def test_rows_out_of_order_are_refused(tmp_path: Path) -> None:
    document = _matrix_document()
    document["cells"] = dict(reversed(list(document["cells"].items())))
    error = _refusal(tmp_path, document)
    assert "rows must run from the most likely to the least" in str(error)


def test_a_grid_where_worse_is_lower_is_refused(tmp_path: Path) -> None:
    document = _matrix_document()
    document["cells"]["possible"][4] = "low"
    error = _refusal(tmp_path, document)
    assert "cells.possible[4](severe): low is lower than the cell to its left" in str(error)


def test_a_grid_where_more_likely_is_lower_is_refused(tmp_path: Path) -> None:
    document = _matrix_document()
    document["cells"]["likely"][0] = "very-low"
    error = _refusal(tmp_path, document)
    assert "cells.likely[0](negligible): very-low is lower than the cell below" in str(error)


@pytest.mark.parametrize("scale", ["likelihood", "impact"])
def test_duplicate_scale_ids_are_refused(tmp_path: Path, scale: str) -> None:
    document = _matrix_document()
    document[scale][1]["id"] = document[scale][0]["id"]
    error = _refusal(tmp_path, document)
    assert f"{scale}: duplicate id {document[scale][0]['id']}" in str(error)


def test_duplicate_risk_level_ids_are_refused(tmp_path: Path) -> None:
    document = _matrix_document()
    document["levels"][2]["id"] = "low"
    error = _refusal(tmp_path, document)
    assert "levels: duplicate id low" in str(error)


def test_scores_must_rise_by_one_from_one(tmp_path: Path) -> None:
    document = _matrix_document()
    document["impact"][2]["score"] = 4
    error = _refusal(tmp_path, document)
    assert "impact[2](moderate): score must be 3" in str(error)


@pytest.mark.parametrize("colour", ["red", "#12345g", "#fff", "ffffb2", 16777138])
def test_a_colour_that_is_not_a_colour_is_refused(tmp_path: Path, colour: Any) -> None:
    document = _matrix_document()
    document["levels"][1]["colour"] = colour
    error = _refusal(tmp_path, document)
    assert error.location == "levels[1](low).colour"


def test_colours_that_cannot_be_told_apart_without_hue_are_refused(tmp_path: Path) -> None:
    document = _matrix_document()
    # Medium as light as low: told apart by hue alone, which a red-green colour-blind reader lacks.
    document["levels"][2]["colour"] = "#fecc5c"
    error = _refusal(tmp_path, document)
    assert "levels[2](medium): colour #fecc5c is too close in lightness" in str(error)


@pytest.mark.parametrize(
    ("where", "value", "location"),
    [
        (("impact", 0, "score"), "one", "impact[0](negligible).score"),
        (("impact", 0, "score"), True, "impact[0](negligible).score"),
        (("likelihood",), {"rare": 1}, "likelihood"),
        (("cells", "rare"), "very-low", "cells.rare"),
        (("title",), ["a", "list"], "title"),
        (("version",), 1.0, "version"),
    ],
)
def test_wrong_types_are_refused_at_their_place(
    tmp_path: Path, where: tuple[Any, ...], value: Any, location: str
) -> None:
    document = _matrix_document()
    node = document
    for key in where[:-1]:
        node = node[key]
    node[where[-1]] = value
    assert _refusal(tmp_path, document).location == location


def test_an_unknown_field_is_refused(tmp_path: Path) -> None:
    document = _matrix_document()
    document["levels"][0]["weight"] = 3
    assert _refusal(tmp_path, document).location == "levels[0](very-low).weight"


def test_a_broken_matrix_stops_the_whole_policy_loading(tmp_path: Path) -> None:
    for path in RISK_DATA.glob("*.yaml"):
        shutil.copy(path, tmp_path / path.name)
    document = _matrix_document()
    del document["cells"]["rare"]
    _write(tmp_path, document)
    with pytest.raises(FrameworkDataError, match="the row for likelihood rare is missing"):
        load_risk_policy(tmp_path)
