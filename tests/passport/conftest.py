"""A world whose supplier s1 has its product's assessment accepted by a national assessor, which
issues the product's passport with the platform's keys."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from kernel.settings import Settings
from posture.platform_keys import platform_keys
from posture.storage.engine import transaction
from posture.storage.models import Answer, Passport
from posture.storage.models.enums import Role
from pq_crypto.attestation import AttestationKeys
from supplier_portal.reviews import review_answer
from tests.identity.world import World

Db = tuple[World, sessionmaker[Session], Settings]


@dataclass(frozen=True)
class Issued:
    world: World
    sessions: sessionmaker[Session]
    settings: Settings
    keys: AttestationKeys
    number: str
    document: bytes


def accept_in_full(
    session: Session, world: World, assessment_id: int, keys: AttestationKeys | None
) -> None:
    assessor = world.principal(Role.NATIONAL_ASSESSOR)
    for answer_id in session.scalars(
        select(Answer.id).where(Answer.assessment_id == assessment_id).order_by(Answer.id)
    ).all():
        review_answer(session, assessor, answer_id, "accept", keys=keys)


def issue_for(db: Db, org: str = "s1") -> Issued:
    world, sessions, settings = db
    keys = platform_keys(settings)
    with transaction(sessions) as session:
        accept_in_full(session, world, world.orgs[org].submitted_assessment_id, keys)
    with sessions() as session:
        passport = session.scalars(
            select(Passport).where(Passport.product_id == world.orgs[org].product_id)
        ).one()
        return Issued(world, sessions, settings, keys, passport.number, passport.document)


@pytest.fixture
def issued(world_db: Db) -> Issued:
    return issue_for(world_db)
