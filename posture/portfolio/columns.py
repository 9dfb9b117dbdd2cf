"""A deployment as a spreadsheet row, and back. The columns are the product (its id, its name)
and the fields of DeploymentRecord, in that order; how a cell is read follows each field's
type in the record's schema, so a field added to the record is a column without more code.

People type cells as they would say them: a classification or a network by its label or its
value in any case ("TOP SECRET", "top-secret"), lists separated by semicolons, yes or no, and
dates as 2027-03-31 or 31/03/2027 (the UK order)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from functools import cache
from typing import Any

from frameworks.deployment_facts import LABELS
from posture.portfolio.details import LIST_SEPARATOR, DeploymentRecord
from posture.portfolio.policy import portfolio_policy

PRODUCT_ID = "product_id"
PRODUCT = "product"
FIELDS: tuple[str, ...] = tuple(DeploymentRecord.model_fields)
COLUMNS: tuple[str, ...] = (PRODUCT_ID, PRODUCT, *FIELDS)
_YES = {"yes", "y", "true", "1"}
_NO = {"no", "n", "false", "0", ""}


class CellProblem(ValueError):
    """A cell that cannot be read as its column's type; the message says what it should be."""


def column_key(header: str) -> str:
    """A header as people may type it ("Product version", "product-version") to its column."""
    return "_".join(header.replace("-", " ").split()).casefold()


@cache
def _schemas() -> dict[str, dict[str, Any]]:
    schema = DeploymentRecord.model_json_schema()
    definitions = schema.get("$defs", {})

    def resolved(node: dict[str, Any]) -> dict[str, Any]:
        if "$ref" in node:
            return resolved(definitions[node["$ref"].rsplit("/", 1)[-1]])
        if "anyOf" in node:
            return resolved(next(n for n in node["anyOf"] if n.get("type") != "null"))
        if node.get("type") == "array":
            return {**node, "items": resolved(node["items"])}
        return node

    return {name: resolved(schema["properties"][name]) for name in FIELDS}


@cache
def _spellings() -> dict[str, str]:
    """Every way a vocabulary value may be typed, casefolded, to the value."""
    spelled = {}
    for member, label in LABELS.items():
        spelled[member.value.casefold()] = member.value
        spelled[label.casefold()] = member.value
    for tier in portfolio_policy().criticality:
        spelled[tier.id.casefold()] = tier.id
        spelled[tier.label.casefold()] = tier.id
    return spelled


def _term(text: str, allowed: list[str]) -> str:
    value = _spellings().get(" ".join(text.split()).casefold(), text)
    if value not in allowed:
        raise CellProblem(f"{text!r} is not one of {', '.join(allowed)}")
    return value


def _date(text: str) -> str:
    for layout in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, layout).date().isoformat()
        except ValueError:
            continue
    raise CellProblem(f"{text!r} is not a date; write 2027-03-31 or 31/03/2027")


def _integer(text: str) -> int:
    digits = text.replace(",", "")
    if not digits.isascii() or not digits.isdigit():
        raise CellProblem(f"{text!r} is not a whole number")
    if len(digits) > 20:
        raise CellProblem(f"{text!r} is too large")
    return int(digits)


def _scalar(schema: dict[str, Any], text: str) -> Any:
    kind = schema.get("type")
    if kind == "boolean":
        folded = text.casefold()
        if folded in _YES:
            return True
        if folded in _NO:
            return False
        raise CellProblem(f"{text!r} is not yes or no")
    if kind == "integer":
        return _integer(text)
    if schema.get("format") == "date":
        return _date(text)
    if "enum" in schema:
        return _term(text, schema["enum"])
    return text


def cell_value(field: str, text: str) -> Any:
    """What a cell says for `field`, ready for DeploymentRecord to validate; a blank cell is
    the field left undeclared."""
    schema = _schemas()[field]
    text = text.strip()
    if schema.get("type") == "array":
        parts = [part.strip() for part in text.split(LIST_SEPARATOR)]
        return [_scalar(schema["items"], part) for part in parts if part]
    if not text:
        return False if schema.get("type") == "boolean" else None
    return _scalar(schema, text)


def cell_text(value: Any) -> str | None:
    """A field's value as its cell: lists joined by semicolons, yes or no, ISO dates."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return f"{LIST_SEPARATOR} ".join(str(cell_text(v)) for v in value) or None
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, StrEnum):
        return value.value
    return str(value)
