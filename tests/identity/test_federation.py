"""Federated sign-in: each identity provider signs people into its own organisations only, every
refusal is audited, and the provider's MFA counts only where the mapping says it does."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from kernel.errors import ConfigError
from posture.identity.federation import (
    FederatedSignIn,
    FederatedSignInRefused,
    FederationMapping,
    IdentityProvider,
    MfaMapping,
    load_mapping,
    provision,
)
from posture.storage.models import AuditEvent, Membership, User
from posture.storage.models.enums import Role

ROOT = Path(__file__).resolve().parents[2]
SUPPLIER_ROLES = {"assure-admins": Role.SUPPLIER_ADMIN, "assure-staff": Role.SUPPLIER_MEMBER}
S1 = IdentityProvider(
    name="s1",
    issuer="https://login.s1.example",
    organisations=("s1",),
    organisation_claim="assure_org",
    roles_claim="groups",
    role_map=SUPPLIER_ROLES,
    mfa=MfaMapping(amr_any=frozenset({"mfa", "hwk", "otp"}), acr_any=frozenset({"urn:s1:mfa"})),
)
S2 = IdentityProvider(
    name="s2",
    issuer="https://login.s2.example",
    organisations=("s2",),
    organisation_claim="assure_org",
    roles_claim="groups",
    role_map=SUPPLIER_ROLES,
)
FORCE = IdentityProvider(
    name="f1",
    issuer="https://login.f1.example",
    organisations=("f1",),
    roles_claim="groups",
    role_map={"assessors": Role.FORCE_ASSESSOR},
)
PLATFORM = IdentityProvider(
    name="platform",
    issuer="https://login.platform.example",
    organisations=("platform",),
    roles_claim="groups",
    role_map={"assure-platform": Role.PLATFORM_ADMIN},
    allow_platform_admin=True,
)
MAPPING = FederationMapping(providers=(S1, S2, FORCE, PLATFORM))
CLAIMS: dict[str, Any] = {
    "iss": "https://login.s1.example",
    "email": "Jo@S1.example.com",
    "email_verified": True,
    "name": "Jo",
    "assure_org": "s1",
    "groups": ["assure-staff"],
}


def sign_in(
    sessions: sessionmaker[Session], claims: dict[str, Any], mapping: FederationMapping = MAPPING
) -> FederatedSignIn:
    """As the sign-in page does: commit on success and on refusal, so a refusal stays audited."""
    with sessions() as session:
        try:
            result = provision(session, claims, mapping)
        except FederatedSignInRefused:
            session.commit()
            raise
        session.commit()
        return result


def refusal(sessions: sessionmaker[Session], claims: dict[str, Any]) -> FederatedSignInRefused:
    with pytest.raises(FederatedSignInRefused) as caught:
        sign_in(sessions, claims)
    return caught.value


def events(sessions: sessionmaker[Session], action: str) -> list[AuditEvent]:
    with sessions() as session:
        query = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        return list(session.scalars(query))


def count(sessions: sessionmaker[Session], model: type[Any], *where: Any) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


# --- who may be signed in where ---------------------------------------------------------------


def test_a_new_user_is_provisioned_with_the_mapped_role(world_db) -> None:
    world, sessions, _ = world_db
    signed_in = sign_in(sessions, CLAIMS)
    assert signed_in.provider == "s1"
    assert signed_in.principal.email == "jo@s1.example.com"
    assert signed_in.principal.roles() == {Role.SUPPLIER_MEMBER}
    assert signed_in.principal.organisation_ids() == {world.orgs["s1"].organisation_id}
    (login,) = events(sessions, "auth.identity_provider_verified")
    assert login.data["method"] == "oidc"
    assert login.data["provider"] == "s1"
    assert login.data["mfa_asserted"] is False


def test_roles_follow_the_claims_on_every_sign_in(world_db) -> None:
    _, sessions, _ = world_db
    sign_in(sessions, CLAIMS)
    signed_in = sign_in(sessions, CLAIMS | {"groups": ["assure-admins"]})
    assert signed_in.principal.roles() == {Role.SUPPLIER_ADMIN}
    assert [e.data["role"] for e in events(sessions, "role.revoked")] == ["supplier_member"]


def test_a_provider_cannot_sign_someone_into_another_providers_organisation(world_db) -> None:
    _, sessions, _ = world_db
    refused = refusal(sessions, CLAIMS | {"assure_org": "s2"})
    assert refused.reason == "organisation_not_bound"
    assert count(sessions, User, User.email == "jo@s1.example.com") == 0
    (event,) = events(sessions, "auth.federated_refused")
    assert event.organisation_id is None
    assert event.data["issuer"] == "https://login.s1.example"
    assert event.shown_data["organisation_claimed"] == "s2"
    assert event.shown_data["reason"] == "organisation_not_bound"


def test_a_non_existent_organisation_gets_the_same_answer_as_a_foreign_one(world_db) -> None:
    _, sessions, _ = world_db
    foreign = refusal(sessions, CLAIMS | {"assure_org": "s2"})
    missing = refusal(sessions, CLAIMS | {"assure_org": "no-such-org"})
    assert str(foreign) == str(missing)
    assert foreign.reason == missing.reason


def test_a_provider_bound_to_one_organisation_needs_no_organisation_claim(world_db) -> None:
    world, sessions, _ = world_db
    claims = {k: v for k, v in CLAIMS.items() if k != "assure_org"}
    # Whatever a claim of the old name says, this provider only knows its one organisation.
    claims |= {"iss": "https://login.f1.example", "groups": ["assessors"], "assure_org": "s1"}
    signed_in = sign_in(sessions, claims)
    assert signed_in.principal.memberships[0].organisation_id == world.orgs["f1"].organisation_id
    assert signed_in.principal.roles() == {Role.FORCE_ASSESSOR}


def test_platform_admin_comes_only_from_the_provider_allowed_to_grant_it(world_db) -> None:
    world, sessions, _ = world_db
    claims = CLAIMS | {"iss": "https://login.platform.example", "groups": ["assure-platform"]}
    signed_in = sign_in(sessions, claims)
    assert signed_in.principal.roles() == {Role.PLATFORM_ADMIN}
    assert signed_in.principal.organisation_ids() == {world.orgs["platform"].organisation_id}


def test_platform_admin_is_granted_only_in_the_platform_organisation(world_db) -> None:
    _, sessions, _ = world_db
    both = IdentityProvider(
        name="both",
        issuer="https://login.both.example",
        organisations=("platform", "s1"),
        organisation_claim="assure_org",
        roles_claim="groups",
        role_map={"assure-platform": Role.PLATFORM_ADMIN} | SUPPLIER_ROLES,
        allow_platform_admin=True,
    )
    claims = CLAIMS | {
        "iss": "https://login.both.example",
        "groups": ["assure-platform", "assure-staff"],
    }
    signed_in = sign_in(sessions, claims, FederationMapping(providers=(both,)))
    assert signed_in.principal.roles() == {Role.SUPPLIER_MEMBER}


def test_a_provider_cannot_vouch_for_an_account_in_another_organisation(world_db) -> None:
    world, sessions, _ = world_db
    victim = world.users[Role.FORCE_ASSESSOR]
    refused = refusal(sessions, CLAIMS | {"email": "force_assessor@example.police.uk"})
    assert refused.reason == "account_outside_provider"
    assert count(sessions, Membership, Membership.user_id == victim) == 1


def test_a_password_account_in_no_organisation_is_not_taken_over(world_db) -> None:
    """Someone who redeemed an invitation to this address chose its password; with no role left
    it lies within every provider's reach, but the provider's sign-in must not adopt it."""
    from posture.identity.passwords import hash_password

    _, sessions, _ = world_db
    with sessions() as session, session.begin():
        session.add(
            User(
                email="jo@s1.example.com",
                display_name="Squatter",
                password_hash=hash_password("a squatter's chosen passphrase"),
            )
        )
    refused = refusal(sessions, CLAIMS)
    assert refused.reason == "account_unclaimed"
    with sessions() as session:
        squatted = session.scalars(select(User).where(User.email == "jo@s1.example.com")).one()
        assert count(sessions, Membership, Membership.user_id == squatted.id) == 0


def test_a_deactivated_account_is_refused(world_db) -> None:
    _, sessions, _ = world_db
    sign_in(sessions, CLAIMS)
    with sessions() as session, session.begin():
        session.scalars(
            select(User).where(User.email == "jo@s1.example.com")
        ).one().is_active = False
    assert refusal(sessions, CLAIMS).reason == "account_inactive"


@pytest.mark.parametrize(
    ("change", "reason", "message"),
    [
        ({"iss": "https://elsewhere.example"}, "unknown_issuer", "does not trust"),
        ({"provider": "s2"}, "provider_mismatch", "does not match"),
        ({"email": ""}, "no_email", "did not supply"),
        ({"email_verified": "true"}, "email_unverified", "not verified"),
        ({"assure_org": None}, "organisation_missing", "did not say which organisation"),
        ({"groups": ["unrelated"]}, "no_role", "no PoliceTech Assure role"),
    ],
)
def test_every_refusal_says_why_and_is_audited(world_db, change, reason, message) -> None:
    _, sessions, _ = world_db
    refused = refusal(sessions, CLAIMS | change)
    assert refused.reason == reason
    assert message in str(refused)
    (event,) = events(sessions, "auth.federated_refused")
    assert event.shown_data["reason"] == reason
    assert event.organisation_id is None


def test_a_refusal_rolled_back_by_the_caller_leaves_nothing(world_db) -> None:
    _, sessions, _ = world_db
    with sessions() as session, pytest.raises(FederatedSignInRefused):
        provision(session, CLAIMS | {"assure_org": "s2"}, MAPPING)
    assert events(sessions, "auth.federated_refused") == []


# --- MFA asserted by the identity provider --------------------------------------------------


@pytest.mark.parametrize(
    ("change", "asserted"),
    [
        ({"amr": ["pwd"]}, False),
        ({"amr": ["pwd", "mfa"]}, True),
        ({"amr": ["pwd"], "acr": "urn:s1:mfa"}, True),
        ({"amr": ["pwd"], "acr": "urn:s1:password"}, False),
        ({"amr": "mfa"}, False),  # RFC 8176: an array, or nothing
        ({"amr": [{"mfa": True}, "hwk"]}, True),
        ({"amr": ["MFA"]}, False),
        ({"iss": "https://login.s2.example", "assure_org": "s2", "amr": ["mfa"]}, False),
    ],
)
def test_mfa_counts_only_where_the_providers_mapping_says(world_db, change, asserted) -> None:
    _, sessions, _ = world_db
    signed_in = sign_in(sessions, CLAIMS | change)
    assert signed_in.mfa_asserted is asserted
    (login,) = events(sessions, "auth.identity_provider_verified")
    assert login.data["mfa_asserted"] is asserted


def test_the_result_carries_what_the_provider_sent(world_db) -> None:
    _, sessions, _ = world_db
    signed_in = sign_in(sessions, CLAIMS | {"amr": ["pwd", "otp", "pwd"], "acr": "urn:s1:mfa"})
    assert signed_in.amr == ("pwd", "otp")
    assert signed_in.acr == "urn:s1:mfa"
    with pytest.raises(AttributeError):
        signed_in.mfa_asserted = False  # type: ignore[misc]


# --- hostile claims -------------------------------------------------------------------------

HUGE = "x" * 10_000_000
BIDI = "s1\u202egnp.exe"
HOSTILE_ORGS = ["s1' OR '1'='1", "s1; DROP TABLE organisations;--", BIDI, "ｓ１", "S1", " s1", HUGE]


@pytest.mark.parametrize("claimed", [*HOSTILE_ORGS, {"slug": "s1"}, ["s1"], 1])
def test_a_hostile_organisation_claim_is_refused_and_recorded_escaped(world_db, claimed) -> None:
    _, sessions, _ = world_db
    assert refusal(sessions, CLAIMS | {"assure_org": claimed}).reason == "organisation_not_bound"
    (event,) = events(sessions, "auth.federated_refused")
    recorded = event.shown_data["organisation_claimed"]
    assert recorded.isascii()
    assert recorded.isprintable()
    assert len(recorded) < 300


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"iss": HUGE}, "unknown_issuer"),
        ({"iss": {"nested": "https://login.s1.example"}}, "unknown_issuer"),
        ({"iss": ["https://login.s1.example"]}, "unknown_issuer"),
        ({"email": HUGE + "@s1.example.com"}, "no_email"),
        ({"email": {"address": "jo@s1.example.com"}}, "no_email"),
        ({"email": "jo\u202e@s1.example.com"}, "no_email"),
        ({"email": "jo@s1@example.com"}, "no_email"),
        ({"groups": HUGE}, "no_role"),
        ({"groups": {"assure-staff": True}}, "no_role"),
        ({"groups": [["assure-staff"]]}, "no_role"),
    ],
)
def test_hostile_claims_are_refused_cleanly(world_db, change, reason) -> None:
    _, sessions, _ = world_db
    assert refusal(sessions, CLAIMS | change).reason == reason


@pytest.mark.parametrize(
    ("change", "mfa_asserted"),
    [
        ({"name": HUGE}, False),
        ({"name": {"given": "Jo"}}, False),
        ({"name": "Jo\u202e\x00 Smith"}, False),
        ({"amr": [HUGE, "mfa"]}, True),
        ({"amr": {"0": "mfa"}}, False),
        ({"amr": 7}, False),
        ({"acr": HUGE}, False),
        ({"acr": ["urn:s1:mfa"]}, False),
        ({"extra": {"deep": [{"deeper": HUGE}]}}, False),
        ({"provider": "s1"}, False),
    ],
)
def test_hostile_extra_claims_are_ignored(world_db, change, mfa_asserted) -> None:
    _, sessions, _ = world_db
    signed_in = sign_in(sessions, CLAIMS | change)
    assert signed_in.principal.roles() == {Role.SUPPLIER_MEMBER}
    assert signed_in.mfa_asserted is mfa_asserted
    with sessions() as session:
        name = session.scalar(select(User.display_name).where(User.email == "jo@s1.example.com"))
    assert name is not None
    assert len(name) <= 200
    assert name.isprintable()


# --- concurrent first sign-ins --------------------------------------------------------------


def test_concurrent_first_sign_ins_make_one_user_and_one_set_of_memberships(
    sessions: sessionmaker[Session],
) -> None:
    """Twenty browser tabs come back from the identity provider at once, on either backend."""
    from concurrent.futures import ThreadPoolExecutor

    from posture.audit import verify_chain
    from posture.storage.models import Organisation

    with sessions() as session, session.begin():
        session.add(Organisation(slug="s1", name="Supplier One", kind="supplier"))
    claims = CLAIMS | {"groups": ["assure-staff", "assure-admins"]}

    def first_sign_in(_: int) -> int:
        with sessions() as session, session.begin():
            return provision(session, claims, MAPPING).principal.user_id

    with ThreadPoolExecutor(max_workers=20) as pool:
        user_ids = set(pool.map(first_sign_in, range(20)))
    assert len(user_ids) == 1
    assert count(sessions, User) == 1
    assert count(sessions, Membership) == 2
    assert len(events(sessions, "user.provisioned")) == 1
    assert len(events(sessions, "role.granted")) == 2
    assert len(events(sessions, "auth.identity_provider_verified")) == 20
    with sessions() as session:
        assert verify_chain(session).intact


# --- the mapping file -----------------------------------------------------------------------

PROVIDER_YAML = """\
  - name: {name}
    issuer: {issuer}
    organisations: [{orgs}]
    roles_claim: groups
    role_map: {{staff: supplier_member}}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mapping.yaml"
    path.write_text(text)
    return path


