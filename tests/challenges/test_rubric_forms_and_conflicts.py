"""A manager's rubric, bands and eligibility questions refused in words; drafts edited until
published; allocation that reports what it did; and a declared conflict that holds: a judge
cannot score an entrant they declared, nor an entry that is not theirs."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from kernel.errors import ValidationFailed
from posture.identity.permissions import NotFound, PermissionDenied
from posture.storage.engine import transaction
from posture.storage.models import AuditEvent, Challenge, JudgeAllocation, User
from supplier_portal.challenges import judging, manage, oversight
from supplier_portal.challenges.forms import parse_challenge_form
from supplier_portal.challenges.moderation import moderation_policy
from tests.challenges.conftest import AFTER, OPENS, challenge_form
from tests.challenges.test_challenge_journey import _allocated, _entry, _published, _score


def _fields(**changes) -> dict:  # type: ignore[type-arg]
    """What the manager's form sends: criteria and questions without keys."""
    data = challenge_form().model_dump()
    for criterion in data["rubric"]:
        criterion.pop("key")
    for question in data["eligibility"]:
        question.pop("key")
    data.update(changes)
    return data


def test_keys_come_from_titles_and_questions_are_numbered() -> None:
    form = parse_challenge_form(
        _fields(
            eligibility=[
                {"text": "Is your company registered in the UK?"},
                {"text": "Can you start within a month?", "must_be_yes": False},
            ]
        )
    )
    assert [c.key for c in form.rubric] == ["impact_on_policing", "feasibility"]
    assert [q.key for q in form.eligibility] == ["q1", "q2"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["rubric"][0].update(weight=50),
            "rubric weights must total 100%, not 90%",
        ),
        (
            lambda d: d["rubric"][0]["bands"].pop(1),
            "criterion 1 (Impact on policing): bands must cover 0-10 without gaps or overlaps",
        ),
        (
            lambda d: d["rubric"][1]["bands"][0].update(label=""),
            "criterion 2 (Feasibility), band 1, label: String should have at least 1 character",
        ),
        (
            lambda d: d["rubric"][1].update(scale_min=5, scale_max=5),
            "criterion 2 (Feasibility): the lowest score must be below the highest score",
        ),
        (
            lambda d: d["rubric"][1]["bands"][1].update(max=4),
            "criterion 2 (Feasibility): bands must reach the highest score, 5",
        ),
        (
            lambda d: d["rubric"][1].update(title="Impact on policing"),
            "each criterion needs its own title",
        ),
        (
            lambda d: d["eligibility"][0].update(text="UK?"),
            "eligibility question 1, question: String should have at least 5 characters",
        ),
        (
            lambda d: d.update(closes_at=OPENS),
            "the closing time must be after the opening time",
        ),
        (
            lambda d: d.update(assessors_per_entry=0),
            "judges per entry: Input should be greater than or equal to 1",
        ),
    ],
    ids=[
        "weights",
        "band-gap",
        "band-label",
        "scale",
        "band-short",
        "duplicate-title",
        "question",
        "times",
        "judges",
    ],
)
def test_a_bad_rubric_is_refused_in_words(change, message: str) -> None:
    data = _fields()
    change(data)
    with pytest.raises(ValidationFailed) as refused:
        parse_challenge_form(data)
    assert message in str(refused.value)
    assert "rubric." not in str(refused.value)  # no paths such as rubric.1.bands.0


def test_a_draft_is_edited_until_it_is_published(cw) -> None:
    manager = cw.people["manager"]
    with transaction(cw.sessions) as session:
        challenge_id = manage.create_challenge(
            session, manager, cw.orgs["innovate"], challenge_form()
        ).id
    edited = parse_challenge_form(
        _fields(
            title="Faster review of seized phones",
            rubric=[
                {
                    "title": "Value to investigators",
                    "weight": 100,
                    "scale_min": 1,
                    "scale_max": 3,
                    "bands": [
                        {"min": 1, "max": 1, "label": "Low"},
                        {"min": 2, "max": 3, "label": "High"},
                    ],
                }
            ],
        )
    )
    with transaction(cw.sessions) as session:
        manage.update_draft(session, manager, challenge_id, edited)
        manage.publish_challenge(session, manager, challenge_id, now=OPENS)
    with cw.sessions() as session:
        challenge = session.get(Challenge, challenge_id)
        assert challenge.title == "Faster review of seized phones"
        assert [c["key"] for c in challenge.rubric] == ["value_to_investigators"]
        assert session.scalar(select(AuditEvent.id).where(AuditEvent.action == "challenge.updated"))
    with (
        pytest.raises(ValidationFailed, match="only a draft"),
        transaction(cw.sessions) as session,
    ):
        manage.update_draft(session, manager, challenge_id, challenge_form())
    with pytest.raises(PermissionDenied), transaction(cw.sessions) as session:
        manage.update_draft(session, cw.people["j1"], challenge_id, challenge_form())


