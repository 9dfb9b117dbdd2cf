"""The demo estate is real where it can be (forces, bodies) and deterministic where synthetic."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from frameworks.loader import default_framework
from kernel.errors import ValidationFailed
from posture.demo.estate import build_estate, police_bodies
from posture.demo.seed import seed_demo
from posture.storage.engine import transaction
from posture.storage.models import Answer, Assessment, AuditEvent, Organisation, Product, User
from posture.storage.models.enums import Role

AS_OF = date(2026, 11, 1)


def _build(seed: int, suppliers: int = 30):
    loaded = default_framework()
    return build_estate(loaded.framework, loaded.profiles, 1, suppliers, seed, AS_OF)


def test_the_same_seed_gives_the_same_estate() -> None:
    assert _build(seed=11) == _build(seed=11)


def test_a_different_seed_gives_a_different_estate() -> None:
    first, second = _build(seed=11), _build(seed=12)
    assert first.products != second.products
    assert first.answers != second.answers


def test_the_43_territorial_forces_are_present_by_their_real_names() -> None:
    forces = police_bodies()["forces"]
    names = {force["name"] for force in forces}
    assert len(forces) == 43 == len(names)
    assert {"Metropolitan Police Service", "Dyfed-Powys Police", "Thames Valley Police"} <= names
    estate = _build(seed=1, suppliers=0)
    seeded_forces = [o for o in estate.organisations if o["kind"] == "force"]
    assert {o["name"] for o in seeded_forces} == names


def test_histories_span_24_months_and_only_the_latest_assessment_is_current() -> None:
    estate = _build(seed=5, suppliers=50)
    dates = [a["created_at"].date() for a in estate.assessments]
    assert min(dates) >= date(2024, 11, 1)
    assert max(dates) < AS_OF
    assert (max(dates) - min(dates)).days > 600
    latest: dict[tuple[int, int | None], dict] = {}
    for assessment in estate.assessments:
        key = (assessment["organisation_id"], assessment["product_id"])
        if key not in latest or assessment["version"] > latest[key]["version"]:
            latest[key] = assessment
    current = {a["id"] for a in latest.values()}
    for assessment in estate.assessments:
        assert (assessment["status"] != "superseded") == (assessment["id"] in current)


def test_answers_name_only_indicators_of_their_own_outcome() -> None:
    estate = _build(seed=3, suppliers=20)
    for answer in estate.answers:
        for indicator_id in answer["indicators_met"]:
            assert indicator_id.startswith(answer["outcome_id"] + ".")
        if answer["not_applicable"]:
            assert answer["justification"]


def test_seeding_writes_the_estate_with_no_passwords(sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as session:
        result = seed_demo(session, suppliers=25, seed=9, as_of=AS_OF)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Product)) == 25
        assert result.counts["answers"] == session.scalar(select(func.count()).select_from(Answer))
        assert session.scalar(select(func.count()).where(User.password_hash.is_not(None))) == 0
        assert session.scalar(select(AuditEvent.action).order_by(AuditEvent.id)) == "demo.seeded"
        assert result.logins == []


def test_seeding_twice_is_refused_and_changes_nothing(sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as session:
        seed_demo(session, suppliers=5, seed=1, as_of=AS_OF)
    with sessions() as session:
        before = session.scalar(select(func.count()).select_from(Assessment))
    with pytest.raises(ValidationFailed, match="already holds"), transaction(sessions) as session:
        seed_demo(session, suppliers=5, seed=2, as_of=AS_OF)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Assessment)) == before


def test_with_logins_gives_one_random_password_per_role(sessions: sessionmaker[Session]) -> None:
    from posture.identity.passwords import verify_password

    with transaction(sessions) as session:
        result = seed_demo(session, suppliers=3, seed=4, as_of=AS_OF, with_logins=True)
    roles = [login.role for login in result.logins]
    assert len(roles) == len(set(roles))
    # Every role in the permission table can be tried, a judge and a supplier's member included.
    assert set(roles) == {role.value for role in Role}
    with sessions() as session:
        for login in result.logins:
            stored = session.scalar(select(User.password_hash).where(User.email == login.email))
            assert verify_password(stored, login.password)
    assert len({login.password for login in result.logins}) == len(result.logins)


def test_new_rows_after_seeding_get_fresh_ids(sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as session:
        seed_demo(session, suppliers=2, seed=4, as_of=AS_OF)
    with transaction(sessions) as session:
        org = Organisation(slug="new-supplier", name="New Supplier Ltd", kind="supplier")
        session.add(org)
        session.flush()
        assert org.id > 45
