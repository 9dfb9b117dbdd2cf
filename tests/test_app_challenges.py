"""The challenge pages by role (AppTest): entering, judging, managing and results, by name."""

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
from ui.plain import unescape_markdown


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
            user = User(email=f"{name}@example.police.uk", display_name=f"Person {name}")
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


def _shown(app: AppTest) -> str:
    parts = [m.value for m in app.markdown] + [c.value for c in app.caption]
    parts += [t.value for t in app.text] + [s.value for s in app.subheader]
    parts += [i.value for i in app.info] + [s.value for s in app.success]
    return unescape_markdown("\n".join(parts))


def _labelled(widgets, label: str):  # type: ignore[no-untyped-def]
    return next(w for w in widgets if w.label == label)


def _button(app: AppTest, label: str):  # type: ignore[no-untyped-def]
    return _labelled(app.button, label)


def _submitted_entry(sessions, people, challenge_id: int, title: str) -> int:  # type: ignore[no-untyped-def]
    with transaction(sessions) as session:
        entry = ChallengeEntry(
            challenge_id=challenge_id,
            organisation_id=people["a1"].memberships[0].organisation_id,
            title=title,
            proposal="x" * 60,
            status="submitted",
            submitted_at=datetime.now(UTC),
        )
        session.add(entry)
        session.flush()
        return entry.id


def _close(sessions) -> None:  # type: ignore[no-untyped-def]
    with transaction(sessions) as session:
        session.execute(
            update(Challenge).values(closes_at=datetime.now(UTC) - timedelta(minutes=1))
        )


def test_a_supplier_enters_a_judge_scores_and_results_are_shown(world) -> None:
    sessions, people, challenge_id = world
    app = _page("enter_page", people["a1"])
    assert not app.exception
    assert "Forces spend weeks reviewing seized media" in _shown(app)  # the problem statement
    assert "**Impact on policing**: 60% of the score, scored 0 to 10" in _shown(app)
    app.text_input[0].input("Faster triage of seized phones")
    app.text_area[0].input("We triage seized media with on-device classification. " * 3)
    app.checkbox[0].check()
    app = _button(app, "Save and submit").click().run()
    assert any("Entry submitted" in s.value for s in app.success), [e.value for e in app.error]
    assert app.text_input[0].value == ""  # the form is empty for the next entry
    with transaction(sessions) as session:
        session.execute(
            update(Challenge).values(closes_at=datetime.now(UTC) - timedelta(minutes=1))
        )
        manage.allocate_judges(session, people["manager"], challenge_id)
    app = _page("judge_page", people["j1"])
    assert "Faster triage" in app.selectbox[0].value[1].title
    shown = _shown(app)
    assert "Forces spend weeks reviewing seized media" in shown
    assert "Bands: 0 to 3: Little; 4 to 7: Useful; 8 to 10: Transformative" in shown
    assert "From Org s1" in shown
    for field in app.number_input:
        field.set_value(field.max)
    for field in app.text_area:
        if field.label.startswith("Comment on"):
            field.input("A credible, well-argued proposal.")
    app = _button(app, "Submit score").click().run()
    assert any("Score submitted" in s.value for s in app.success), [e.value for e in app.error]
    with transaction(sessions) as session:
        manage.publish_results(session, people["manager"], challenge_id)
    app = _page("browse", people["a1"])
    assert not app.exception
    assert any("Results:" in h.value for h in app.subheader)
    assert app.dataframe[-1].value["Supplier"].tolist() == ["Org s1"]
    assert app.dataframe[-1].value["Entry"].tolist() == ["Faster triage of seized phones"]
    feedback = _page("enter_page", people["a1"])
    assert any(e.label.startswith("Feedback: Faster triage") for e in feedback.expander)
    assert "Person j1" not in _shown(feedback)
    assert "**Impact on policing**" in _shown(feedback)  # criteria by title, not key
    with sessions() as session:
        assert session.scalar(select(JudgeAllocation.submitted_at)) is not None
        assert session.scalar(select(ChallengeEntry.status)) == "submitted"