def test_allocation_reports_what_it_did_and_what_it_skipped(cw) -> None:
    challenge_id = _published(cw)
    for who, org in (("a1", "s1"), ("a2", "s2")):
        _entry(cw, challenge_id, who, org)
    with transaction(cw.sessions) as session:
        manage.declare_conflict(
            session,
            cw.people["manager"],
            challenge_id,
            cw.people["j2"].user_id,
            cw.orgs["s2"],
            "Sits on the board of s2",
        )
        report = manage.allocate(session, cw.people["manager"], challenge_id, now=AFTER)
        again = manage.allocate(session, cw.people["manager"], challenge_id, now=AFTER)
    assert len(report.created) == 4
    # j4 works for s1 (one pair), j2 declared s2 (one pair).
    assert (report.skipped_own_organisation, report.skipped_conflicts) == (1, 1)
    judges = len({a.judge_user_id for a in report.created})
    assert report.text.startswith(f"Allocated {judges} judges to 2 entries (4 allocations).")
    assert "Skipped 1 judge-entry pair for a declared conflict and 1 where" in report.text
    assert (again.created, again.already_complete) == ([], 2)
    assert "2 entries already had all their judges." in again.text


def test_a_judge_with_a_declared_conflict_cannot_score_that_entrant(cw) -> None:
    challenge_id, (e1, _, _), allocations = _allocated(cw)
    allocation, _, judge = next(a for a in allocations if a[1] == e1)
    me = cw.people[judge]
    with transaction(cw.sessions) as session:
        manage.declare_conflict(
            session, me, challenge_id, me.user_id, cw.orgs["s1"], "My brother runs s1"
        )
        assert session.get(JudgeAllocation, allocation) is None
        # Even if the allocation came back (a race, or a slip by hand), the score is refused.
        session.add(
            JudgeAllocation(
                id=allocation, challenge_id=challenge_id, entry_id=e1, judge_user_id=me.user_id
            )
        )
    with (
        pytest.raises(PermissionDenied, match="declared a conflict of interest"),
        transaction(cw.sessions) as session,
    ):
        judging.submit_score(session, me, allocation, _score(9, 5), now=AFTER)
    with cw.sessions() as session:
        assert session.get(JudgeAllocation, allocation).submitted_at is None
    with transaction(cw.sessions) as session:
        session.delete(session.get(JudgeAllocation, allocation))
        (replacement,) = manage.allocate_judges(
            session, cw.people["manager"], challenge_id, now=AFTER
        )
        assert replacement.entry_id == e1
        assert replacement.judge_user_id != me.user_id


def test_a_judge_cannot_score_an_entry_not_allocated_to_them_or_in_another_challenge(
    cw,
) -> None:
    _, (e1, _, _), allocations = _allocated(cw)
    mine = {judge: a for a, _, judge in allocations}
    allocated_e1 = {judge for _, entry, judge in allocations if entry == e1}
    outsider = next(j for j in ("j1", "j2", "j3") if j not in allocated_e1)
    theirs = next(a for a, entry, _ in allocations if entry == e1)
    with cw.sessions() as session, pytest.raises(NotFound):
        judging.submit_score(session, cw.people[outsider], theirs, _score(9, 5), now=AFTER)
    # Another challenge's entry, allocated to another judge.
    other = _published(cw, title="Another challenge for digital evidence")
    _entry(cw, other, "a2", "s2")
    with transaction(cw.sessions) as session:
        others = manage.allocate_judges(session, cw.people["manager"], other, now=AFTER)
        foreign = next(a.id for a in others if a.judge_user_id != cw.people[outsider].user_id)
    with cw.sessions() as session, pytest.raises(NotFound):
        judging.submit_score(session, cw.people[outsider], foreign, _score(9, 5), now=AFTER)
    with cw.sessions() as session:
        assert session.get(JudgeAllocation, foreign).submitted_at is None
        assert session.get(JudgeAllocation, mine[outsider]).submitted_at is None


