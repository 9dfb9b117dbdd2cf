"""A challenge world: a manager, three suppliers, four judges (one employed by a supplier)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from posture.identity.permissions import Membership, Principal
from posture.storage.engine import transaction
from posture.storage.models import Membership as MembershipRow
from posture.storage.models import Organisation, User
from posture.storage.models.enums import Role
from supplier_portal.challenges.forms import ChallengeForm
from supplier_portal.forms import parse_form

OPENS = datetime(2026, 12, 1, 9, tzinfo=UTC)
CLOSES = datetime(2027, 1, 15, 12, 0, 0, tzinfo=UTC)
DURING = OPENS + timedelta(days=3)
AFTER = CLOSES + timedelta(days=1)


def challenge_form(**changes) -> ChallengeForm:
    data = {
        "title": "Faster digital evidence review",
        "problem_statement": "Forces spend weeks reviewing seized media; find ways to cut it.",
        "phase": "feasibility",
        "opens_at": OPENS,
        "closes_at": CLOSES,
        "quality_threshold": 50,
        "assessors_per_entry": 2,
        "rubric": [
            {
                "key": "impact",
                "title": "Impact on policing",
                "weight": 60,
                "scale_min": 0,
                "scale_max": 10,
                "bands": [
                    {"min": 0, "max": 3, "label": "Little"},
                    {"min": 4, "max": 7, "label": "Useful"},
                    {"min": 8, "max": 10, "label": "Transformative"},
                ],
            },
            {
                "key": "feasibility",
                "title": "Feasibility",
                "weight": 40,
                "scale_min": 1,
                "scale_max": 5,
                "bands": [
                    {"min": 1, "max": 2, "label": "Doubtful"},
                    {"min": 3, "max": 5, "label": "Credible"},
                ],
            },
        ],
        "eligibility": [{"key": "uk_based", "text": "Is your company registered in the UK?"}],
    }
    data.update(changes)
    return parse_form(ChallengeForm, data)


@dataclass
class ChallengeWorld:
    sessions: sessionmaker[Session]
    orgs: dict[str, int]
    people: dict[str, Principal]


@pytest.fixture
def cw(sessions: sessionmaker[Session]) -> ChallengeWorld:
    with transaction(sessions) as session:
        orgs = {}
        for slug, kind in (
            ("innovate", "national_body"),
            ("s1", "supplier"),
            ("s2", "supplier"),
            ("s3", "supplier"),
        ):
            org = Organisation(slug=slug, name=f"Org {slug}", kind=kind)
            session.add(org)
            session.flush()
            orgs[slug] = org.id
        people = {}
        for name, org, role in (
            ("manager", "innovate", Role.CHALLENGE_MANAGER),
            ("a1", "s1", Role.SUPPLIER_ADMIN),
            ("a2", "s2", Role.SUPPLIER_ADMIN),
            ("a3", "s3", Role.SUPPLIER_ADMIN),
            ("j1", "innovate", Role.CHALLENGE_JUDGE),
            ("j2", "innovate", Role.CHALLENGE_JUDGE),
            ("j3", "innovate", Role.CHALLENGE_JUDGE),
            ("j4", "s1", Role.CHALLENGE_JUDGE),
        ):
            user = User(email=f"{name}@example.police.uk", display_name=name)
            session.add(user)
            session.flush()
            session.add(MembershipRow(user_id=user.id, organisation_id=orgs[org], role=role))
            people[name] = Principal(user.id, user.email, (Membership(orgs[org], role),))
    return ChallengeWorld(sessions, orgs, people)
