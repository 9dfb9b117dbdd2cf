"""Verified tokens are remembered per process, yet a revocation, a removed role or an expiry is
honoured on the very next request: the real API on loopback, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import jwt
import pytest
from sqlalchemy.orm import Session, sessionmaker

from kernel.clock import utcnow
from kernel.settings import Settings
from posture.audit import Actor
from posture.identity.accounts import grant_role, revoke_role
from posture.identity.token_cache import TokenCache, VerifiedToken, current_epoch
from posture.identity.tokens import issue_token, revoke_token, signing_key
from posture.storage.engine import transaction
from posture.storage.models import User
from posture.storage.models.enums import Role
from tests.identity.world import build_world
from tests.partner_api.live import LiveApi, serving_api
from tests.partner_api.world import ApiWorld, prepare

OPERATOR = Actor(label="test operator")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def served_world(
    request: pytest.FixtureRequest, tmp_path: Path
) -> tuple[Path, ApiWorld, dict[str, str]]:
    """A prepared world on each backend: its data folder, the world, and the settings that
    point at its database."""
    settings = {}
    if request.param == "postgresql":
        settings["database_url"] = request.getfixturevalue("postgres_schema_url")
    template = tmp_path / "template"
    return template, prepare(template, settings.get("database_url")), settings


@pytest.fixture
def live(served_world: tuple[Path, ApiWorld, dict[str, str]], tmp_path: Path) -> Iterator[LiveApi]:
    template, _, settings = served_world
    with serving_api(template, tmp_path / "data", settings) as api:
        yield api


def _product_url(live: LiveApi, prepared: ApiWorld) -> str:
    return f"{live.url}/v1/products/{prepared.world.orgs['s1'].product_id}"


def _verifications(live: LiveApi) -> int:
    return live.app.state.runtime.token_cache.verifications


def _cli(live: LiveApi, folder: Path, settings: dict[str, str], *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSURE_")}
    env["ASSURE_DATA_DIR"] = str(folder)
    env |= {f"ASSURE_{k.upper()}": v for k, v in settings.items()}
    done = subprocess.run(
        [sys.executable, "-m", "assure_cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_token_revoked_from_another_process_is_refused_on_the_next_request(
    live: LiveApi, served_world: tuple[Path, ApiWorld, dict[str, str]], tmp_path: Path
) -> None:
    _, prepared, settings = served_world
    headers = live.issue(prepared.world.users[Role.SUPPLIER_ADMIN])
    url = _product_url(live, prepared)
    with httpx.Client(headers=headers) as client:
        assert client.get(url).status_code == 200
        verified = _verifications(live)
        assert client.get(url).status_code == 200
        assert _verifications(live) == verified, "the second request is answered from the cache"
        jti = jwt.decode(headers["Authorization"][7:], options={"verify_signature": False})["jti"]
        assert jti in _cli(live, tmp_path / "data", settings, "token", "revoke", jti)
        refused = client.get(url)
    assert refused.status_code == 401
    assert "revoked" not in refused.text  # the reason is for logs, not the client


def test_a_revoked_role_changes_the_very_next_response(
    live: LiveApi, served_world: tuple[Path, ApiWorld, dict[str, str]]
) -> None:
    _, prepared, _ = served_world
    supplier = prepared.world.users[Role.SUPPLIER_ADMIN]
    organisation = prepared.world.orgs["s1"].organisation_id
    headers = live.issue(supplier)
    url = _product_url(live, prepared)
    with httpx.Client(headers=headers) as client:
        assert client.get(url).status_code == 200
        assert client.get(url).status_code == 200
        with transaction(live.app.state.runtime.sessions) as session:
            revoke_role(session, OPERATOR, supplier, organisation, Role.SUPPLIER_ADMIN)
        assert client.get(url).status_code in (403, 404)
        with transaction(live.app.state.runtime.sessions) as session:
            grant_role(session, OPERATOR, supplier, organisation, Role.SUPPLIER_ADMIN)
        assert client.get(url).status_code == 200


def test_one_request_verifies_its_token_once_and_the_next_not_at_all(
    api_template: tuple[Path, ApiWorld], tmp_path: Path
) -> None:
    template, prepared = api_template
    with serving_api(template, tmp_path / "data") as live:
        headers = live.issue(prepared.world.users[Role.SUPPLIER_ADMIN])
        url = _product_url(live, prepared)
        with httpx.Client(headers=headers) as client:
            before = _verifications(live)
            assert client.get(url).status_code == 200
            assert _verifications(live) == before + 1
            assert client.get(url).status_code == 200
            assert _verifications(live) == before + 1


def test_without_the_cache_every_check_verifies_in_full(
    api_template: tuple[Path, ApiWorld], tmp_path: Path
) -> None:
    """The benchmark's baseline: the limiter and the route each verify, as before the cache."""
    template, prepared = api_template
    options = {"token_cache_capacity": 0}
    with serving_api(template, tmp_path / "data", app_options=options) as live:
        headers = live.issue(prepared.world.users[Role.SUPPLIER_ADMIN])
        url = _product_url(live, prepared)
        with httpx.Client(headers=headers) as client:
            before = _verifications(live)
            for _ in range(3):
                assert client.get(url).status_code == 200
        assert _verifications(live) == before + 6
        assert len(live.app.state.runtime.token_cache) == 0