def test_declaring_against_no_organisation_or_after_results_is_refused(cw) -> None:
    challenge_id, _, _ = _allocated(cw)
    me = cw.people["j1"]
    with pytest.raises(NotFound), transaction(cw.sessions) as session:
        manage.declare_conflict(session, me, challenge_id, me.user_id, 99_999, "Nobody at all")
    with transaction(cw.sessions) as session:
        session.get(Challenge, challenge_id).status = "results_published"
    with (
        pytest.raises(ValidationFailed, match="judging is over"),
        transaction(cw.sessions) as session,
    ):
        manage.declare_conflict(session, me, challenge_id, me.user_id, cw.orgs["s2"], "Too late")


def test_the_manager_reads_allocations_conflicts_and_standings_by_name(cw) -> None:
    with transaction(cw.sessions) as session:
        for user in session.scalars(select(User)):
            user.display_name = f"Judge {user.email.split('@')[0].upper()}"
    challenge_id, (_, e2, _), allocations = _allocated(cw)
    scored, _, judge = next(a for a in allocations if a[1] == e2)
    with transaction(cw.sessions) as session:
        judging.submit_score(session, cw.people[judge], scored, _score(9, 5), now=AFTER)
        manage.declare_conflict(
            session,
            cw.people["manager"],
            challenge_id,
            cw.people[judge].user_id,
            cw.orgs["s2"],
            "Holds shares in s2",
        )
    with cw.sessions() as session:
        views = oversight.allocations_view(session, cw.people["manager"], challenge_id)
        conflicts = oversight.conflicts_view(session, cw.people["manager"], challenge_id)
        rows = oversight.standings(session, cw.people["manager"], challenge_id, moderation_policy())
        with pytest.raises(ValidationFailed, match="waiting for Judge J"):
            manage.publish_results(session, cw.people["manager"], challenge_id, now=AFTER)
    flagged = next(v for v in views if v.id == scored)
    assert flagged.label == f"Judge {judge.upper()} on Entry by a2 (Org s2)"
    assert flagged.total == 94.0  # 60% x 9/10 + 40% x (5-1)/(5-1)
    assert flagged.conflict_declared
    assert sum(v.conflict_declared for v in views) == 1
    assert [(c.judge, c.entrant, c.reason) for c in conflicts] == [
        (f"Judge {judge.upper()}", "Org s2", "Holds shares in s2")
    ]
    assert {r["Entry"] for r in rows} == {"Entry by a1", "Entry by a2", "Entry by a3"}
    assert {r["Entrant"] for r in rows} == {"Org s1", "Org s2", "Org s3"}


def test_exclude_names_nothing_it_may_not_touch(cw) -> None:
    """Excluding a score is the manager's; a judge cannot exclude another judge's score."""
    _, _, allocations = _allocated(cw)
    allocation, _, judge = allocations[0]
    with transaction(cw.sessions) as session:
        judging.submit_score(session, cw.people[judge], allocation, _score(1, 1), now=AFTER)
    with pytest.raises(PermissionDenied), transaction(cw.sessions) as session:
        manage.exclude_score(session, cw.people["j3"], allocation, "I disagree with this one")
    with cw.sessions() as session:
        assert session.get(JudgeAllocation, allocation).excluded_reason is None


def test_a_judge_cannot_declare_a_conflict_for_another_judge(cw) -> None:
    challenge_id, _, _ = _allocated(cw)
    with pytest.raises(PermissionDenied), transaction(cw.sessions) as session:
        manage.declare_conflict(
            session,
            cw.people["j1"],
            challenge_id,
            cw.people["j2"].user_id,
            cw.orgs["s2"],
            "Taking j2 off s2's entries",
        )
    with cw.sessions() as session:
        views = oversight.allocations_view(session, cw.people["manager"], challenge_id)
    assert len(views) == 6
    assert not any(v.conflict_declared for v in views)
