"""HEAD on a GET route answers as GET would, without the body; the Allow header that lists HEAD
tells the truth (uvicorn on loopback)."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.partner_api.conftest import bearer
from tests.partner_api.live import serving_api

# Headers that may differ between two requests for reasons other than the method: the clock,
# the rate limit left, and each request's own id.
VOLATILE = {"date", "ratelimit-remaining", "ratelimit-reset", "x-request-id"}


def _same_but_empty(get: httpx.Response, head: httpx.Response) -> None:
    assert head.status_code == get.status_code
    assert head.content == b""
    assert get.content != b""

    def stable(response: httpx.Response) -> dict[str, str]:
        return {k: v for k, v in response.headers.items() if k not in VOLATILE}

    assert stable(head) == stable(get)


def test_head_on_public_and_secured_routes_matches_get_without_a_body(
    api_template, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    template, prepared = api_template
    with (
        serving_api(template, tmp_path / "data") as live,
        httpx.Client(base_url=live.url, timeout=10) as client,
    ):
        for path, headers in [
            ("/v1/framework", {}),
            ("/v1/listings?limit=5", {}),
            ("/v1/products", bearer(prepared, "s1")),
            (f"/v1/products/{prepared.world.orgs['s1'].product_id}", bearer(prepared, "s1")),
        ]:
            _same_but_empty(client.get(path, headers=headers), client.head(path, headers=headers))


def test_head_keeps_the_refusals_of_get(api_template, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    template, prepared = api_template
    with (
        serving_api(template, tmp_path / "data") as live,
        httpx.Client(base_url=live.url, timeout=10) as client,
    ):
        # No token: 401 with its challenge, as for GET.
        _same_but_empty(client.get("/v1/products"), client.head("/v1/products"))
        assert client.head("/v1/products").status_code == 401
        # Another tenant's product: 404, as for GET.
        other = f"/v1/products/{prepared.world.orgs['s2'].product_id}"
        _same_but_empty(
            client.get(other, headers=bearer(prepared, "s1")),
            client.head(other, headers=bearer(prepared, "s1")),
        )
        # A conditional HEAD gets the 304 a conditional GET gets.
        etag = client.get("/v1/framework").headers["ETag"]
        assert client.head("/v1/framework", headers={"If-None-Match": etag}).status_code == 304


def test_head_where_there_is_no_get_is_405_and_allow_does_not_list_head(
    api_template, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    template, prepared = api_template
    draft = prepared.world.orgs["s1"].draft_assessment_id
    with (
        serving_api(template, tmp_path / "data") as live,
        httpx.Client(base_url=live.url, timeout=10) as client,
    ):
        refused = client.head(f"/v1/assessments/{draft}/submit", headers=bearer(prepared, "s1"))
        assert refused.status_code == 405
        assert refused.headers["Allow"] == "POST"
        listed = client.delete("/v1/products", headers=bearer(prepared, "s1"))
        assert listed.headers["Allow"] == "GET, HEAD, POST"
        assert client.head("/v1/products", headers=bearer(prepared, "s1")).status_code == 200
