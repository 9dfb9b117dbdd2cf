"""The rate limit belongs to the user a token authenticates, not to the token: a user who issues
more tokens gets no more requests (uvicorn on loopback)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from posture.storage.models.enums import Role
from tests.partner_api.conftest import bearer
from tests.partner_api.live import serving_api

LIMIT = 5


def test_a_user_alternating_two_tokens_is_limited_once(api_template, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    template, prepared = api_template
    supplier = prepared.world.users[Role.SUPPLIER_ADMIN]
    settings = {"api_rate_limit": f"{LIMIT}/minute"}
    with (
        serving_api(template, tmp_path / "data", settings) as live,
        httpx.Client(base_url=live.url, timeout=10) as client,
    ):
        tokens = [live.issue(supplier), live.issue(supplier)]
        statuses = [
            client.get("/v1/products", headers=tokens[n % 2]).status_code for n in range(LIMIT + 2)
        ]
        assert statuses == [200] * LIMIT + [429, 429]
        # Public routes count against the same user when a token is sent.
        assert client.get("/v1/framework", headers=tokens[0]).status_code == 429
        # Another user is not held back by the first one's use.
        assert client.get("/v1/products", headers=bearer(prepared, "assessor")).status_code == 200


def test_remaining_requests_are_the_users_whatever_the_token(api_template, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    template, prepared = api_template
    supplier = prepared.world.users[Role.SUPPLIER_ADMIN]
    with (
        serving_api(template, tmp_path / "data", {"api_rate_limit": f"{LIMIT}/minute"}) as live,
        httpx.Client(base_url=live.url, timeout=10) as client,
    ):
        first, second = live.issue(supplier), live.issue(supplier)
        remaining = [
            client.get("/v1/products", headers=token).headers["RateLimit-Remaining"]
            for token in (first, second, first)
        ]
        assert remaining == [str(LIMIT - 1), str(LIMIT - 2), str(LIMIT - 3)]


def test_invalid_tokens_count_against_the_address_not_a_fresh_allowance_each(
    api_template, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    template, _ = api_template
    with (
        serving_api(template, tmp_path / "data", {"api_rate_limit": f"{LIMIT}/minute"}) as live,
        httpx.Client(base_url=live.url, timeout=10) as client,
    ):
        statuses = [
            client.get("/v1/products", headers={"Authorization": f"Bearer forged-{n}"}).status_code
            for n in range(LIMIT + 1)
        ]
        assert statuses == [401] * LIMIT + [429]
        # Without a token the address is the client, and it has used its allowance.
        assert client.get("/v1/framework").status_code == 429


def test_parallel_requests_on_two_tokens_of_one_user_never_exceed_the_limit(
    api_template, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    template, prepared = api_template
    supplier = prepared.world.users[Role.SUPPLIER_ADMIN]
    with serving_api(template, tmp_path / "data", {"api_rate_limit": f"{LIMIT}/minute"}) as live:
        tokens = [live.issue(supplier), live.issue(supplier)]

        async def burst() -> list[int]:
            limits = httpx.Limits(max_connections=20)
            async with httpx.AsyncClient(base_url=live.url, timeout=20, limits=limits) as client:
                responses = await asyncio.gather(
                    *(client.get("/v1/products", headers=tokens[n % 2]) for n in range(20))
                )
            return [response.status_code for response in responses]

        statuses = asyncio.run(burst())
    assert sorted(set(statuses)) == [200, 429]
    assert statuses.count(200) == LIMIT
    assert statuses.count(429) == 20 - LIMIT


def test_forged_tokens_use_up_the_address_ceiling_but_a_limited_user_does_not(
    api_template, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """Behind one gateway: a user retrying past their own limit leaves the others their share;
    a stream of tokens that do not verify uses up the address's ceiling (ten clients' worth)."""
    template, prepared = api_template
    with (
        serving_api(template, tmp_path / "data", {"api_rate_limit": "2/minute"}) as live,
        httpx.Client(base_url=live.url, timeout=10) as client,
    ):
        eager = bearer(prepared, "s1")
        statuses = [client.get("/v1/products", headers=eager).status_code for _ in range(25)]
        assert statuses == [200, 200] + [429] * 23
        assert client.get("/v1/products", headers=bearer(prepared, "s2")).status_code == 200
        forged = [
            client.get("/v1/products", headers={"Authorization": f"Bearer x{n}"}).status_code
            for n in range(20)
        ]
        assert forged[:2] == [401, 401]
        assert set(forged[2:]) == {429}
        refused = client.get("/v1/products", headers=bearer(prepared, "assessor"))
        assert refused.status_code == 429
        assert refused.headers["RateLimit-Limit"] == "20"


@pytest.mark.parametrize(("revoke", "expected"), [(False, b"201"), (True, b"401")])
def test_a_token_revoked_while_its_body_is_in_flight_authorises_nothing(
    api_template, tmp_path: Path, revoke: bool, expected: bytes
) -> None:  # type: ignore[no-untyped-def]
    """The limiter verifies the token as the headers arrive; the route verifies it again once
    the body is in, so a revocation in between is honoured."""
    import json
    import socket

    from sqlalchemy import func, select

    from posture.audit import Actor
    from posture.identity.tokens import revoke_token
    from posture.storage.models import ApiToken, Product

    template, prepared = api_template
    supplier = prepared.world.users[Role.SUPPLIER_ADMIN]
    with serving_api(template, tmp_path / "data") as live:
        token = live.issue(supplier)["Authorization"]
        organisation = prepared.world.orgs["s1"].organisation_id
        body = json.dumps(
            {
                "name": "Written after revocation",
                "category": "digital_evidence",
                "deployment_model": "saas",
                "organisation_id": organisation,
            }
        ).encode()
        sessions = live.app.state.runtime.sessions
        with sessions() as session:
            before = session.scalar(select(func.count()).select_from(Product))
        with socket.create_connection((live.host, live.port), timeout=10) as conn:
            conn.sendall(
                b"POST /v1/products HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                + f"Authorization: {token}\r\n".encode()
                + b"Content-Type: application/json\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
            )
            time.sleep(0.5)  # the limiter has verified the token by now
            if revoke:
                # As `assure token revoke` does: the identity epoch moves with the revocation.
                with sessions() as session, session.begin():
                    mine = select(ApiToken.jti).where(ApiToken.user_id == supplier)
                    for jti in session.scalars(mine).all():
                        revoke_token(session, Actor(label="test"), jti)
            conn.sendall(body)
            status_line = conn.recv(65536).split(b"\r\n", 1)[0]
        assert status_line.startswith(b"HTTP/1.1 " + expected)
        with sessions() as session:
            created = session.scalar(select(func.count()).select_from(Product)) - before
        assert created == (0 if revoke else 1)