def test_a_draft_entry_is_kept_and_submitted_later(world) -> None:
    sessions, people, _ = world
    app = _page("enter_page", people["a1"])
    app.text_input[0].input("A draft to finish tomorrow")
    app.text_area[0].input("We will describe the idea fully before the deadline. " * 2)
    app = _button(app, "Save draft").click().run()
    assert any("Draft saved" in s.value for s in app.success), [e.value for e in app.error]
    assert app.text_input[0].value == ""
    assert _labelled(app.selectbox, "Entry to work on").value == "new"
    with sessions() as session:
        draft_id = session.scalar(select(ChallengeEntry.id))
    app = _labelled(app.selectbox, "Entry to work on").set_value(draft_id).run()
    assert app.text_input[0].value == "A draft to finish tomorrow"
    app.checkbox[0].check()
    app = _button(app, "Save and submit").click().run()
    assert any("Entry submitted" in s.value for s in app.success), [e.value for e in app.error]
    with sessions() as session:
        assert session.scalars(select(ChallengeEntry.status)).all() == ["submitted"]


def test_a_weak_score_is_refused_on_the_page_and_nothing_is_saved(world) -> None:
    sessions, people, challenge_id = world
    _submitted_entry(sessions, people, challenge_id, "An entry to judge")
    _close(sessions)
    with transaction(sessions) as session:
        manage.allocate_judges(session, people["manager"], challenge_id)
    app = _page("judge_page", people["j1"])
    app = _button(app, "Submit score").click().run()  # no comments given
    assert app.error
    with sessions() as session:
        assert session.scalar(select(JudgeAllocation.submitted_at)) is None


def _new_challenge(app: AppTest) -> AppTest:
    return _labelled(app.selectbox, "Challenge").set_value("new").run()


def test_the_manager_builds_a_rubric_in_fields_and_a_bad_one_is_refused_in_words(world) -> None:
    sessions, people, _ = world
    app = _page("manage_page", people["manager"])
    assert not app.exception
    assert app.dataframe[0].value["Challenge"].tolist() == ["Faster digital evidence review"]
    app = _new_challenge(app)
    app = _labelled(app.number_input, "Number of criteria").set_value(3).run()
    _labelled(app.text_input, "Title").input("Safer custody checks")
    _labelled(app.text_area, "Problem statement").input("Custody visits are missed at night.")
    _labelled(app.text_input, "Criterion 3 title").input("Value for money")
    _labelled(app.number_input, "Criterion 3 weight (%)").set_value(10)
    _labelled(app.number_input, "Criterion 3 band 1 to").set_value(10)
    _labelled(app.text_input, "Criterion 3 band 1 label").input("Any")
    app = _button(app, "Create draft").click().run()  # 60 + 40 + 10
    assert any("rubric weights must total 100%, not 110%" in e.value for e in app.error)
    _labelled(app.number_input, "Criterion 1 weight (%)").set_value(50)
    _labelled(app.number_input, "Criterion 1 band 2 to").set_value(6)  # 7 is left out
    app = _button(app, "Create draft").click().run()
    refusal = unescape_markdown(app.error[0].value)
    assert "criterion 1 (Impact on policing): bands must cover 0-10 without gaps" in refusal
    assert "rubric." not in refusal
    with sessions() as session:
        assert len(session.scalars(select(Challenge)).all()) == 1
    _labelled(app.number_input, "Criterion 1 band 2 to").set_value(7)
    app = _button(app, "Create draft").click().run()
    assert any("Draft Safer custody checks created with 3 criteria" in s.value for s in app.success)
    assert _labelled(app.selectbox, "Challenge").value != "new"  # the new draft is shown
    with sessions() as session:
        created = session.scalars(select(Challenge).where(Challenge.status == "draft")).one()
    assert [c["key"] for c in created.rubric] == [
        "impact_on_policing",
        "feasibility",
        "value_for_money",
    ]
    assert [c["weight"] for c in created.rubric] == [50, 40, 10]
    assert [q["text"] for q in created.eligibility] == [
        "Is your organisation registered in the UK?"
    ]
    # The new-challenge form starts empty again.
    app = _new_challenge(app)
    assert _labelled(app.text_input, "Title").value == ""
    assert _labelled(app.number_input, "Number of criteria").value == 2


