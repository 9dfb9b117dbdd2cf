"""The challenge pages by role (AppTest): navigation, entering, judging and results."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update
from streamlit.testing.v1 import AppTest

from kernel.settings import load_settings
from posture.identity.permissions import Membership, Principal
from posture.storage import migrate
from posture.storage.engine import build_engine, session_factory, transaction
from posture.storage.models import (
    Challenge,
    ChallengeEntry,
    JudgeAllocation,
    JudgeConflict,
    Organisation,
    User,
)
from posture.storage.models import Membership as MembershipRow
from posture.storage.models.enums import Role
from supplier_portal.challenges import manage
from tests.challenges.conftest import challenge_form


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("ASSURE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("ASSURE_DATABASE_URL", raising=False)
    engine = build_engine(load_settings())
    migrate.upgrade(engine)
    sessions = session_factory(engine)
    people = {}
    with transaction(sessions) as session:
        orgs = {}
        for slug, kind in (("innovate", "national_body"), ("s1", "supplier")):
            org = Organisation(slug=slug, name=f"Org {slug}", kind=kind)
            session.add(org)
            session.flush()
            orgs[slug] = org.id
        for name, org, role in (
            ("manager", "innovate", Role.CHALLENGE_MANAGER),
            ("a1", "s1", Role.SUPPLIER_ADMIN),
            ("j1", "innovate", Role.CHALLENGE_JUDGE),
        ):
            user = User(email=f"{name}@example.police.uk", display_name=name)
            session.add(user)
            session.flush()
            session.add(MembershipRow(user_id=user.id, organisation_id=orgs[org], role=role))
            people[name] = Principal(user.id, user.email, (Membership(orgs[org], role),))
        now = datetime.now(UTC)
        challenge = manage.create_challenge(
            session,
            people["manager"],
            orgs["innovate"],
            challenge_form(
                opens_at=now - timedelta(hours=1),
                closes_at=now + timedelta(days=1),
                assessors_per_entry=1,
            ),
        )
        manage.publish_challenge(session, people["manager"], challenge.id)
    yield sessions, people, challenge.id
    engine.dispose()


def _page(function_name: str, principal: Principal) -> AppTest:
    app = AppTest.from_function(_render, args=(function_name,), default_timeout=30)
    app.session_state["assure_principal"] = principal
    return app.run()


def _render(function_name: str) -> None:
    from ui.pages import challenges

    getattr(challenges, function_name)()


def test_a_supplier_enters_a_judge_scores_and_results_are_shown(world) -> None:
    sessions, people, challenge_id = world
    app = _page("enter_page", people["a1"])
    assert not app.exception
    app.text_input[0].input("Faster triage of seized phones")
    app.text_area[0].input("We triage seized media with on-device classification. " * 3)
    app.checkbox[0].check()
    app = app.button[1].click().run()
    assert any("Entry submitted" in s.value for s in app.success), [e.value for e in app.error]
    with transaction(sessions) as session:
        # The call closes: move the deadline into the past and allocate the judge.
        session.execute(
            update(Challenge).values(closes_at=datetime.now(UTC) - timedelta(minutes=1))
        )
        manage.allocate_judges(session, people["manager"], challenge_id)
    app = _page("judge_page", people["j1"])
    assert "Faster triage" in app.selectbox[0].value[1].title
    for field in app.number_input:
        field.set_value(field.max)
    for field in app.text_area:
        field.input("A credible, well-argued proposal.")
    app = app.button[0].click().run()
    assert any("Score submitted" in s.value for s in app.success), [e.value for e in app.error]
    with transaction(sessions) as session:
        manage.publish_results(session, people["manager"], challenge_id)
    app = _page("browse", people["a1"])
    assert not app.exception
    assert any("Results:" in h.value for h in app.subheader)
    assert app.dataframe[-1].value["supplier"].tolist() == ["Org s1"]
    feedback = _page("enter_page", people["a1"])
    assert any(e.label.startswith("Feedback: Faster triage") for e in feedback.expander)
    assert "j1" not in str([m.value for m in feedback.markdown])
    with sessions() as session:
        assert session.scalar(select(JudgeAllocation.submitted_at)) is not None
        assert session.scalar(select(ChallengeEntry.status)) == "submitted"


def test_a_weak_score_is_refused_on_the_page_and_nothing_is_saved(world) -> None:
    sessions, people, challenge_id = world
    with transaction(sessions) as session:
        entry = ChallengeEntry(
            challenge_id=challenge_id,
            organisation_id=people["a1"].memberships[0].organisation_id,
            title="An entry to judge",
            proposal="x" * 60,
            status="submitted",
            submitted_at=datetime.now(UTC),
        )
        session.add(entry)
        session.execute(
            update(Challenge).values(closes_at=datetime.now(UTC) - timedelta(minutes=1))
        )
        session.flush()
        manage.allocate_judges(session, people["manager"], challenge_id)
    app = _page("judge_page", people["j1"])
    app = app.button[0].click().run()  # no comments given
    assert app.error
    with sessions() as session:
        assert session.scalar(select(JudgeAllocation.submitted_at)) is None


def test_the_manager_page_lists_challenges_and_refuses_a_bad_rubric(world) -> None:
    sessions, people, _ = world
    app = _page("manage_page", people["manager"])
    assert not app.exception
    assert any("Faster digital evidence review" in e.label for e in app.expander)
    app.text_input[0].input("A second challenge title")
    app.text_area[0].input("A problem statement that is long enough to pass.")
    app.text_area[1].input(
        '[{"key": "impact", "title": "Impact", "weight": 90, '
        '"bands": [{"min": 0, "max": 10, "label": "All"}]}]'
    )
    app = app.button[0].click().run()
    assert any("total 100%, not 90%" in e.value for e in app.error)
    with sessions() as session:
        assert len(session.scalars(select(Challenge)).all()) == 1


def test_a_judge_declares_a_conflict_on_the_page_and_comes_off_the_entry(world) -> None:
    sessions, people, challenge_id = world
    supplier_org = people["a1"].memberships[0].organisation_id
    with transaction(sessions) as session:
        session.add(
            ChallengeEntry(
                challenge_id=challenge_id,
                organisation_id=supplier_org,
                title="An entry from a former employer",
                proposal="x" * 60,
                status="submitted",
                submitted_at=datetime.now(UTC),
            )
        )
        session.execute(
            update(Challenge).values(closes_at=datetime.now(UTC) - timedelta(minutes=1))
        )
        session.flush()
        manage.allocate_judges(session, people["manager"], challenge_id)
    app = _page("judge_page", people["j1"])
    reason = next(t for t in app.text_area if t.label == "What is the conflict?")
    reason.input("I worked for this supplier until last year.")
    app = next(b for b in app.button if b.label == "Declare conflict").click().run()
    assert any("Conflict declared" in s.value for s in app.success), [e.value for e in app.error]
    with sessions() as session:
        conflict = session.scalars(select(JudgeConflict)).one()
        assert (conflict.judge_user_id, conflict.organisation_id) == (
            people["j1"].user_id,
            supplier_org,
        )
        assert session.scalar(select(JudgeAllocation.id)) is None
    again = _page("judge_page", people["j1"])
    assert any("No entries are allocated to you" in i.value for i in again.info)
