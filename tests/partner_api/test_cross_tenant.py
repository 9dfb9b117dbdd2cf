"""Every endpoint, as the other tenant: a supplier never reads, changes or learns of another
supplier's objects. Objects outside the caller's tenancy are 404, exactly like missing ones."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from posture.storage.engine import transaction
from posture.storage.models import (
    Assessment,
    AuditEvent,
    Evidence,
    Job,
    PqChallenge,
    Product,
)
from tests.partner_api.conftest import bearer
from tests.partner_api.world import ApiWorld

PUBLIC = {
    "getFramework",
    "listFrameworks",
    "getFrameworkVersion",
    "listListings",
    "getPassportKeys",
    "getPassportRevocations",
    "verifyPassport",
}
FILE = {"file": ("cert.pem", b"-----BEGIN CERTIFICATE-----\n", "application/x-pem-file")}
# The risk register belongs to forces and national bodies: no supplier role reads or writes it,
# so a supplier is refused by role (403) whichever organisation's record it names, as for
# reviewAnswer. Force against force is tests/partner_api/test_risk_api.py.
# Operations no supplier role may use at all: refused by role (403) whichever object they name,
# which tells nothing of the object.
RISK_OPERATIONS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "raiseProductTargetProfile": (
        "POST",
        "/v1/products/1/target-profile/raise",
        {"json": {"profile_id": "supplier-critical-national", "reason": "Planted by s2 here"}},
    ),
    "listRiskScenarios": ("GET", "/v1/risk/scenarios", {}),
    "getRiskScenario": ("GET", "/v1/risk/scenarios/1", {}),
    "createRiskScenario": (
        "POST",
        "/v1/risk/scenarios",
        {
            "json": {
                "organisation_id": 1,
                "subject_kind": "organisation",
                "title": "Planted by a supplier",
                "threat": "data-breach",
                "threat_text": "Planted",
                "vulnerability_text": "Planted",
                "inherent_likelihood": "likely",
                "inherent_impact": "major",
                "current_impact": "major",
            }
        },
    ),
    "recordRiskTreatment": (
        "POST",
        "/v1/risk/scenarios/1/treatments",
        {"json": {"kind": "avoid", "description": "Planted by a supplier"}},
    ),
    "addRiskAction": (
        "POST",
        "/v1/risk/treatments/1/actions",
        {"json": {"title": "Planted", "responsible": "Someone", "due_on": "2027-01-01"}},
    ),
    "setRiskActionStatus": ("POST", "/v1/risk/actions/1/status", {"json": {"status": "done"}}),
    "getRiskHeatmap": ("GET", "/v1/risk/organisations/1/heatmap", {}),
    "listDeployments": ("GET", "/v1/risk/organisations/1/deployments", {}),
    "putDeployment": (
        "PUT",
        "/v1/risk/organisations/1/deployments/1",
        {"json": {"police_networks": ["pnn"]}},
    ),
    "exportPortfolio": ("GET", "/v1/risk/organisations/1/portfolio", {}),
    "importPortfolio": (
        "POST",
        "/v1/risk/organisations/1/portfolio-imports",
        {"files": {"file": ("portfolio.csv", b"product_id\n1\n", "text/csv")}},
    ),
    "decidePassport": (
        "POST",
        "/v1/passports/PP-0000000000000000/decisions",
        {"json": {"decision": "revoke", "reason": "Planted by a supplier"}},
    ),
    "getAssuranceAvoided": ("GET", "/v1/passport-reliance", {}),
    "listReliances": ("GET", "/v1/risk/organisations/1/reliances", {}),
    "relyOnPassport": (
        "PUT",
        "/v1/risk/organisations/1/deployments/1/reliance",
        {"json": {"passport": "PP-0000000000000000"}},
    ),
    "endReliance": ("DELETE", "/v1/risk/organisations/1/deployments/1/reliance", {}),
    "decideFindingDispute": (
        "POST",
        "/v1/findings/1/decision",
        {"json": {"decision": "uphold", "note": "Planted by a supplier"}},
    ),
}


def _s1_job(client: TestClient, prepared: ApiWorld) -> int:
    product_id = prepared.world.orgs["s1"].product_id
    queued = client.post(
        f"/v1/products/{product_id}/checks",
        json={"kind": "tls", "target": "vault.example:443"},
        headers=bearer(prepared, "s1"),
    )
    assert queued.status_code == 202, queued.text
    assert queued.headers["Location"] == f"/v1/jobs/{queued.json()['id']}"
    return queued.json()["id"]


def _s1_challenge(client: TestClient, prepared: ApiWorld) -> int:
    product_id = prepared.world.orgs["s1"].product_id
    issued = client.post(
        f"/v1/products/{product_id}/pq-proof/challenges", json={}, headers=bearer(prepared, "s1")
    )
    assert issued.status_code == 201, issued.text
    return issued.json()["id"]


def _s1_passport(client: TestClient, prepared: ApiWorld) -> str:
    """s1's product assessment accepted in full, which issues its passport."""
    from tests.partner_api.test_passport_api import issue_s1_passport

    return issue_s1_passport(client, prepared)[0]