def test_the_manager_edits_a_draft_then_publishes_and_is_told_what_happened(world) -> None:
    sessions, people, _ = world
    with transaction(sessions) as session:
        draft = manage.create_challenge(
            session,
            people["manager"],
            people["manager"].memberships[0].organisation_id,
            challenge_form(title="Night-time custody checks"),
        ).id
    app = _page("manage_page", people["manager"])
    app = _labelled(app.selectbox, "Challenge").set_value(draft).run()
    app = _labelled(app.number_input, "Number of eligibility questions").set_value(2).run()
    _labelled(app.text_input, "Eligibility question 2").input("Do you hold NPPV2 clearance?")
    _labelled(app.checkbox, "Question 2 must be answered yes").uncheck()
    app = _button(app, "Save draft").click().run()
    assert any("Draft Night-time custody checks saved" in s.value for s in app.success)
    app = _button(app, "Publish").click().run()
    assert any("Published Night-time custody checks" in s.value for s in app.success)
    assert any("suppliers can enter from" in s.value for s in app.success)
    with sessions() as session:
        challenge = session.get(Challenge, draft)
    assert challenge.status == "published"
    assert [(q["key"], q["must_be_yes"]) for q in challenge.eligibility] == [
        ("uk_based", True),
        ("q2", False),
    ]


def test_allocating_moderating_and_publishing_say_what_they_did_by_name(world) -> None:
    sessions, people, challenge_id = world
    entry = _submitted_entry(sessions, people, challenge_id, "Phones triaged at the scene")
    _close(sessions)
    app = _page("manage_page", people["manager"])
    app = _button(app, "Allocate judges").click().run()
    assert any("Judges allocated" in s.value for s in app.success), [e.value for e in app.error]
    assert any(
        "Allocated 1 judge to 1 entry (1 allocation)." in unescape_markdown(i.value)
        for i in app.info
    )
    assert app.dataframe[1].value["Judge"].tolist() == ["Person j1"]
    with transaction(sessions) as session:
        # An id unlike the challenge's, so that confusing the two shows.
        session.execute(update(JudgeAllocation).values(id=70))
    with transaction(sessions) as session:
        allocation = session.scalars(select(JudgeAllocation)).one()
        allocation.scores = {
            "impact": {"score": 10, "comment": "A clear benefit."},
            "feasibility": {"score": 1, "comment": "Not yet credible."},
        }
        allocation.in_scope = allocation.fund = True
        allocation.submitted_at = datetime.now(UTC)
    app = _page("manage_page", people["manager"])
    which = _labelled(app.selectbox, "Score to exclude")
    assert which.options == ["Person j1 on Phones triaged at the scene (Org s1): 60 of 100"]
    _labelled(app.text_input, "Reason").input("Judge misread the feasibility scale")
    app = _button(app, "Exclude score").click().run()
    assert any(
        "Excluded Person j1's score of Phones triaged at the scene (Org s1)"
        in unescape_markdown(s.value)
        for s in app.success
    ), [e.value for e in app.error]
    with sessions() as session:
        assert session.get(JudgeAllocation, allocation.id).excluded_reason
        assert session.get(JudgeAllocation, allocation.id).entry_id == entry
    assert _labelled(app.selectbox, "Challenge").value == challenge_id  # still on it
    app = _button(app, "Publish results").click().run()
    assert any("Results published" in s.value for s in app.success), [e.value for e in app.error]
    assert any("0 of 1 entries ranked" in i.value for i in app.info)


def test_a_judge_declares_a_conflict_on_the_page_and_comes_off_the_entry(world) -> None:
    sessions, people, challenge_id = world
    supplier_org = people["a1"].memberships[0].organisation_id
    _submitted_entry(sessions, people, challenge_id, "An entry from a former employer")
    _close(sessions)
    with transaction(sessions) as session:
        manage.allocate_judges(session, people["manager"], challenge_id)
    app = _page("judge_page", people["j1"])
    assert any(e.label == "Declare a conflict of interest with Org s1" for e in app.expander)
    _labelled(app.text_area, "What is the conflict?").input(
        "I worked for this supplier until last year."
    )
    app = _button(app, "Declare conflict").click().run()
    assert any("Conflict declared with Org s1" in s.value for s in app.success), [
        e.value for e in app.error
    ]
    assert any("No entries are allocated to you" in i.value for i in app.info)
    with sessions() as session:
        conflict = session.scalars(select(JudgeConflict)).one()
        assert (conflict.judge_user_id, conflict.organisation_id) == (
            people["j1"].user_id,
            supplier_org,
        )
        assert session.scalar(select(JudgeAllocation.id)) is None
    manager = _page("manage_page", people["manager"])
    conflicts = next(d.value for d in manager.dataframe if "Reason" in d.value.columns)
    assert conflicts["Judge"].tolist() == ["Person j1"]
    assert conflicts["Entrant"].tolist() == ["Org s1"]
