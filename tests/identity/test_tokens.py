"""API tokens: EdDSA only, right audience and issuer, unexpired, unrevoked, and scoped."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from posture.audit import Actor
from posture.identity.permissions import PermissionDenied
from posture.identity.policy import identity_policy
from posture.identity.tokens import (
    TokenRejected,
    issue_token,
    revoke_token,
    signing_key,
    verify_token,
)
from posture.storage.models import User
from posture.storage.models.enums import Role
from supplier_portal import products
from supplier_portal.forms import DeploymentModel, ProductCategory, ProductForm

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)


@pytest.fixture
def issued(world_db):
    world, sessions, settings = world_db
    key = signing_key(settings)
    with sessions() as session, session.begin():
        user = session.get(User, world.users[Role.SUPPLIER_ADMIN])
        token, row = issue_token(session, None, key, user, ["products:read"], 15, now=NOW)
    return world, sessions, key, token, row.jti


def _b64(data: dict) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def _verify(sessions, key, token: str, now: datetime = NOW):
    with sessions() as session:
        return verify_token(session, key, token, now=now)


def test_a_fresh_token_verifies_with_its_scopes(issued) -> None:
    world, sessions, key, token, _ = issued
    principal = _verify(sessions, key, token)
    assert principal.user_id == world.users[Role.SUPPLIER_ADMIN]
    assert principal.token_scopes == frozenset({"products:read"})
    assert jwt.get_unverified_header(token)["alg"] == "EdDSA"


def test_alg_none_is_refused(issued) -> None:
    _, sessions, key, token, _ = issued
    forged = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims(token))}."
    with pytest.raises(TokenRejected, match="algorithm 'none'"):
        _verify(sessions, key, forged)


def test_hmac_signed_with_the_public_key_is_refused(issued) -> None:
    _, sessions, key, token, _ = issued
    public_pem = key.public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = _b64({"alg": "HS256", "typ": "JWT"})
    body = _b64(_claims(token))
    import hashlib
    import hmac

    signature = hmac.new(public_pem, f"{header}.{body}".encode(), hashlib.sha256).digest()
    forged = f"{header}.{body}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"
    with pytest.raises(TokenRejected, match="algorithm 'HS256'"):
        _verify(sessions, key, forged)


def test_a_token_signed_by_another_key_is_refused(issued) -> None:
    _, sessions, key, token, _ = issued
    forged = jwt.encode(_claims(token), Ed25519PrivateKey.generate(), algorithm="EdDSA")
    with pytest.raises(TokenRejected, match="Signature verification failed"):
        _verify(sessions, key, forged)


def test_a_tampered_payload_fails_the_signature(issued) -> None:
    _, sessions, key, token, _ = issued
    header, _body, signature = token.split(".")
    claims = _claims(token) | {"scope": "admin"}
    with pytest.raises(TokenRejected, match="Signature verification failed"):
        _verify(sessions, key, f"{header}.{_b64(claims)}.{signature}")


@pytest.mark.parametrize(
    ("change", "message"),
    [({"aud": "someone-else"}, "(?i)audience"), ({"iss": "evil-issuer"}, "(?i)issuer")],
)
def test_wrong_audience_or_issuer_is_refused(issued, change: dict, message: str) -> None:
    _, sessions, key, token, _ = issued
    forged = jwt.encode(_claims(token) | change, key.private, algorithm="EdDSA")
    with pytest.raises(TokenRejected, match=message):
        _verify(sessions, key, forged)


def test_an_expired_token_is_refused(issued) -> None:
    _, sessions, key, token, _ = issued
    with pytest.raises(TokenRejected, match="expired"):
        _verify(sessions, key, token, now=NOW + timedelta(minutes=16))
    # PyJWT also checks exp against the real clock: this token expired long ago in real time.
    stale = jwt.encode(_claims(token) | {"exp": 1_000_000_000}, key.private, algorithm="EdDSA")
    with pytest.raises(TokenRejected, match="expired"):
        _verify(sessions, key, stale)


def test_a_revoked_token_is_refused(issued) -> None:
    _, sessions, key, token, jti = issued
    with sessions() as session, session.begin():
        revoke_token(session, Actor("test"), jti)
    with pytest.raises(TokenRejected, match="revoked"):
        _verify(sessions, key, token)


def test_a_token_whose_id_is_unknown_is_refused(issued) -> None:
    _, sessions, key, token, _ = issued
    forged = jwt.encode(_claims(token) | {"jti": "f" * 32}, key.private, algorithm="EdDSA")
    with pytest.raises(TokenRejected, match="unknown token id"):
        _verify(sessions, key, forged)


def test_scopes_limit_what_a_token_can_do(issued) -> None:
    world, sessions, key, token, _ = issued
    principal = _verify(sessions, key, token)
    form = ProductForm(
        name="Token Vault",
        category=ProductCategory.ANALYTICS,
        deployment_model=DeploymentModel.SAAS,
    )
    with sessions() as session:
        assert products.list_products(session, principal)
        with pytest.raises(PermissionDenied, match="products:write"):
            products.create_product(session, principal, world.orgs["s1"].organisation_id, form)


def test_lifetimes_beyond_policy_and_unknown_scopes_are_refused(world_db) -> None:
    from kernel.errors import ValidationFailed

    world, sessions, settings = world_db
    key = signing_key(settings)
    too_long = identity_policy().api_token_max_minutes + 1
    with sessions() as session:
        user = session.get(User, world.users[Role.SUPPLIER_ADMIN])
        with pytest.raises(ValidationFailed, match="lifetime"):
            issue_token(session, None, key, user, ["products:read"], too_long)
        with pytest.raises(ValidationFailed, match="unknown or missing scopes"):
            issue_token(session, None, key, user, ["everything"], 5)


def test_a_supplier_admin_cannot_issue_tokens_for_another_tenant(world_db) -> None:
    from posture.identity.permissions import NotFound

    world, sessions, settings = world_db
    key = signing_key(settings)
    with sessions() as session:
        other = session.get(User, world.users[Role.FORCE_ASSESSOR])
        with pytest.raises(NotFound):
            issue_token(
                session, world.principal(Role.SUPPLIER_ADMIN), key, other, ["scores:read"], 5
            )


def test_the_signing_key_file_is_private(world_db) -> None:
    _, _, settings = world_db
    signing_key(settings)
    path = settings.data_dir / "keys" / "api-token-ed25519.pem"
    assert path.stat().st_mode & 0o777 == 0o600
    assert signing_key(settings).kid == signing_key(settings).kid