def _s1_finding(client: TestClient, prepared: ApiWorld) -> int:
    """A finding a check run showed on s1's product, tracked as the worker tracks it."""
    from tests.findings.scenario import OLD_TLS, START, run_check

    return run_check(client.app.state.runtime.sessions, prepared.world, [OLD_TLS], START).opened[0]


def _object_requests(
    prepared: ApiWorld,
    job_id: int,
    challenge_id: int,
    passport: str = "PP-0000000000000000",
    finding: int = 1,
) -> dict[str, tuple[str, str, dict[str, Any]]]:
    """For each operation on one object: s2's request for s1's object."""
    s1 = prepared.world.orgs["s1"]
    product, run = s1.product_id, s1.check_run_id
    return {
        "getPassport": ("GET", f"/v1/passports/{passport}", {}),
        "downloadPassport": ("GET", f"/v1/passports/{passport}/document", {}),
        "getProduct": ("GET", f"/v1/products/{product}", {}),
        "updateProduct": ("PATCH", f"/v1/products/{product}", {"json": {"name": "Planted"}}),
        "withdrawProduct": ("POST", f"/v1/products/{product}/withdraw", {}),
        "issuePqChallenge": ("POST", f"/v1/products/{product}/pq-proof/challenges", {"json": {}}),
        "answerPqChallenge": (
            "POST",
            f"/v1/pq-proof/challenges/{challenge_id}/answer",
            {"json": {"public_key": "AAAA", "signature": "AAAA"}},
        ),
        "getProductScore": ("GET", f"/v1/products/{product}/score", {}),
        "getProductTargetProfile": ("GET", f"/v1/products/{product}/target-profile", {}),
        "createProduct": (
            "POST",
            "/v1/products",
            {
                "json": {
                    "organisation_id": s1.organisation_id,
                    "name": "Planted Product",
                    "category": "other",
                    "deployment_model": "saas",
                }
            },
        ),
        "listAssessments": ("GET", f"/v1/assessments?product_id={product}", {}),
        "getAssessment": ("GET", f"/v1/assessments/{s1.submitted_assessment_id}", {}),
        "getAssessmentOscalResults": (
            "GET",
            f"/v1/assessments/{s1.submitted_assessment_id}/oscal-results",
            {},
        ),
        "submitAssessment": ("POST", f"/v1/assessments/{s1.draft_assessment_id}/submit", {}),
        "addEvidence": (
            "POST",
            f"/v1/assessments/{s1.draft_assessment_id}/evidence",
            {"files": {"file": ("note.txt", b"planted", "text/plain")}},
        ),
        "startEndpointCheck": (
            "POST",
            f"/v1/products/{product}/checks",
            {"json": {"kind": "tls", "target": "vault.example:443"}},
        ),
        "startFileCheck": (
            "POST",
            f"/v1/products/{product}/checks/file",
            {"data": {"kind": "cert"}, "files": FILE},
        ),
        "getJob": ("GET", f"/v1/jobs/{job_id}", {}),
        "listCheckRuns": ("GET", f"/v1/check-runs?product_id={product}", {}),
        "getCheckRun": ("GET", f"/v1/check-runs/{run}", {}),
        "getCheckRunSarif": ("GET", f"/v1/check-runs/{run}/sarif", {}),
        "getCheckRunCbom": ("GET", f"/v1/check-runs/{run}/cbom", {}),
        "listProductFindings": ("GET", f"/v1/products/{product}/findings", {}),
        "disputeFinding": (
            "POST",
            f"/v1/findings/{finding}/dispute",
            {"json": {"reason": "Planted by another supplier"}},
        ),
        "setFindingRemediation": (
            "PUT",
            f"/v1/findings/{finding}/remediation",
            {"json": {"owner_user_id": 1}},
        ),
    }


