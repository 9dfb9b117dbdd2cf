"""Federated sign-in maps claims to an organisation and roles, and refuses what it cannot map."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from posture.errors import ConfigError
from posture.identity.federation import (
    ClaimMapping,
    FederatedSignInRefused,
    load_mapping,
    provision,
)
from posture.storage.models import AuditEvent
from posture.storage.models.enums import Role

MAPPING = ClaimMapping(
    issuer="https://login.s1.example",
    organisation_claim="assure_org",
    roles_claim="groups",
    role_map={
        "assure-admins": Role.SUPPLIER_ADMIN,
        "assure-staff": Role.SUPPLIER_MEMBER,
        "assure-platform": Role.PLATFORM_ADMIN,
    },
)
CLAIMS = {
    "iss": "https://login.s1.example",
    "email": "Jo@S1.example.com",
    "email_verified": True,
    "name": "Jo",
    "assure_org": "s1",
    "groups": ["assure-staff"],
}


def test_a_new_user_is_provisioned_with_the_mapped_role(world_db) -> None:
    world, sessions, _ = world_db
    with sessions() as session, session.begin():
        principal = provision(session, CLAIMS, MAPPING)
    assert principal.email == "jo@s1.example.com"
    assert principal.roles() == {Role.SUPPLIER_MEMBER}
    assert principal.organisation_ids() == {world.orgs["s1"].organisation_id}


def test_roles_follow_the_claims_on_every_sign_in(world_db) -> None:
    _, sessions, _ = world_db
    with sessions() as session, session.begin():
        provision(session, CLAIMS, MAPPING)
    with sessions() as session, session.begin():
        principal = provision(session, CLAIMS | {"groups": ["assure-admins"]}, MAPPING)
    assert principal.roles() == {Role.SUPPLIER_ADMIN}
    with sessions() as session:
        actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert "role.revoked" in actions


def test_a_claim_cannot_make_a_platform_admin_unless_allowed(world_db) -> None:
    _, sessions, _ = world_db
    claims = CLAIMS | {"groups": ["assure-platform", "assure-staff"]}
    with sessions() as session, session.begin():
        principal = provision(session, claims, MAPPING)
    assert Role.PLATFORM_ADMIN not in principal.roles()


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"iss": "https://elsewhere.example"}, "does not trust"),
        ({"email_verified": False}, "not verified"),
        ({"assure_org": "unknown-org"}, "not registered"),
        ({"groups": ["unrelated"]}, "no PoliceTech Assure role"),
        ({"email": ""}, "did not supply an email"),
    ],
)
def test_unmappable_sign_ins_are_refused_with_the_reason(world_db, change, reason) -> None:
    _, sessions, _ = world_db
    with sessions() as session, pytest.raises(FederatedSignInRefused, match=reason):
        provision(session, CLAIMS | change, MAPPING)


def test_a_broken_mapping_file_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "mapping.yaml"
    path.write_text("issuer: x\nrole_map: {a: not_a_role}\n")
    with pytest.raises(ConfigError, match="invalid"):
        load_mapping(path)
