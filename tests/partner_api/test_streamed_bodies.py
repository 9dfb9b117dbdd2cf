"""A body sent in chunks, with no Content-Length to refuse up front, is still refused with 413
problem details once it passes the limit (uvicorn on loopback)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
from sqlalchemy import func, select

from posture.storage.models import Evidence
from tests.partner_api.conftest import bearer
from tests.partner_api.live import serving_api

LIMIT = 2048
BOUNDARY = "assure-test-boundary"


def _multipart(content: bytes) -> Iterator[bytes]:
    """A multipart/form-data body with one `file` part, yielded in 512-byte chunks."""
    body = (
        f"--{BOUNDARY}\r\n"
        'Content-Disposition: form-data; name="file"; filename="big.txt"\r\n'
        "Content-Type: text/plain\r\n\r\n"
    ).encode()
    body += content + f"\r\n--{BOUNDARY}--\r\n".encode()
    for start in range(0, len(body), 512):
        yield body[start : start + 512]


def _evidence_count(live) -> int:  # type: ignore[no-untyped-def]
    with live.app.state.runtime.sessions() as session:
        return session.scalar(select(func.count()).select_from(Evidence))


def test_a_chunked_upload_over_the_limit_is_413_problem_details(
    api_template, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    template, prepared = api_template
    draft = prepared.world.orgs["s1"].draft_assessment_id
    headers = {
        **bearer(prepared, "s1"),
        "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
    }
    with serving_api(template, tmp_path / "data", {"api_max_body_bytes": str(LIMIT)}) as live:
        before = _evidence_count(live)
        with httpx.Client(base_url=live.url, timeout=10) as client:
            refused = client.post(
                f"/v1/assessments/{draft}/evidence",
                content=_multipart(b"x" * (LIMIT * 4)),
                headers=headers,
            )
            assert refused.request.headers.get("Transfer-Encoding") == "chunked"
            assert "Content-Length" not in refused.request.headers
            assert refused.status_code == 413, refused.text
            assert refused.headers["content-type"] == "application/problem+json"
            assert refused.json()["status"] == 413
            assert str(LIMIT) in refused.json()["detail"]
            assert _evidence_count(live) == before
            # Under the limit, the same chunked upload is accepted.
            accepted = client.post(
                f"/v1/assessments/{draft}/evidence",
                content=_multipart(b"Our policy.\n"),
                headers=headers,
            )
            assert accepted.status_code == 201, accepted.text
            assert _evidence_count(live) == before + 1


def test_a_chunked_json_body_over_the_limit_is_413(api_template, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    template, prepared = api_template
    organisation_id = prepared.world.orgs["s1"].organisation_id
    padding = "x" * (LIMIT * 2)
    body = (
        '{"name": "Big", "category": "digital_evidence", "deployment_model": "saas", '
        f'"organisation_id": {organisation_id}, "description": "{padding}"}}'
    ).encode()
    with (
        serving_api(template, tmp_path / "data", {"api_max_body_bytes": str(LIMIT)}) as live,
        httpx.Client(base_url=live.url, timeout=10) as client,
    ):
        refused = client.post(
            "/v1/products",
            content=iter([body[i : i + 256] for i in range(0, len(body), 256)]),
            headers={**bearer(prepared, "s1"), "Content-Type": "application/json"},
        )
        assert refused.status_code == 413, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
