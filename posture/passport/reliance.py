"""A force relies on a product's passport for its deployment instead of assessing the product
again; the national view counts the assessments reliance saved. A force relies only on a valid
passport of the product it deploys, and only one whose profile reaches what its own use of the
product needs (the deployment's target, posture.target_profiles)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from frameworks.loader import default_framework
from kernel.clock import utcnow
from kernel.errors import ValidationFailed
from posture.audit import record
from posture.identity.accounts import actor_of
from posture.identity.permissions import NotFound, Principal, require, visible_organisations
from posture.passport.document import VALID, PassportBody
from posture.passport.status import standing
from posture.portfolio.deployments import drop_reliance, live_deployment
from posture.storage.locks import hold_exclusive
from posture.storage.models import (
    Deployment,
    Organisation,
    Passport,
    PassportReliance,
    Product,
)
from posture.target_profiles import deployment_targets, supplier_rules


class RelianceRefused(ValidationFailed):
    """The passport cannot stand in for the force's own assessment; nothing was recorded."""


def _standing(passport: Passport, now: datetime) -> str:
    return standing(passport.status, passport.expires_at, now)


@dataclass(frozen=True)
class Reliance:
    product_id: int
    product: str
    passport: str
    standing: str
    recorded_at: datetime


def rely_on_passport(
    session: Session, principal: Principal, organisation_id: int, product_id: int, number: str
) -> Reliance:
    require(principal, "deployment.manage", organisation_id, "organisation")
    deployment = live_deployment(session, organisation_id, product_id)
    if deployment is None:
        raise NotFound("deployment not found")
    passport = session.scalar(select(Passport).where(Passport.number == number))
    if passport is None:
        raise NotFound("passport not found")
    if passport.product_id != product_id:
        raise RelianceRefused(f"passport {number} is for another product")
    now = utcnow()
    standing_now = _standing(passport, now)
    if standing_now != VALID:
        raise RelianceRefused(
            f"passport {number} is {standing_now}; only a valid one can be relied on"
        )
    product = session.get(Product, product_id)
    assert product is not None
    body = PassportBody.model_validate(json.loads(passport.document)["passport"])
    covered, runs = body.product.version, deployment.product_version
    if covered is not None and runs is not None and runs != covered:
        raise RelianceRefused(
            f"passport {number} covers version {covered}; your deployment runs {runs}. Record "
            "the version you run, or assess the one you run."
        )
    loaded = default_framework()
    rules = supplier_rules(loaded)
    needed = deployment_targets(session, loaded, [(deployment, product)])[0]
    stated = body.profile.id
    if stated not in rules.order or rules.rank(stated) < rules.rank(needed.profile_id):
        raise RelianceRefused(
            f"passport {number} states profile {stated}; your use of the product needs "
            f"{needed.explain()}. Assess it to that profile instead."
        )
    # One reliance per deployment: parallel requests take turns, and the last one stands.
    hold_exclusive(session, f"reliance:{deployment.id}")
    held = session.scalar(
        select(PassportReliance).where(PassportReliance.deployment_id == deployment.id)
    )
    if held is None:
        held = PassportReliance(
            deployment_id=deployment.id,
            passport_id=passport.id,
            organisation_id=organisation_id,
            recorded_by_user_id=principal.user_id,
            recorded_at=now,
        )
        session.add(held)
    elif held.passport_id == passport.id:
        return Reliance(product_id, product.name, number, standing_now, held.recorded_at)
    else:
        held.passport_id = passport.id
        held.recorded_by_user_id = principal.user_id
        held.recorded_at = now
    session.flush()
    record(
        session,
        actor_of(principal),
        "passport.relied_on",
        "deployment",
        deployment.id,
        {"deployment_id": deployment.id, "product_id": product_id, "passport_number": number},
        organisation_id=organisation_id,
    )
    return Reliance(product_id, product.name, number, standing_now, now)


def end_reliance(
    session: Session, principal: Principal, organisation_id: int, product_id: int
) -> None:
    require(principal, "deployment.manage", organisation_id, "organisation")
    deployment = live_deployment(session, organisation_id, product_id)
    if deployment is None:
        raise NotFound("deployment not found")
    hold_exclusive(session, f"reliance:{deployment.id}")
    if not drop_reliance(session, principal, deployment, "the force stopped relying on it"):
        raise NotFound("the deployment relies on no passport")


def force_reliances(session: Session, principal: Principal, organisation_id: int) -> list[Reliance]:
    """The force's reliances, with each passport's standing now."""
    require(principal, "risk.read", organisation_id, "organisation")
    now = utcnow()
    rows = session.execute(
        select(PassportReliance, Passport, Product.id, Product.name)
        .join(Passport, Passport.id == PassportReliance.passport_id)
        .join(Product, Product.id == Passport.product_id)
        .join(Deployment, Deployment.id == PassportReliance.deployment_id)
        .where(PassportReliance.organisation_id == organisation_id, Deployment.ended_at.is_(None))
        .order_by(Product.name, Product.id)
    ).all()
    return [
        Reliance(product_id, name, passport.number, _standing(passport, now), held.recorded_at)
        for held, passport, product_id, name in rows
    ]


@dataclass(frozen=True)
class ReliedProduct:
    product_id: int
    product: str
    supplier: str
    passport: str
    standing: str
    forces: int


@dataclass(frozen=True)
class AssuranceAvoided:
    """Assessments forces did not need because a valid passport stood in: one per force relying
    on a passport that is valid now."""

    avoided: int
    reliances: int
    products: list[ReliedProduct]


def assurance_avoided(session: Session, principal: Principal) -> AssuranceAvoided:
    if visible_organisations(principal, "posture.dashboard") is not None:
        raise NotFound("the national view is for national roles")
    now = utcnow()
    rows = session.execute(
        select(
            Passport,
            Product.name,
            Organisation.name,
            func.count(PassportReliance.id),
        )
        .join(PassportReliance, PassportReliance.passport_id == Passport.id)
        .join(Deployment, Deployment.id == PassportReliance.deployment_id)
        .join(Product, Product.id == Passport.product_id)
        .join(Organisation, Organisation.id == Passport.organisation_id)
        .where(Deployment.ended_at.is_(None))
        .group_by(Passport.id, Product.name, Organisation.name)
        .order_by(func.count(PassportReliance.id).desc(), Product.name)
    ).all()
    products = [
        ReliedProduct(
            passport.product_id,
            product,
            supplier,
            passport.number,
            _standing(passport, now),
            forces,
        )
        for passport, product, supplier, forces in rows
    ]
    return AssuranceAvoided(
        avoided=sum(p.forces for p in products if p.standing == VALID),
        reliances=sum(p.forces for p in products),
        products=products,
    )
