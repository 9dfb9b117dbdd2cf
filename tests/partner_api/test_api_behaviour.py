"""The API's contract beyond tenancy: scopes, limits, headers, problem details, ETags, writes
that are audited, and the checks and scores it exposes."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from kernel.clock import utcnow
from posture.identity.tokens import issue_token
from posture.storage.engine import transaction
from posture.storage.models import AuditEvent, Evidence, User
from tests.partner_api.conftest import bearer, client_for
from tests.partner_api.world import ApiWorld

PRODUCT = {"name": "Custody Vault", "category": "digital_evidence", "deployment_model": "saas"}


def _token(client: TestClient, user_id: int, scopes: list[str]) -> dict[str, str]:
    runtime = client.app.state.runtime
    with transaction(runtime.sessions) as session:
        user = session.get(User, user_id)
        assert user is not None
        token, _ = issue_token(session, None, runtime.key, user, scopes, minutes=5)
    return {"Authorization": f"Bearer {token}"}


def test_a_token_without_the_scope_is_403_and_changes_nothing(
    api: tuple[TestClient, ApiWorld],
) -> None:
    client, prepared = api
    from posture.storage.models.enums import Role

    read_only = _token(client, prepared.world.users[Role.SUPPLIER_ADMIN], ["products:read"])
    body = {**PRODUCT, "organisation_id": prepared.world.orgs["s1"].organisation_id}
    refused = client.post("/v1/products", json=body, headers=read_only)
    assert refused.status_code == 403
    assert "products:write" in refused.json()["detail"]
    assert client.get("/v1/products", headers=read_only).json()["total"] == 1


def test_a_product_registered_through_the_api_is_audited_and_readable(
    api: tuple[TestClient, ApiWorld],
) -> None:
    client, prepared = api
    body = {**PRODUCT, "organisation_id": prepared.world.orgs["s1"].organisation_id}
    created = client.post("/v1/products", json=body, headers=bearer(prepared, "s1"))
    assert created.status_code == 201, created.text
    product = created.json()
    assert created.headers["Location"] == f"/v1/products/{product['id']}"
    assert client.get(created.headers["Location"], headers=bearer(prepared, "s1")).json() == product
    with client.app.state.runtime.sessions() as session:
        actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id.desc()))
        assert "product.created" in list(actions)[:3]
    score = client.get(f"/v1/products/{product['id']}/score", headers=bearer(prepared, "s1"))
    assert score.json()["status"] == "unscored"
    assert score.json()["reason"] == "no submitted assessment yet"


def test_bad_input_is_422_without_echoing_it_and_nothing_is_written(
    api: tuple[TestClient, ApiWorld],
) -> None:
    client, prepared = api
    secret = "hunter2-do-not-echo"
    body = {**PRODUCT, "organisation_id": "1", "name": secret, "api_available": 0}
    refused = client.post("/v1/products", json=body, headers=bearer(prepared, "s1"))
    assert refused.status_code == 422
    problem = refused.json()
    assert refused.headers["content-type"] == "application/problem+json"
    assert {e["location"] for e in problem["errors"]} == {
        "body.organisation_id",
        "body.api_available",
    }
    assert secret not in refused.text
    assert client.get("/v1/products", headers=bearer(prepared, "s1")).json()["total"] == 1


def test_the_scored_product_reports_its_band(api: tuple[TestClient, ApiWorld]) -> None:
    client, prepared = api
    product_id = prepared.world.orgs["s1"].product_id
    score = client.get(f"/v1/products/{product_id}/score", headers=bearer(prepared, "assessor"))
    assert score.status_code == 200
    assert score.json()["status"] == "scored"
    assert score.json()["band"] in {"A", "B", "C", "D", "E"}
    assert 0 <= score.json()["score"] <= 100


def test_evidence_upload_and_submission_of_a_draft(api: tuple[TestClient, ApiWorld]) -> None:
    client, prepared = api
    draft = prepared.world.orgs["s1"].draft_assessment_id
    headers = bearer(prepared, "s1")
    uploaded = client.post(
        f"/v1/assessments/{draft}/evidence",
        files={"file": ("policy.txt", b"Our secure development policy.\n", "text/plain")},
        headers=headers,
    )
    assert uploaded.status_code == 201, uploaded.text
    assert uploaded.json()["media_type"] == "text/plain"
    refused = client.post(
        f"/v1/assessments/{draft}/evidence",
        files={"file": ("tool.exe", b"MZ\x90\x00binary", "application/octet-stream")},
        headers=headers,
    )
    assert refused.status_code == 409
    with client.app.state.runtime.sessions() as session:
        assert [e.filename for e in session.scalars(select(Evidence)) if e.assessment_id == draft][
            -1
        ] == "policy.txt"
    submitted = client.post(f"/v1/assessments/{draft}/submit", headers=headers)
    assert submitted.status_code == 200, submitted.text
    assert submitted.json()["status"] == "submitted"
    again = client.post(f"/v1/assessments/{draft}/submit", headers=headers)
    assert again.status_code == 409
    detail = client.get(f"/v1/assessments/{draft}", headers=headers).json()
    assert [a["outcome_id"] for a in detail["answers"]] == ["A1.a"]


def test_a_file_check_is_queued_and_its_job_is_followed(
    api: tuple[TestClient, ApiWorld], tmp_path: Path
) -> None:
    from tests.peers.certificates import make_certificate

    client, prepared = api
    cert, _ = make_certificate(tmp_path, "mldsa65")
    product_id = prepared.world.orgs["s1"].product_id
    queued = client.post(
        f"/v1/products/{product_id}/checks/file",
        data={"kind": "cert"},
        files={"file": ("cert.pem", cert.read_bytes(), "application/x-pem-file")},
        headers=bearer(prepared, "s1"),
    )
    assert queued.status_code == 202, queued.text
    job = client.get(queued.headers["Location"], headers=bearer(prepared, "s1")).json()
    assert (job["status"], job["check_run_id"]) == ("queued", None)


def test_check_results_come_as_json_sarif_and_cbom(api: tuple[TestClient, ApiWorld]) -> None:
    client, prepared = api
    run_id = prepared.world.orgs["s1"].check_run_id
    headers = bearer(prepared, "s1")
    run = client.get(f"/v1/check-runs/{run_id}", headers=headers)
    assert run.status_code == 200
    assert run.json()["kind"] == "tls"
    # The world's run has no stored report to export: the API says so rather than inventing one.
    sarif = client.get(f"/v1/check-runs/{run_id}/sarif", headers=headers)
    assert sarif.status_code == 409
    assert "incomplete" in sarif.json()["detail"]


def test_rate_limit_gives_429_with_retry_after(tmp_path: Path, api_template) -> None:  # type: ignore[no-untyped-def]
    import shutil

    template, _ = api_template
    shutil.copytree(template, tmp_path / "data")
    with client_for(tmp_path / "data", api_rate_limit="3/minute") as client:
        statuses = [client.get("/v1/framework").status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        limited = client.get("/v1/framework")
        assert int(limited.headers["Retry-After"]) >= 1
        assert limited.headers["RateLimit-Remaining"] == "0"
        assert limited.json()["status"] == 429


def test_oversized_bodies_are_refused_before_they_are_read(tmp_path: Path, api_template) -> None:  # type: ignore[no-untyped-def]
    import shutil

    template, prepared = api_template
    shutil.copytree(template, tmp_path / "data")
    with client_for(tmp_path / "data", api_max_body_bytes="2048") as client:
        draft = prepared.world.orgs["s1"].draft_assessment_id
        refused = client.post(
            f"/v1/assessments/{draft}/evidence",
            files={"file": ("big.txt", b"x" * 4096, "text/plain")},
            headers=bearer(prepared, "s1"),
        )
        assert refused.status_code == 413
        assert refused.headers["content-type"] == "application/problem+json"


def test_headers_etags_and_unknown_routes(api: tuple[TestClient, ApiWorld]) -> None:
    client, _ = api
    first = client.get("/v1/framework")
    for name in ("X-Content-Type-Options", "Content-Security-Policy", "Cache-Control"):
        assert name in first.headers
    assert first.json()["framework_id"]
    etag = first.headers["ETag"]
    again = client.get("/v1/framework", headers={"If-None-Match": etag})
    assert (again.status_code, again.content) == (304, b"")
    missing = client.get("/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    wrong_method = client.delete("/v1/products")
    assert wrong_method.status_code == 405
    assert wrong_method.headers["Allow"] == "GET, HEAD, POST"
    assert client.get("/docs").status_code == 404


def test_an_id_that_is_not_a_number_names_nothing(api: tuple[TestClient, ApiWorld]) -> None:
    client, prepared = api
    for url in ("/v1/products/None", "/v1/products/0/score", "/v1/check-runs/abc/sarif"):
        missing = client.get(url, headers=bearer(prepared, "s1"))
        assert missing.status_code == 404, url
        assert missing.json()["detail"] == "no such object"


def test_a_revoked_token_is_refused_at_once(api: tuple[TestClient, ApiWorld]) -> None:
    from posture.audit import Actor
    from posture.identity.tokens import revoke_token
    from posture.storage.models import ApiToken

    client, prepared = api
    headers = bearer(prepared, "s1")
    assert client.get("/v1/products", headers=headers).status_code == 200
    runtime = client.app.state.runtime
    with transaction(runtime.sessions) as session:
        token = session.scalars(select(ApiToken).where(ApiToken.description == "s1")).one()
        revoke_token(session, Actor("cli"), token.jti)
    refused = client.get("/v1/products", headers=headers)
    assert refused.status_code == 401
    assert refused.json()["detail"] == "give a valid bearer token"


def test_a_second_authorization_header_is_refused_and_cannot_dodge_the_limit(
    tmp_path: Path, api_template
) -> None:  # type: ignore[no-untyped-def]
    import shutil

    template, prepared = api_template
    shutil.copytree(template, tmp_path / "data")
    token = prepared.tokens["s1"]
    with client_for(tmp_path / "data", api_rate_limit="3/minute") as client:
        statuses = [
            client.get(
                "/v1/products",
                headers=[("Authorization", f"Bearer {token}"), ("Authorization", f"Bearer x{n}")],
            ).status_code
            for n in range(5)
        ]
        assert statuses == [400] * 5
        single = [
            client.get("/v1/products", headers={"Authorization": f"Bearer {token}"}).status_code
            for _ in range(4)
        ]
        assert single == [200, 200, 200, 429]


def test_a_draft_left_below_its_target_is_moved_then_refused_then_submitted(
    api: tuple[TestClient, ApiWorld],
) -> None:
    from posture.storage.models import Alert, Assessment

    client, prepared = api
    draft = prepared.world.orgs["s1"].draft_assessment_id
    headers = bearer(prepared, "s1")
    with transaction(client.app.state.runtime.sessions) as session:
        row = session.get(Assessment, draft)
        assert row is not None
        row.profile_id = "supplier-on-premises"  # as a change of the rules would leave it
    refused = client.post(f"/v1/assessments/{draft}/submit", headers=headers)
    assert refused.status_code == 409, refused.text
    assert "moved from supplier-on-premises to supplier-saas" in refused.json()["detail"]
    # The move was kept though the submission was refused; the supplier was told.
    with client.app.state.runtime.sessions() as session:
        row = session.get(Assessment, draft)
        assert row is not None
        assert (row.status, row.profile_id) == ("draft", "supplier-saas")
        codes = session.scalars(select(Alert.code)).all()
    assert codes.count("MON-PROFILE-RETARGETED") == 1
    submitted = client.post(f"/v1/assessments/{draft}/submit", headers=headers)
    assert submitted.status_code == 200, submitted.text
    assert submitted.json()["profile_id"] == "supplier-saas"


def test_evidence_may_say_the_day_it_stops_holding_and_a_past_day_is_refused(
    api: tuple[TestClient, ApiWorld],
) -> None:
    client, prepared = api
    draft = prepared.world.orgs["s1"].draft_assessment_id
    headers = bearer(prepared, "s1")
    url = f"/v1/assessments/{draft}/evidence"
    report = {"file": ("pentest.txt", b"Penetration test summary, October.\n", "text/plain")}
    holds = (utcnow().date() + timedelta(days=200)).isoformat()
    uploaded = client.post(url, files=report, data={"expires_on": holds}, headers=headers)
    assert uploaded.status_code == 201, uploaded.text
    assert uploaded.json()["expires_on"] == holds
    for day, status in (
        ((utcnow().date() - timedelta(days=1)).isoformat(), 409),
        ((utcnow().date() + timedelta(days=11 * 365)).isoformat(), 409),
        ("next tuesday", 422),
    ):
        refused = client.post(url, files=report, data={"expires_on": day}, headers=headers)
        assert refused.status_code == status, (day, refused.text)
    with client.app.state.runtime.sessions() as session:
        kept = [e.expires_on for e in session.scalars(select(Evidence)) if e.assessment_id == draft]
    assert [d.isoformat() for d in kept if d is not None] == [holds]