def test_the_documented_example_loads() -> None:
    document = (ROOT / "docs" / "oidc.md").read_text()
    (example,) = re.findall(r"```yaml\n(.+?)```", document, flags=re.DOTALL)
    mapping = FederationMapping.model_validate(yaml.safe_load(example))
    assert [p.name for p in mapping.providers] == ["example-force", "acme", "platform-idp"]


def test_a_valid_file_loads(tmp_path: Path) -> None:
    text = "providers:\n" + PROVIDER_YAML.format(name="a", issuer="https://a.example", orgs="s1")
    mapping = load_mapping(write(tmp_path, text))
    assert mapping.by_issuer("https://a.example").organisations == ("s1",)  # type: ignore[union-attr]
    assert mapping.by_issuer("https://b.example") is None


def test_duplicate_issuers_are_refused_at_load(tmp_path: Path) -> None:
    text = "providers:\n" + "".join(
        PROVIDER_YAML.format(name=name, issuer="https://same.example", orgs=org)
        for name, org in (("a", "s1"), ("b", "s2"))
    )
    with pytest.raises(ConfigError, match=r"issuer 'https://same\.example'"):
        load_mapping(write(tmp_path, text))


def test_platform_admin_is_refused_for_a_provider_not_bound_to_the_platform(
    tmp_path: Path,
) -> None:
    text = "providers:\n" + PROVIDER_YAML.format(name="a", issuer="https://a.example", orgs="s1")
    with pytest.raises(ConfigError, match="allow_platform_admin is only allowed"):
        load_mapping(write(tmp_path, text + "    allow_platform_admin: true\n"))