def _counts(client: TestClient) -> dict[str, Any]:
    """What a refused write could have changed, read from the database the app serves."""
    with client.app.state.runtime.sessions() as session:
        drafts = session.scalar(select(func.count()).where(Assessment.status == "draft"))
        return {
            model.__name__: session.scalar(select(func.count()).select_from(model))
            for model in (Product, Evidence, Job, PqChallenge, AuditEvent)
        } | {
            "drafts": drafts,
            # Edits and withdrawals change rows rather than add them.
            "products": session.execute(
                select(Product.id, Product.name, Product.deleted_at, Product.updated_at)
            ).all(),
        }


def test_no_object_of_one_supplier_is_reachable_by_another(
    api: tuple[TestClient, ApiWorld],
) -> None:
    client, prepared = api
    job_id = _s1_job(client, prepared)
    challenge_id = _s1_challenge(client, prepared)
    passport = _s1_passport(client, prepared)
    finding = _s1_finding(client, prepared)
    before = _counts(client)
    assert before["Job"] == 1
    requests = _object_requests(prepared, job_id, challenge_id, passport, finding)
    for operation, (method, url, extra) in requests.items():
        refused = client.request(method, url, headers=bearer(prepared, "s2"), **extra)
        assert refused.status_code == 404, (operation, refused.status_code, refused.text)
        assert refused.headers["content-type"] == "application/problem+json", operation
        # The owner can reach the same object: the refusal is about tenancy, not existence.
        if method == "GET":
            owner = client.request(method, url, headers=bearer(prepared, "s1"))
            assert owner.status_code in {200, 409}, (operation, owner.text)
    assert _counts(client) == before


def test_lists_show_each_supplier_only_its_own(api: tuple[TestClient, ApiWorld]) -> None:
    client, prepared = api
    orgs = prepared.world.orgs
    for who, other in (("s1", "s2"), ("s2", "s1")):
        headers = bearer(prepared, who)
        mine = client.get("/v1/organisations/mine", headers=headers).json()
        assert [o["id"] for o in mine] == [orgs[who].organisation_id]
        products = client.get("/v1/products", headers=headers).json()
        assert [p["id"] for p in products["items"]] == [orgs[who].product_id]
        assessments = client.get("/v1/assessments", headers=headers).json()["items"]
        assert {a["organisation_id"] for a in assessments} == {orgs[who].organisation_id}
        runs = client.get("/v1/check-runs", headers=headers).json()["items"]
        assert {r["product_id"] for r in runs} == {orgs[who].product_id}
        assert orgs[other].product_id not in {r["product_id"] for r in runs}
    _s1_passport(client, prepared)
    listed = {
        who: [
            p["product_id"]
            for p in client.get("/v1/passports", headers=bearer(prepared, who)).json()
        ]
        for who in ("s1", "s2", "force")
    }
    assert listed == {"s1": [orgs["s1"].product_id], "s2": [], "force": [orgs["s1"].product_id]}


