"""A procurement world: an officer, two suppliers, a product with posture and check evidence."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest
from sqlalchemy.orm import Session, sessionmaker

from frameworks.loader import default_framework
from posture.framework_registry import register_framework
from posture.identity.permissions import Membership, Principal
from posture.storage.engine import transaction
from posture.storage.models import Answer, Assessment, CheckRun, Organisation, Product, User
from posture.storage.models import Membership as MembershipRow
from posture.storage.models.enums import Role
from supplier_portal.procurement import lots
from supplier_portal.procurement.gates import Gates

TODAY = date(2026, 11, 26)
WHEN = datetime(2026, 11, 20, 10, tzinfo=UTC)


@dataclass
class ProcurementWorld:
    sessions: sessionmaker[Session]
    orgs: dict[str, int]
    people: dict[str, Principal]
    products: dict[str, int]


def add_check(
    session: Session,
    organisation_id: int,
    product_id: int,
    kind: str,
    score: float,
    when: datetime = WHEN,
) -> None:
    session.add(
        CheckRun(
            organisation_id=organisation_id,
            product_id=product_id,
            kind=kind,
            target="svc.example:443",
            status="succeeded",
            score=score,
            created_at=when,
            started_at=when,
            finished_at=when,
        )
    )


def _achieved_assessment(session: Session, organisation_id: int, product_id: int) -> None:
    loaded = default_framework()
    version = register_framework(session, loaded).id
    assessment = Assessment(
        organisation_id=organisation_id,
        product_id=product_id,
        framework_version_id=version,
        profile_id="supplier-saas",
        status="accepted",
        version=1,
        created_at=WHEN,
        submitted_at=WHEN,
    )
    session.add(assessment)
    session.flush()
    profile = loaded.profiles["supplier-saas"]
    for outcome in loaded.framework.outcomes():
        if profile.target_for(outcome) is None:
            continue
        met = [i.id for i in outcome.indicators.partially_achieved + outcome.indicators.achieved]
        session.add(
            Answer(
                assessment_id=assessment.id,
                outcome_id=outcome.id,
                indicators_met=met,
                provenance="independent",
                answered_at=WHEN,
            )
        )


@pytest.fixture
def pw(sessions: sessionmaker[Session]) -> ProcurementWorld:
    with transaction(sessions) as session:
        orgs = {}
        for slug, kind in (
            ("home-office", "national_body"),
            ("s1", "supplier"),
            ("s2", "supplier"),
        ):
            org = Organisation(slug=slug, name=f"Org {slug}", kind=kind)
            session.add(org)
            session.flush()
            orgs[slug] = org.id
        people = {}
        for name, org, role in (
            ("officer", "home-office", Role.PROCUREMENT_OFFICER),
            ("a1", "s1", Role.SUPPLIER_ADMIN),
            ("a2", "s2", Role.SUPPLIER_ADMIN),
        ):
            user = User(email=f"{name}@example.police.uk", display_name=name)
            session.add(user)
            session.flush()
            session.add(MembershipRow(user_id=user.id, organisation_id=orgs[org], role=role))
            people[name] = Principal(user.id, user.email, (Membership(orgs[org], role),))
        products = {}
        for name, org, locations in (("vault", "s1", ["uk"]), ("mapper", "s2", ["uk", "us"])):
            product = Product(
                organisation_id=orgs[org],
                name=name,
                category="analytics",
                deployment_model="saas",
                data_locations=locations,
                certifications=[{"scheme": "cyber_essentials_plus", "expires": "2027-06-01"}],
                api_available=True,
                # Every fact declared: an undeclared one would ask for the critical profile.
                max_classification="official",
                vetting="nppv2",
                forces_served=3,
                records_held=80_000,
            )
            session.add(product)
            session.flush()
            products[name] = product.id
            _achieved_assessment(session, orgs[org], product.id)
            add_check(session, orgs[org], product.id, "tls", 85)
            add_check(session, orgs[org], product.id, "api", 90)
    return ProcurementWorld(sessions, orgs, people, products)


def list_both_products(pw: ProcurementWorld) -> int:
    """A framework lot without gates on which vault and mapper are both listed; its id."""
    with transaction(pw.sessions) as session:
        framework = lots.create_framework(
            session, pw.people["officer"], pw.orgs["home-office"], "PoliceTech COTS 2027"
        )
        lot = lots.add_lot(session, pw.people["officer"], framework.id, "saas", "SaaS", Gates())
        for who, product in (("a1", "vault"), ("a2", "mapper")):
            application = lots.apply_product(
                session, pw.people[who], lot.id, pw.products[product], today=TODAY
            )
            lots.transition(session, pw.people["officer"], application.id, "under_review")
            lots.transition(session, pw.people["officer"], application.id, "listed", today=TODAY)
        return lot.id
