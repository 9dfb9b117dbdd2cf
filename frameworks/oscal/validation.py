"""Validate documents against NIST's OSCAL complete JSON schema, offline."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import regex
from jsonschema import Draft7Validator, validators
from jsonschema.exceptions import ValidationError

SCHEMA_FILE = Path(__file__).resolve().parent / "schema" / "oscal_complete_schema-1.2.3.json"
SCHEMA_OSCAL_VERSION = "1.2.3"
MAX_REPORTED_ERRORS = 5


def _pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Any:
    # OSCAL patterns use \p{L} and friends, which only the `regex` module understands.
    if isinstance(instance, str) and not _compiled(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


@cache
def _compiled(pattern: str) -> regex.Pattern[str]:
    return regex.compile(pattern)


@cache
def _validator() -> Draft7Validator:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    oscal_validator = validators.extend(Draft7Validator, {"pattern": _pattern})
    return oscal_validator(schema)


def _pointer(error: ValidationError) -> str:
    return "/" + "/".join(str(part) for part in error.absolute_path)


def _deepest(error: ValidationError) -> ValidationError:
    """oneOf/anyOf failures hide the useful reason in their context; pick the deepest one."""
    best = error
    for child in error.context or []:
        candidate = _deepest(child)
        if len(candidate.absolute_path) > len(best.absolute_path):
            best = candidate
    return best


def oscal_schema_errors(document: Any) -> list[str]:
    """Up to a few errors as 'json-pointer: message'; an empty list means the document is valid."""
    found: list[str] = []
    for error in _validator().iter_errors(document):
        deepest = _deepest(error)
        found.append(f"{_pointer(deepest)}: {deepest.message[:300]}")
        if len(found) >= MAX_REPORTED_ERRORS:
            break
    return found
