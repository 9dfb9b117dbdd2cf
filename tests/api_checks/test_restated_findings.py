"""One fault, one finding: what only restates a stronger finding on the same operation is
folded into it (checks/data/api_restates.yaml), whichever part of the check raised each."""

from __future__ import annotations

from checks.api.restates import Restatements, fold_findings
from checks.findings import CheckFinding, Severity

RULES = Restatements(version=1, restates={"API-AUTHZ-001": ("ST402",)})
READ = "GET /v1/notes/{id}"
WRITE = "PUT /v1/notes/{id}"


def _found(code: str, **evidence: object) -> CheckFinding:
    return CheckFinding(
        code=code, severity=Severity.CRITICAL, title=code, evidence=evidence, advice="fix it"
    )


def test_the_matrix_proof_takes_in_schemathesis_on_the_same_operation() -> None:
    schemathesis = _found(
        "ST402",
        operations=[READ, WRITE],
        message="another user's note",
        samples=[{"operation": READ}, {"operation": WRITE}],
    )
    matrix = _found("API-AUTHZ-001", operation=READ, objects=["/v1/notes/1"])
    folded = fold_findings([schemathesis, matrix], RULES)
    by_code = {f.code: f for f in folded}
    # The write was not proven by the matrix: schemathesis keeps it, and only it.
    assert by_code["ST402"].evidence["operations"] == [WRITE]
    assert by_code["ST402"].evidence["samples"] == [{"operation": WRITE}]
    assert by_code["API-AUTHZ-001"].evidence["also_reported"] == [
        {"code": "ST402", "operation": READ, "message": "another user's note"}
    ]


def test_a_restatement_with_nothing_left_goes_and_others_stay() -> None:
    schemathesis = _found("ST402", operations=[READ])
    matrix = _found("API-AUTHZ-001", operation=READ)
    elsewhere = _found("ST402", operations=[WRITE])  # another run's, on another operation
    unrelated = _found("API-PROBE-001", operations=[READ])
    folded = fold_findings([schemathesis, matrix, elsewhere, unrelated], RULES)
    assert [f.code for f in folded] == ["API-AUTHZ-001", "ST402", "API-PROBE-001"]
    assert folded[1].evidence["operations"] == [WRITE]


def test_without_the_stronger_finding_nothing_is_folded() -> None:
    schemathesis = _found("ST402", operations=[READ])
    assert fold_findings([schemathesis], RULES) == [schemathesis]
