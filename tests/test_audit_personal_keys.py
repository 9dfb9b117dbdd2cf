"""What audit data keeps hashed is an allow-list of keys judged not personal; everything else is
kept apart. These tests hold the list to the code that writes audit events: a key on it is
one code really writes, and no form written whole hashes free text."""

from __future__ import annotations

import ast
import typing
from pathlib import Path

import pytest
from pydantic import BaseModel

from frameworks.deployment_facts import ForceUse
from posture.audit_personal import HASHED_DATA_KEYS
from posture.portfolio.details import PortfolioDetails
from supplier_portal.forms import AnswerForm
from supplier_portal.organisations import ProfileForm
from supplier_portal.procurement.shortlists import RequirementForm
from supplier_portal.product_fields import ProductFields

ROOT = Path(__file__).resolve().parents[1]
CODE = ("assure_cli", "checks", "kernel", "partner_api", "posture", "supplier_portal", "ui")
# Free text on a form written whole that is hashed all the same, and why.
HASHED_TEXT = {
    "name": "a product's name: what the product is called, not a person",
    "outcome_id": "a framework outcome's id",
    "indicators_met": "indicator ids of the framework",
    "criticality": "a criticality tier's id from the portfolio policy",
}
FORMS_WRITTEN_WHOLE: tuple[type[BaseModel], ...] = (
    AnswerForm,
    ForceUse,
    PortfolioDetails,
    ProductFields,
    ProfileForm,
    RequirementForm,
)


def _literal_keys() -> set[str]:
    """Every string used as a dict key anywhere in the code, in a literal or assigned: where
    audit data is built."""
    keys: set[str] = set()
    for folder in CODE:
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Dict):
                    keys |= {
                        k.value
                        for k in node.keys
                        if isinstance(k, ast.Constant) and isinstance(k.value, str)
                    }
                elif (
                    isinstance(node, ast.Subscript)
                    and isinstance(node.ctx, ast.Store)
                    and isinstance(node.slice, ast.Constant)
                    and isinstance(node.slice.value, str)
                ):
                    keys.add(node.slice.value)
    return keys


def _form_fields() -> set[str]:
    return {name for form in FORMS_WRITTEN_WHOLE for name in form.model_fields}


def test_every_hashed_key_is_one_the_code_writes() -> None:
    """A stale entry would hash a value some future code writes under that name unreviewed."""
    written = _literal_keys() | _form_fields() | {"level"}  # "level": the tests' own events
    assert sorted(HASHED_DATA_KEYS - written) == []


def _is_text(annotation: object) -> bool:
    return annotation is str or str in typing.get_args(annotation)


@pytest.mark.parametrize("form", FORMS_WRITTEN_WHOLE, ids=lambda f: f.__name__)
def test_a_form_written_whole_hashes_no_free_text(form: type[BaseModel]) -> None:
    for name, field in form.model_fields.items():
        if _is_text(field.annotation) and name in HASHED_DATA_KEYS:
            assert name in HASHED_TEXT, f"{form.__name__}.{name} is free text and hashed"
