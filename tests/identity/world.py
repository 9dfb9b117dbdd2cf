"""A small multi-tenant world: two suppliers, a force, a national body and the platform."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from posture.audit import SYSTEM, record
from posture.identity.permissions import Membership, Principal
from posture.storage.models import (
    Answer,
    Assessment,
    CheckRun,
    Evidence,
    Finding,
    Organisation,
    Product,
    User,
)
from posture.storage.models import Membership as MembershipRow
from posture.storage.models.enums import Role

WHEN = datetime(2026, 10, 1, 9, tzinfo=UTC)


@dataclass(frozen=True)
class OrgObjects:
    organisation_id: int
    product_id: int | None
    draft_assessment_id: int
    submitted_assessment_id: int
    check_run_id: int
    evidence_id: int


@dataclass(frozen=True)
class World:
    orgs: dict[str, OrgObjects]
    home_org: dict[Role, str]
    users: dict[Role, int]

    def principal(self, role: Role, org: str | None = None) -> Principal:
        """The user holding `role`, as a member of its home organisation or of `org`."""
        home = self.orgs[org or self.home_org[role]].organisation_id
        return Principal(
            self.users[role], f"{role.value}@example.police.uk", (Membership(home, role),)
        )


HOME = {
    Role.SUPPLIER_ADMIN: "s1",
    Role.SUPPLIER_MEMBER: "s1",
    Role.FORCE_ASSESSOR: "f1",
    Role.NATIONAL_ASSESSOR: "n1",
    Role.PROCUREMENT_OFFICER: "n1",
    Role.CHALLENGE_MANAGER: "n1",
    Role.CHALLENGE_JUDGE: "n1",
    Role.PLATFORM_ADMIN: "platform",
    Role.SIRO: "f1",
}


def _org_objects(
    session: Session, slug: str, kind: str, with_product: bool, framework_version_id: int
) -> OrgObjects:
    org = Organisation(slug=slug, name=f"Organisation {slug}", kind=kind)
    session.add(org)
    session.flush()
    product_id = None
    profile = "force-baseline"
    if with_product:
        product = Product(
            organisation_id=org.id,
            name=f"{slug} Evidence Vault",
            category="digital_evidence",
            deployment_model="saas",
            # Every fact declared: an undeclared one reads as the most demanding answer.
            max_classification="official",
            data_locations=["uk"],
            vetting="nppv2",
            forces_served=2,
            records_held=50_000,
        )
        session.add(product)
        session.flush()
        product_id, profile = product.id, "supplier-saas"
    submitted = Assessment(
        organisation_id=org.id,
        product_id=product_id,
        framework_version_id=framework_version_id,
        profile_id=profile,
        status="submitted",
        version=1,
        created_at=WHEN,
        submitted_at=WHEN,
    )
    session.add(submitted)
    session.flush()
    draft = Assessment(
        organisation_id=org.id,
        product_id=product_id,
        framework_version_id=framework_version_id,
        profile_id=profile,
        status="draft",
        version=2,
        supersedes_id=submitted.id,
    )
    session.add(draft)
    session.flush()
    answered = [submitted.id, draft.id]
    if with_product:
        # Suppliers also assess themselves as an organisation, not only their products.
        own_assessment = Assessment(
            organisation_id=org.id,
            product_id=None,
            framework_version_id=framework_version_id,
            profile_id=profile,
            status="submitted",
            version=1,
            created_at=WHEN,
            submitted_at=WHEN,
        )
        session.add(own_assessment)
        session.flush()
        answered.append(own_assessment.id)
    for assessment_id in answered:
        session.add(
            Answer(
                assessment_id=assessment_id,
                outcome_id="A1.a",
                indicators_met=["A1.a.A1", "A1.a.A2", "A1.a.PA1"],
                provenance="self_asserted",
                answered_at=WHEN,
            )
        )
    run = CheckRun(
        organisation_id=org.id,
        product_id=product_id,
        kind="tls",
        target=f"{slug}.example:443",
        status="succeeded",
        created_at=WHEN,
        finished_at=WHEN,
    )
    session.add(run)
    session.flush()
    session.add(
        Finding(
            check_run_id=run.id,
            code="PQC-TLS-001",
            severity="high",
            title="No quantum-safe key exchange",
            outcome_ids=["C3.b"],
        )
    )
    evidence = Evidence(
        organisation_id=org.id,
        assessment_id=draft.id,
        kind="document",
        filename="policy.pdf",
        media_type="application/pdf",
        size_bytes=9,
        sha256="0" * 64,
        provenance="documentary",
        storage_key="evidence/x",
    )
    session.add(evidence)
    session.flush()
    record(session, SYSTEM, "world.created", "organisation", org.id, organisation_id=org.id)
    return OrgObjects(org.id, product_id, draft.id, submitted.id, run.id, evidence.id)


def build_world(session: Session) -> World:
    from frameworks.loader import default_framework
    from posture.framework_registry import register_framework

    version_id = register_framework(session, default_framework()).id
    orgs = {
        "s1": _org_objects(session, "s1", "supplier", True, version_id),
        "s2": _org_objects(session, "s2", "supplier", True, version_id),
        "f1": _org_objects(session, "f1", "force", False, version_id),
        "n1": _org_objects(session, "n1", "national_body", False, version_id),
        "platform": _org_objects(session, "platform", "platform", False, version_id),
    }
    users: dict[Role, int] = {}
    for role, home in HOME.items():
        user = User(email=f"{role.value}@example.police.uk", display_name=role.value)
        session.add(user)
        session.flush()
        session.add(
            MembershipRow(user_id=user.id, organisation_id=orgs[home].organisation_id, role=role)
        )
        users[role] = user.id
    session.flush()
    return World(orgs=orgs, home_org=HOME, users=users)


def add_force(session: Session, slug: str, role: Role = Role.SIRO) -> Principal:
    """Another force, with one user holding `role` in it."""
    org = Organisation(slug=slug, name=f"Force {slug}", kind="force")
    user = User(email=f"{role.value}@{slug}.police.uk", display_name=f"{role.value} {slug}")
    session.add_all([org, user])
    session.flush()
    session.add(MembershipRow(user_id=user.id, organisation_id=org.id, role=role))
    return Principal(user.id, user.email, (Membership(org.id, role),))
