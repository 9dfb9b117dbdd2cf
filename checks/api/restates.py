"""Fold findings that only restate a stronger one (checks/data/api_restates.yaml)."""

from __future__ import annotations

from dataclasses import replace
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from checks.api.live import LiveFailure
    from checks.findings import CheckFinding


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


def _operations(item: CheckFinding) -> list[str]:
    evidence = item.evidence
    if isinstance(evidence.get("operations"), list):
        return [str(op) for op in evidence["operations"]]
    return [str(evidence["operation"])] if evidence.get("operation") else []


def fold_findings(
    findings: list[CheckFinding], rules: Restatements | None = None
) -> list[CheckFinding]:
    """The same folding across sources, on the check's findings: the authorisation matrix's
    proof with real objects (API-AUTHZ-001) restates schemathesis's object-level failure on the
    same operation, which is one fault, not two. A finding left with no operation goes."""
    rules = rules or restatements()
    covered: dict[str, set[str]] = {}
    for item in findings:
        covered.setdefault(item.code, set()).update(_operations(item))
    weaker_of = {code: strong for strong, weaker in rules.restates.items() for code in weaker}
    folded: dict[str, list[dict[str, Any]]] = {}
    kept: list[CheckFinding] = []
    for item in findings:
        strong = weaker_of.get(item.code)
        operations = _operations(item)
        overlap = [op for op in operations if op in covered.get(strong or "", set())]
        if not strong or not overlap or "operations" not in item.evidence:
            kept.append(item)
            continue
        folded.setdefault(strong, []).extend(
            {"code": item.code, "operation": op, "message": str(item.evidence.get("message") or "")}
            for op in overlap
        )
        left = [op for op in operations if op not in overlap]
        if left:
            samples = [s for s in item.evidence.get("samples") or [] if s.get("operation") in left]
            evidence = item.evidence | {"operations": left, "samples": samples}
            kept.append(item.model_copy(update={"evidence": evidence}))
    result = []
    for item in kept:
        extra = folded.pop(item.code, None) if item.code in folded else None
        if extra:
            also = list(item.evidence.get("also_reported") or []) + extra
            item = item.model_copy(update={"evidence": item.evidence | {"also_reported": also}})
        result.append(item)
    return result
