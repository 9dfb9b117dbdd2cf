"""A multipart upload names each field once: two files for one field are refused, not resolved
by silently keeping the last; and a file's name reaches storage without hidden characters."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from posture.storage.models import Evidence, Job
from tests.partner_api.conftest import bearer
from tests.partner_api.world import ApiWorld


def _count(client: TestClient, model: type) -> int:
    with client.app.state.runtime.sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_two_evidence_files_in_one_upload_are_refused(api: tuple[TestClient, ApiWorld]) -> None:
    client, prepared = api
    draft = prepared.world.orgs["s1"].draft_assessment_id
    before = _count(client, Evidence)
    refused = client.post(
        f"/v1/assessments/{draft}/evidence",
        files=[
            ("file", ("policy.txt", b"The policy we mean.\n", "text/plain")),
            ("file", ("other.txt", b"Something else.\n", "text/plain")),
        ],
        headers=bearer(prepared, "s1"),
    )
    assert refused.status_code == 400, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert "send one file" in refused.json()["detail"]
    assert "`file`" in refused.json()["detail"]
    assert _count(client, Evidence) == before


def test_two_files_for_one_file_check_are_refused(
    api: tuple[TestClient, ApiWorld], tmp_path: Path
) -> None:
    from tests.peers.certificates import make_certificate

    client, prepared = api
    cert, _ = make_certificate(tmp_path, "mldsa65")
    product_id = prepared.world.orgs["s1"].product_id
    before = _count(client, Job)
    refused = client.post(
        f"/v1/products/{product_id}/checks/file",
        data={"kind": "cert"},
        files=[
            ("file", ("cert.pem", cert.read_bytes(), "application/x-pem-file")),
            ("file", ("other.pem", cert.read_bytes(), "application/x-pem-file")),
        ],
        headers=bearer(prepared, "s1"),
    )
    assert refused.status_code == 400, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert "send one file" in refused.json()["detail"]
    assert _count(client, Job) == before


def test_a_field_given_twice_is_refused_too(
    api: tuple[TestClient, ApiWorld], tmp_path: Path
) -> None:
    from tests.peers.certificates import make_certificate

    client, prepared = api
    cert, _ = make_certificate(tmp_path, "mldsa65")
    product_id = prepared.world.orgs["s1"].product_id
    refused = client.post(
        f"/v1/products/{product_id}/checks/file",
        data={"kind": ["cert", "jwks"]},
        files={"file": ("cert.pem", cert.read_bytes(), "application/x-pem-file")},
        headers=bearer(prepared, "s1"),
    )
    assert refused.status_code == 400, refused.text
    assert "`kind`" in refused.json()["detail"]


def test_a_duplicate_upload_without_a_token_is_still_401(
    api: tuple[TestClient, ApiWorld],
) -> None:
    client, prepared = api
    draft = prepared.world.orgs["s1"].draft_assessment_id
    refused = client.post(
        f"/v1/assessments/{draft}/evidence",
        files=[
            ("file", ("a.txt", b"a\n", "text/plain")),
            ("file", ("b.txt", b"b\n", "text/plain")),
        ],
    )
    assert refused.status_code == 401


def test_a_single_file_upload_is_still_accepted(api: tuple[TestClient, ApiWorld]) -> None:
    client, prepared = api
    draft = prepared.world.orgs["s1"].draft_assessment_id
    accepted = client.post(
        f"/v1/assessments/{draft}/evidence",
        files={"file": ("policy.txt", b"Our policy.\n", "text/plain")},
        headers=bearer(prepared, "s1"),
    )
    assert accepted.status_code == 201, accepted.text


def test_an_uploaded_name_loses_its_bidi_override(api: tuple[TestClient, ApiWorld]) -> None:
    client, prepared = api
    draft = prepared.world.orgs["s1"].draft_assessment_id
    uploaded = client.post(
        f"/v1/assessments/{draft}/evidence",
        files={"file": ("invoice\u202efdp.txt", b"Our policy.\n", "text/plain")},
        headers=bearer(prepared, "s1"),
    )
    assert uploaded.status_code == 201, uploaded.text
    assert uploaded.json()["filename"] == "invoicefdp.txt"
    hidden_only = client.post(
        f"/v1/assessments/{draft}/evidence",
        files={"file": ("\u202e\u2066\u200f", b"Our policy.\n", "text/plain")},
        headers=bearer(prepared, "s1"),
    )
    assert hidden_only.status_code == 409
    assert hidden_only.json()["detail"] == "filename: give the file a name"
