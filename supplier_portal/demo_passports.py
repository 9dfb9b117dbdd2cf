"""The demo's passports, so the Passports page, reliance and the national count of assessments
avoided have something to show on first sign-in. The national assessor accepts the demo force's
three deployed products' current assessments through the review service (which issues each
passport, signed with the platform's keys); the demo force relies on each passport its use
allows; most other forces deploying the better placed of the first two products rely on its
passport too, written as the seed writes the rest of the estate; and the national assessor
suspends the third product's passport, so the revocation list and the deploying forces' inboxes
show a suspension."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from kernel.clock import utcnow
from kernel.errors import ValidationFailed
from posture.identity.permissions import Principal
from posture.passport.registry import decide
from posture.passport.reliance import RelianceRefused, rely_on_passport
from posture.portfolio.deployments import ASSESSED
from posture.scoring.bands import band_names
from posture.storage.models import Answer, Assessment, Deployment, Passport, PassportReliance
from posture.storage.models.enums import AssessmentStatus, PassportStatus, Role
from pq_crypto.attestation import AttestationKeys
from supplier_portal.demo_risk import demo_principal
from supplier_portal.reviews import review_answer

# Of the forces deploying that product (other than the demo force), how many rely on its
# passport rather than assessing it themselves.
OTHERS_RELYING = 0.7
SUSPENSION = (
    "Demo: the supplier reported an incident on the hosting platform; suspended while the "
    "national assessor reviews it."
)


def _current(session: Session, product_id: int) -> Assessment | None:
    return session.scalars(
        select(Assessment)
        .where(Assessment.product_id == product_id, Assessment.status.in_(ASSESSED))
        .order_by(Assessment.version.desc(), Assessment.id.desc())
        .limit(1)
    ).first()


def _passport_of(
    session: Session, national: Principal, keys: AttestationKeys, product_id: int
) -> Passport | None:
    """The product's passport: its current assessment accepted answer by answer (which issues
    the passport), or issued for one accepted before."""
    assessment = _current(session, product_id)
    if assessment is None:
        return None
    if assessment.status != AssessmentStatus.ACCEPTED:
        undecided = session.scalars(
            select(Answer.id)
            .where(Answer.assessment_id == assessment.id, Answer.review_status.is_(None))
            .order_by(Answer.id)
        ).all()
        for answer_id in undecided:
            review_answer(session, national, answer_id, "accept", keys=keys)
    else:
        from posture.audit import Actor
        from posture.passport.issue import NoPassport, issue_passport

        try:
            issue_passport(session, Actor("demo"), keys, assessment.id)
        except NoPassport:
            return None
    return session.scalars(
        select(Passport).where(
            Passport.product_id == product_id, Passport.status == PassportStatus.ISSUED
        )
    ).first()


def seed_passports(
    session: Session,
    national_email: str,
    force_email: str,
    keys: AttestationKeys,
    product_ids: list[int],
) -> dict[str, Any]:
    """Passports for the demo force's deployed products, its reliance and other forces'; the
    numbers and counts, for the CLI's JSON and the browser journey."""
    national = demo_principal(session, national_email, Role.NATIONAL_ASSESSOR)
    force = demo_principal(session, force_email, Role.FORCE_ASSESSOR)
    (force_id,) = force.organisation_ids()
    issued: dict[int, Passport] = {}
    for product_id in product_ids:
        passport = _passport_of(session, national, keys, product_id)
        if passport is not None:
            issued[product_id] = passport
    relied = []
    for product_id, passport in issued.items():
        try:
            rely_on_passport(session, force, force_id, product_id, passport.number)
            relied.append(passport.number)
        except (RelianceRefused, ValidationFailed):
            continue  # the force's use needs more than the passport states
    others = 0
    kept = [issued[p] for p in product_ids[:2] if p in issued]
    if kept:
        # Other forces rely on the better placed of the two passports left valid.
        best = min(kept, key=lambda passport: _body_band(passport))
        others = _others_rely(session, best, force_id)
    suspended = None
    if len(product_ids) > 2 and product_ids[2] in issued:
        suspended = issued[product_ids[2]].number
        decide(session, national, suspended, "suspend", SUSPENSION)
    return {
        "passports": [p.number for p in issued.values()],
        "relied_on_by_demo_force": relied,
        "other_forces_relying": others,
        "suspended_passport": suspended,
    }


def _body_band(passport: Passport) -> int:
    """The passport's band as its place in the bands, best first."""
    band = json.loads(passport.document)["passport"]["band"]
    bands = band_names()
    return bands.index(band) if band in bands else len(bands)


def _others_rely(session: Session, passport: Passport, force_id: int) -> int:
    deployments = session.execute(
        select(Deployment.id, Deployment.organisation_id)
        .where(
            Deployment.product_id == passport.product_id,
            Deployment.ended_at.is_(None),
            Deployment.organisation_id != force_id,
        )
        .order_by(Deployment.organisation_id)
    ).all()
    relying = deployments[: int(len(deployments) * OTHERS_RELYING)]
    if relying:
        now = utcnow()
        session.execute(
            insert(PassportReliance),
            [
                {
                    "deployment_id": deployment_id,
                    "passport_id": passport.id,
                    "organisation_id": organisation_id,
                    "recorded_at": now,
                }
                for deployment_id, organisation_id in relying
            ],
        )
    return len(relying)