def test_assessor_and_buyer_endpoints_refuse_suppliers_and_other_buyers(
    api: tuple[TestClient, ApiWorld],
) -> None:
    client, prepared = api
    version = prepared.shortlist_version_id
    assert client.get("/v1/review-queue", headers=bearer(prepared, "s1")).status_code == 403
    assert client.get("/v1/review-queue", headers=bearer(prepared, "assessor")).status_code == 200
    # Deciding is for assessors only (tests/partner_api/test_review_api.py covers the rest).
    review = "/v1/answers/1/review"
    refused = client.post(review, json={"decision": "accept"}, headers=bearer(prepared, "s2"))
    assert refused.status_code == 403
    assert client.get(f"/v1/shortlists/{version}", headers=bearer(prepared, "buyer")).json() == []
    # A force's buyer may manage shortlists, but only its own organisation's.
    other = client.get(f"/v1/shortlists/{version}", headers=bearer(prepared, "force"))
    assert other.status_code == 404
    assert (
        client.get(f"/v1/shortlists/{version}", headers=bearer(prepared, "s1")).status_code == 403
    )


def test_every_operation_is_covered_here(api: tuple[TestClient, ApiWorld]) -> None:
    client, prepared = api
    document = client.get("/openapi.json").json()
    operations = {
        operation["operationId"]
        for item in document["paths"].values()
        for operation in item.values()
    }
    covered = (
        set(_object_requests(prepared, 1, 1))
        | PUBLIC
        | {
            "listMyOrganisations",
            "listProducts",
            "listReviewQueue",
            "reviewAnswer",
            "listPassports",
            "getShortlist",
        }
        | set(RISK_OPERATIONS)
    )
    assert operations == covered


def test_risk_register_operations_refuse_suppliers_by_role(
    api: tuple[TestClient, ApiWorld],
) -> None:
    client, prepared = api
    f1 = prepared.world.orgs["f1"].organisation_id
    before = _counts(client)
    for operation, (method, url, extra) in RISK_OPERATIONS.items():
        url = url.replace("organisations/1", f"organisations/{f1}")
        # Another supplier's own product: refused by role all the same.
        url = url.replace("products/1/", f"products/{prepared.world.orgs['s1'].product_id}/")
        refused = client.request(method, url, headers=bearer(prepared, "s2"), **extra)
        assert refused.status_code == 403, (operation, refused.text)
        assert refused.headers["content-type"] == "application/problem+json", operation
    assert _counts(client) == before


@pytest.mark.parametrize("token", [None, "not-a-token", "expired"])
def test_every_secured_operation_needs_a_valid_token(
    api: tuple[TestClient, ApiWorld], token: str | None
) -> None:
    client, prepared = api
    if token == "expired":
        token = _expired_token(prepared, client)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    document = client.get("/openapi.json").json()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            url = path.replace("{", "").replace("}", "")
            url = url.replace("catalogue_id", "ncsc-caf-4.0")
            for name in (
                "product_id",
                "assessment_id",
                "job_id",
                "run_id",
                "version_id",
                "challenge_id",
            ):
                url = url.replace(name, "1")
            response = client.request(method, url, headers=headers)
            if operation["operationId"] in PUBLIC:
                # Verification needs a file to verify; the rest answer as they are.
                wanted = 422 if operation["operationId"] == "verifyPassport" else 200
                assert response.status_code == wanted, (path, response.text)
                continue
            assert response.status_code == 401, (method, path, response.status_code)
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
            assert response.json()["detail"] == "give a valid bearer token"


def _expired_token(prepared: ApiWorld, client: TestClient) -> str:
    from datetime import timedelta

    from kernel.clock import utcnow
    from posture.identity.tokens import issue_token, signing_key
    from posture.storage.models import User

    runtime = client.app.state.runtime
    with transaction(runtime.sessions) as session:
        user = session.get(User, prepared.world.users[next(iter(prepared.world.users))])
        assert user is not None
        token, _ = issue_token(
            session,
            None,
            signing_key(runtime.settings),
            user,
            ["products:read"],
            minutes=5,
            now=utcnow() - timedelta(minutes=10),
        )
    return token
