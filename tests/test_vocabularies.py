"""Each vocabulary has one definition: posture bands (the scoring policy), data locations,
certification schemes, classifications, product categories and deployment models
(supplier_portal/vocabulary.py) and listing states (posture/storage/models/enums.py).
Forms, gates and API models take their values from it, and no other module spells them out."""

from __future__ import annotations

import ast
from importlib import resources
from pathlib import Path

import pytest
import yaml

from frameworks.loader import default_framework
from partner_api.models import ProductOut, ScoreOut
from posture.scoring.bands import PostureBand, band_names, meets_band, minimum_band_choices
from supplier_portal.challenges.forms import ChallengeForm
from supplier_portal.procurement.gates import Gates
from supplier_portal.procurement.lifecycle import ListingState, listing_lifecycle
from supplier_portal.vocabulary import (
    CertificationScheme,
    DataLocation,
    DeploymentModel,
    NationalSystem,
    PoliceNetwork,
    ProductCategory,
    SecurityClassification,
    VettingLevel,
    values,
)

ROOT = Path(__file__).resolve().parents[1]
APPLICATION = ("supplier_portal", "partner_api", "ui", "posture", "checks", "assure_cli")


def _enum_values(model, field: str) -> list[str]:
    schema = model.model_json_schema()
    definition = schema["properties"][field]
    definition = definition.get("items", definition)
    if "anyOf" in definition:
        definition = next(d for d in definition["anyOf"] if d.get("type") != "null")
    name = definition["$ref"].rsplit("/", 1)[-1]
    return schema["$defs"][name]["enum"]


def test_bands_are_the_scoring_policys_bands_best_first() -> None:
    assert band_names() == tuple(rule.band for rule in default_framework().scoring.bands)
    assert values(PostureBand) == list(band_names())
    assert minimum_band_choices() == list(band_names()[:-1])
    best, worst = band_names()[0], band_names()[-1]
    assert meets_band(best, worst)
    assert not meets_band(worst, best)
    assert not meets_band(None, worst)


@pytest.mark.parametrize(
    ("model", "field"),
    [(Gates, "min_posture_band"), (ChallengeForm, "min_posture_band"), (ScoreOut, "band")],
)
def test_every_band_field_takes_the_policys_bands(model, field: str) -> None:
    assert _enum_values(model, field) == list(band_names())


@pytest.mark.parametrize(
    ("model", "field", "vocabulary"),
    [
        (Gates, "required_certifications", CertificationScheme),
        (Gates, "allowed_data_locations", DataLocation),
        (ProductOut, "data_locations", DataLocation),
        (ProductOut, "max_classification", SecurityClassification),
        (ProductOut, "category", ProductCategory),
        (ProductOut, "deployment_model", DeploymentModel),
    ],
)
def test_gates_and_api_models_take_the_shared_vocabularies(model, field, vocabulary) -> None:
    assert _enum_values(model, field) == values(vocabulary)


def test_the_listing_lifecycle_covers_exactly_the_listing_states() -> None:
    assert set(listing_lifecycle().transitions) == set(ListingState)


def test_the_demo_catalogue_only_uses_the_product_vocabularies() -> None:
    catalogue = yaml.safe_load((resources.files("posture.demo") / "catalogue.yaml").read_text())
    assert set(catalogue["categories"]) <= set(values(ProductCategory))
    assert catalogue["deployment_models"] == values(DeploymentModel)


def _application_nodes():  # type: ignore[no-untyped-def]
    """(module path, syntax node) for every node of every application module."""
    for package in APPLICATION:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts:
                for node in ast.walk(ast.parse(path.read_text("utf-8"))):
                    yield path, node


def _literals_outside(home: Path) -> dict[str, list[str]]:
    """Where each string constant appears, in every application module but `home`."""
    found: dict[str, list[str]] = {}
    for path, node in _application_nodes():
        if path != home and isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.setdefault(node.value, []).append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


@pytest.mark.parametrize(
    ("vocabulary", "home"),
    [
        (DataLocation, "frameworks/deployment_facts.py"),
        (PoliceNetwork, "frameworks/deployment_facts.py"),
        (NationalSystem, "frameworks/deployment_facts.py"),
        (VettingLevel, "frameworks/deployment_facts.py"),
        (CertificationScheme, "supplier_portal/vocabulary.py"),
        (ListingState, "posture/storage/models/enums.py"),
    ],
)
def test_no_other_module_spells_out_a_vocabulary(vocabulary, home: str) -> None:
    literals = _literals_outside(ROOT / home)
    # "under_review" is also an assessment status and "other" a product category; the rest of
    # each vocabulary must not recur.
    shared = {"under_review", "other"}
    spelled = {v: literals[v] for v in values(vocabulary) if v in literals and v not in shared}
    assert spelled == {}


def test_no_module_spells_out_the_bands() -> None:
    bands, joined = set(band_names()), "".join(band_names())
    copies = []
    for path, node in _application_nodes():
        where = f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Constant) and node.value in (joined, r"^[A-E]$"):
            copies.append(where)
        if isinstance(node, ast.List | ast.Tuple):
            items = {e.value for e in node.elts if isinstance(e, ast.Constant)}
            if len(items & bands) >= 3:  # a pick list of bands, perhaps with "none"
                copies.append(where)
    assert copies == []