def test_twenty_concurrent_requests_with_one_token_share_one_verification(
    api_template: tuple[Path, ApiWorld], tmp_path: Path
) -> None:
    template, prepared = api_template
    with serving_api(template, tmp_path / "data") as live:
        headers = live.issue(prepared.world.users[Role.SUPPLIER_ADMIN])
        url = _product_url(live, prepared)
        assert httpx.get(url, headers=headers).status_code == 200
        verified = _verifications(live)

        def fetch(_: int) -> int:
            return httpx.get(url, headers=headers, timeout=30).status_code

        with ThreadPoolExecutor(max_workers=20) as pool:
            statuses = list(pool.map(fetch, range(20)))
        assert statuses == [200] * 20
        assert _verifications(live) == verified


def test_a_cached_token_is_refused_once_it_expires(
    api_template: tuple[Path, ApiWorld], tmp_path: Path
) -> None:
    template, prepared = api_template
    now = [utcnow()]
    options = {"clock": lambda: now[0]}
    with serving_api(template, tmp_path / "data", app_options=options) as live:
        headers = live.issue(prepared.world.users[Role.SUPPLIER_ADMIN])
        claims = jwt.decode(headers["Authorization"][7:], options={"verify_signature": False})
        issued, expires = (datetime.fromtimestamp(claims[c], UTC) for c in ("nbf", "exp"))
        url = _product_url(live, prepared)
        with httpx.Client(headers=headers) as client:
            now[0] = issued
            assert client.get(url).status_code == 200
            now[0] = expires - timedelta(seconds=1)
            assert client.get(url).status_code == 200
            cached = _verifications(live)
            now[0] = expires
            assert client.get(url).status_code == 401
        assert _verifications(live) > cached, "the expired entry is not served from the cache"


def test_the_cache_holds_at_most_its_capacity(
    api_template: tuple[Path, ApiWorld], tmp_path: Path
) -> None:
    template, prepared = api_template
    options = {"token_cache_capacity": 2}
    with serving_api(template, tmp_path / "data", app_options=options) as live:
        supplier = prepared.world.users[Role.SUPPLIER_ADMIN]
        tokens = [live.issue(supplier) for _ in range(5)]
        url = _product_url(live, prepared)
        for _ in range(2):
            for headers in tokens:
                assert httpx.get(url, headers=headers).status_code == 200
        cache = live.app.state.runtime.token_cache
        assert len(cache) == 2
        before = cache.verifications
        # The two most recently used stay; the first was evicted and verifies in full again.
        assert httpx.get(url, headers=tokens[-1]).status_code == 200
        assert cache.verifications == before
        assert httpx.get(url, headers=tokens[0]).status_code == 200
        assert cache.verifications == before + 1


def test_a_tampered_copy_of_a_cached_token_is_not_served_from_the_cache(
    api_template: tuple[Path, ApiWorld], tmp_path: Path
) -> None:
    template, prepared = api_template
    with serving_api(template, tmp_path / "data") as live:
        headers = live.issue(prepared.world.users[Role.SUPPLIER_ADMIN])
        url = _product_url(live, prepared)
        assert httpx.get(url, headers=headers).status_code == 200
        head, payload, signature = headers["Authorization"][7:].split(".")
        flipped = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")
        none_header = jwt.utils.base64url_encode(b'{"alg":"none","typ":"JWT"}').decode()
        for forged in (f"{head}.{payload}.{flipped}", f"{none_header}.{payload}.", head):
            refused = httpx.get(url, headers={"Authorization": f"Bearer {forged}"})
            assert refused.status_code == 401, forged
        assert len(live.app.state.runtime.token_cache) == 1


def test_every_writer_that_narrows_a_principal_moves_the_epoch(
    sessions: sessionmaker[Session], backend_settings: Settings
) -> None:
    with transaction(sessions) as session:
        world = build_world(session)
        supplier = world.users[Role.SUPPLIER_ADMIN]
        user = session.get(User, supplier)
        assert user is not None
        _, row = issue_token(session, None, signing_key(backend_settings), user, ["products:read"])
        jti = row.jti
    organisation = world.orgs["s1"].organisation_id
    with sessions() as session:
        epoch = current_epoch(session)
    changes = [
        lambda s: grant_role(s, OPERATOR, supplier, organisation, Role.SUPPLIER_MEMBER),
        lambda s: revoke_role(s, OPERATOR, supplier, organisation, Role.SUPPLIER_MEMBER),
        lambda s: revoke_token(s, OPERATOR, jti),
    ]
    for change in changes:
        with transaction(sessions) as session:
            change(session)
        with sessions() as session:
            moved = current_epoch(session)
        assert moved == epoch + 1
        epoch = moved


def test_entries_of_another_epoch_or_past_their_expiry_are_never_returned() -> None:
    cache = TokenCache(capacity=8)
    when = datetime(2026, 12, 1, 12).timestamp()
    entry = VerifiedToken(b"d" * 32, None, "jti", 1, when + 60, epoch=3)  # type: ignore[arg-type]
    cache.put(entry)
    assert cache.get(b"d" * 32, 3, when) is entry
    assert cache.get(b"d" * 32, 3, when + 60) is None
    cache.put(entry)
    assert cache.get(b"d" * 32, 4, when) is None
    assert len(cache) == 0
    with pytest.raises(ValueError, match="negative"):
        TokenCache(capacity=-1)
