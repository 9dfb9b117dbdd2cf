"""Fold live failures that only restate a stronger one (checks/data/api_restates.yaml)."""

from __future__ import annotations

from dataclasses import replace
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from checks.api.live import LiveFailure


class Restatements(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int
    restates: dict[str, tuple[str, ...]]


@cache
def restatements() -> Restatements:
    text = (resources.files("checks") / "data" / "api_restates.yaml").read_text("utf-8")
    return Restatements.model_validate(yaml.safe_load(text))


def fold(failures: list[LiveFailure], rules: Restatements | None = None) -> list[LiveFailure]:
    """The failures with each restatement moved into the failure it restates, per operation."""
    rules = rules or restatements()
    by_code = {f.code: f for f in failures}
    folded: dict[str, list[dict[str, Any]]] = {}
    remaining = {f.code: list(f.operations) for f in failures}
    for strong, weaker in rules.restates.items():
        if strong not in by_code:
            continue
        covered = set(by_code[strong].operations)
        for code in weaker:
            if code not in by_code or code == strong:
                continue
            overlap = [op for op in remaining[code] if op in covered]
            if not overlap:
                continue
            remaining[code] = [op for op in remaining[code] if op not in covered]
            messages = {s.operation: s.message for s in by_code[code].samples}
            folded.setdefault(strong, []).extend(
                {"code": code, "operation": op, "message": messages.get(op, "")} for op in overlap
            )
    result = []
    for failure in failures:
        left = remaining[failure.code]
        if not left:
            continue
        if left != failure.operations:
            kept = [s for s in failure.samples if s.operation in left]
            failure = replace(
                failure,
                operations=left,
                count=max(1, failure.count - (len(failure.operations) - len(left))),
                samples=kept,
            )
        if failure.code in folded:
            failure = replace(failure, also_reported=folded[failure.code])
        result.append(failure)
    return result