def test_an_old_single_provider_file_is_refused_with_the_new_shape(tmp_path: Path) -> None:
    old = (
        "issuer: https://login.s1.example\norganisation_claim: assure_org\n"
        "roles_claim: groups\nrole_map: {staff: supplier_member}\n"
    )
    with pytest.raises(ConfigError, match="old single-provider format") as caught:
        load_mapping(write(tmp_path, old))
    shape = str(caught.value)
    assert "providers:" in shape
    assert "organisations:" in shape


@pytest.mark.parametrize(
    ("extra", "orgs", "problem"),
    [
        ("", "s1, s2", "organisation_claim is needed"),
        ("    role_map: {admins: platform_admin}\n", "platform", "allow_platform_admin is false"),
        ("    mfa: {amr_any: [pwd, mfa]}\n", "s1", "single-factor"),
        ("    mfa: {amr: [mfa]}\n", "s1", "Extra inputs are not permitted"),
        ("    tenant: s2\n", "s1", "Extra inputs are not permitted"),
        ("", "s1, s1", "twice"),
        ("", "", "at least 1 item"),
    ],
)
def test_an_inconsistent_provider_is_refused_at_load(tmp_path, extra, orgs, problem) -> None:
    provider = PROVIDER_YAML.format(name="a", issuer="https://a.example", orgs=orgs)
    if "role_map" in extra:
        provider = provider.replace("    role_map: {staff: supplier_member}\n", "")
    with pytest.raises(ConfigError, match=problem):
        load_mapping(write(tmp_path, "providers:\n" + provider + extra))


def test_an_unreadable_mapping_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_mapping(tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_mapping(write(tmp_path, "providers: [\n"))


def test_a_provider_dropping_the_only_admins_group_does_not_leave_the_platform_without_one(
    world_db,
) -> None:
    world, sessions, _ = world_db
    with sessions() as session, session.begin():
        session.execute(
            delete(Membership).where(
                Membership.user_id == world.users[Role.PLATFORM_ADMIN],
                Membership.role == Role.PLATFORM_ADMIN,
            )
        )
    two_roles = IdentityProvider(
        name="platform",
        issuer="https://login.platform.example",
        organisations=("platform",),
        roles_claim="groups",
        role_map={"assure-platform": Role.PLATFORM_ADMIN, "managers": Role.CHALLENGE_MANAGER},
        allow_platform_admin=True,
    )
    mapping = FederationMapping(providers=(two_roles,))
    claims = CLAIMS | {"iss": "https://login.platform.example"}
    sign_in(sessions, claims | {"groups": ["assure-platform", "managers"]}, mapping)
    kept = sign_in(sessions, claims | {"groups": ["managers"]}, mapping)
    assert Role.PLATFORM_ADMIN in kept.principal.roles()
    with sessions() as session:
        actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert "role.revoke_refused" in actions
