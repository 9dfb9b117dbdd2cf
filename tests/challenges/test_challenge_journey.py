"""A challenge from publication to published results, and every rule on the way."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from kernel.errors import ValidationFailed
from posture.identity.permissions import NotFound, PermissionDenied
from posture.storage.engine import transaction
from posture.storage.models import AuditEvent, Challenge, ChallengeEntry, JudgeAllocation
from supplier_portal.challenges import entries, judging, manage, results
from supplier_portal.challenges.forms import EntryForm, ScoreForm
from supplier_portal.forms import parse_form
from tests.challenges.conftest import AFTER, CLOSES, DURING, OPENS, challenge_form

PROPOSAL = "We triage seized media with on-device classification and a reviewer queue. " * 2


def _published(cw, **changes) -> int:
    with transaction(cw.sessions) as session:
        challenge = manage.create_challenge(
            session, cw.people["manager"], cw.orgs["innovate"], challenge_form(**changes)
        )
        manage.publish_challenge(session, cw.people["manager"], challenge.id, now=OPENS)
        return challenge.id


def _entry(cw, challenge_id: int, who: str, org: str, submit_at=DURING, **form) -> int:
    data = {
        "title": f"Entry by {who}",
        "proposal": PROPOSAL,
        "eligibility_answers": {"uk_based": True},
        **form,
    }
    with transaction(cw.sessions) as session:
        entry = entries.save_entry(
            session,
            cw.people[who],
            challenge_id,
            cw.orgs[org],
            parse_form(EntryForm, data),
            now=DURING,
        )
        if submit_at is not None:
            entries.submit_entry(session, cw.people[who], entry.id, now=submit_at)
        return entry.id


def _score(impact: int, feasibility: int, in_scope=True, fund=True) -> ScoreForm:
    return parse_form(
        ScoreForm,
        {
            "scores": {
                "impact": {"score": impact, "comment": "Clear benefit to review teams."},
                "feasibility": {"score": feasibility, "comment": "The plan is credible enough."},
            },
            "in_scope": in_scope,
            "fund": fund,
        },
    )


def test_rubric_weights_must_total_100_and_bands_cover_the_scale() -> None:
    with pytest.raises(ValidationFailed, match="total 100%, not 90%"):
        challenge_form(
            rubric=[
                {**challenge_form().rubric[0].model_dump(), "weight": 50},
                challenge_form().rubric[1].model_dump(),
            ]
        )
    gap = challenge_form().rubric[0].model_dump()
    gap["bands"] = [{"min": 0, "max": 3, "label": "Low"}, {"min": 5, "max": 10, "label": "High"}]
    with pytest.raises(ValidationFailed, match="without gaps"):
        challenge_form(rubric=[{**gap, "weight": 100}])


def test_entries_close_at_the_deadline_to_the_second(cw) -> None:
    challenge_id = _published(cw)
    on_time = _entry(cw, challenge_id, "a1", "s1", submit_at=CLOSES - timedelta(seconds=1))
    with pytest.raises(ValidationFailed, match="late entries are refused"):
        _entry(cw, challenge_id, "a2", "s2", submit_at=CLOSES)
    with cw.sessions() as session:
        statuses = dict(session.execute(select(ChallengeEntry.id, ChallengeEntry.status)).all())
    assert statuses == {on_time: "submitted"}


def test_entries_before_opening_are_refused(cw) -> None:
    challenge_id = _published(cw)
    with pytest.raises(ValidationFailed, match="not open"), transaction(cw.sessions) as session:
        entries.save_entry(
            session,
            cw.people["a1"],
            challenge_id,
            cw.orgs["s1"],
            parse_form(EntryForm, {"title": "Too early", "proposal": PROPOSAL}),
            now=OPENS - timedelta(seconds=1),
        )


def test_a_submitted_entry_is_locked_and_edits_after_close_are_refused(cw) -> None:
    challenge_id = _published(cw)
    entry_id = _entry(cw, challenge_id, "a1", "s1")
    form = parse_form(EntryForm, {"title": "Entry by a1", "proposal": PROPOSAL + " more"})
    with pytest.raises(ValidationFailed, match="locked"), transaction(cw.sessions) as session:
        entries.save_entry(
            session,
            cw.people["a1"],
            challenge_id,
            cw.orgs["s1"],
            form,
            entry_id=entry_id,
            now=DURING,
        )
    draft = _entry(cw, challenge_id, "a2", "s2", submit_at=None)
    with pytest.raises(ValidationFailed, match="closed"), transaction(cw.sessions) as session:
        entries.save_entry(
            session, cw.people["a2"], challenge_id, cw.orgs["s2"], form, entry_id=draft, now=AFTER
        )


def test_ineligible_and_unscored_products_cannot_enter(cw) -> None:
    challenge_id = _published(cw)
    with pytest.raises(ValidationFailed, match="not eligible"):
        _entry(cw, challenge_id, "a1", "s1", eligibility_answers={"uk_based": False})
    banded = _published(cw, title="Banded challenge for posture", min_posture_band="B")
    with pytest.raises(ValidationFailed, match="linked product"):
        _entry(cw, banded, "a2", "s2")


def _three_entries(cw) -> tuple[int, list[int]]:
    challenge_id = _published(cw)
    ids = [
        _entry(cw, challenge_id, who, org)
        for who, org in (("a1", "s1"), ("a2", "s2"), ("a3", "s3"))
    ]
    return challenge_id, ids


def test_allocation_balances_load_and_honours_organisations_and_conflicts(cw) -> None:
    challenge_id, (e1, e2, e3) = _three_entries(cw)
    with transaction(cw.sessions) as session:
        manage.declare_conflict(
            session,
            cw.people["j1"],
            challenge_id,
            cw.people["j1"].user_id,
            cw.orgs["s2"],
            "Former employee of s2",
        )
        allocations = manage.allocate_judges(session, cw.people["manager"], challenge_id, now=AFTER)
        pairs = [(a.entry_id, a.judge_user_id) for a in allocations]
    per_entry = Counter(entry for entry, _ in pairs)
    assert per_entry == {e1: 2, e2: 2, e3: 2}
    assert (e1, cw.people["j4"].user_id) not in pairs  # j4 works for s1
    assert (e2, cw.people["j1"].user_id) not in pairs  # declared conflict
    load = Counter(judge for _, judge in pairs)
    assert max(load.values()) - min(load.values()) <= 1


def test_an_impossible_allocation_is_refused_whole(cw) -> None:
    challenge_id = _published(cw, assessors_per_entry=4)
    _entry(cw, challenge_id, "a1", "s1")
    with (
        pytest.raises(ValidationFailed, match="needs 4 more judge"),
        transaction(cw.sessions) as session,
    ):
        manage.allocate_judges(session, cw.people["manager"], challenge_id, now=AFTER)
    with cw.sessions() as session:
        assert session.scalar(select(func.count()).select_from(JudgeAllocation)) == 0


def _allocated(cw):
    challenge_id, ids = _three_entries(cw)
    with transaction(cw.sessions) as session:
        manage.allocate_judges(session, cw.people["manager"], challenge_id, now=AFTER)
    with cw.sessions() as session:
        allocations = session.scalars(select(JudgeAllocation).order_by(JudgeAllocation.id)).all()
        judges = {p.user_id: name for name, p in cw.people.items()}
        return challenge_id, ids, [(a.id, a.entry_id, judges[a.judge_user_id]) for a in allocations]


def test_judges_score_blind(cw) -> None:
    _, _, allocations = _allocated(cw)
    mine, entry, judge = allocations[0]
    partner = next(a for a in allocations if a[1] == entry and a[0] != mine)
    with cw.sessions() as session, pytest.raises(ValidationFailed, match="submit your own"):
        judging.peer_scores(session, cw.people[judge], mine)
    with cw.sessions() as session, pytest.raises(NotFound):
        judging.submit_score(session, cw.people[judge], partner[0], _score(5, 3), now=AFTER)
    with transaction(cw.sessions) as session:
        judging.submit_score(session, cw.people[partner[2]], partner[0], _score(9, 5), now=AFTER)
        judging.submit_score(session, cw.people[judge], mine, _score(5, 3), now=AFTER)
    with cw.sessions() as session:
        seen = judging.peer_scores(session, cw.people[judge], mine)
    assert len(seen) == 1
    assert "judge_user_id" not in seen[0]
    assert seen[0]["judge"] == "Judge 2"


def test_a_judge_who_declares_a_conflict_comes_off_the_entry_and_is_replaced(cw) -> None:
    challenge_id, (_, e2, _), allocations = _allocated(cw)
    allocation, _, judge = next(a for a in allocations if a[1] == e2)
    me = cw.people[judge]
    with transaction(cw.sessions) as session:
        manage.declare_conflict(
            session, me, challenge_id, me.user_id, cw.orgs["s2"], "I advised s2 on this bid"
        )
    with cw.sessions() as session:
        assert session.get(JudgeAllocation, allocation) is None
        assert e2 not in {a.entry_id for a in judging.my_allocations(session, me)}
        declared = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "challenge.conflict_declared")
        ).one()
        assert declared.data["withdrawn_from_entries"] == [e2]
    with transaction(cw.sessions) as session:
        (replacement,) = manage.allocate_judges(
            session, cw.people["manager"], challenge_id, now=AFTER
        )
        assert (replacement.entry_id, replacement.judge_user_id != me.user_id) == (e2, True)


def test_results_wait_until_a_judge_who_stepped_aside_is_replaced(cw) -> None:
    challenge_id, (_, e2, _), allocations = _allocated(cw)
    stepping_aside = cw.people[next(a for a in allocations if a[1] == e2)[2]]
    with transaction(cw.sessions) as session:
        manage.declare_conflict(
            session,
            stepping_aside,
            challenge_id,
            stepping_aside.user_id,
            cw.orgs["s2"],
            "I advised s2 on this bid",
        )
        for allocation, _, judge in allocations:
            if session.get(JudgeAllocation, allocation) is not None:
                judging.submit_score(session, cw.people[judge], allocation, _score(7, 4), now=AFTER)
    with (
        cw.sessions() as session,
        pytest.raises(ValidationFailed, match="the entry 'Entry by a2' has 1 of 2 judges"),
    ):
        manage.publish_results(session, cw.people["manager"], challenge_id, now=AFTER)


def test_a_conflict_recorded_after_scoring_leaves_the_score_for_moderation(cw) -> None:
    challenge_id, (_, e2, _), allocations = _allocated(cw)
    allocation, _, judge = next(a for a in allocations if a[1] == e2)
    with transaction(cw.sessions) as session:
        judging.submit_score(session, cw.people[judge], allocation, _score(9, 5), now=AFTER)
        manage.declare_conflict(
            session,
            cw.people["manager"],
            challenge_id,
            cw.people[judge].user_id,
            cw.orgs["s2"],
            "Holds shares in s2",
        )
    with cw.sessions() as session:
        kept = session.get(JudgeAllocation, allocation)
        assert kept is not None
        assert kept.submitted_at is not None


@pytest.mark.parametrize(
    ("scores", "message"),
    [
        (
            {
                "impact": {"score": 11, "comment": "Too generous a score."},
                "feasibility": {"score": 3, "comment": "Credible enough plan."},
            },
            "outside the scale",
        ),
        ({"impact": {"score": 5, "comment": "Fine impact here."}}, "feasibility"),
        (
            {
                "impact": {"score": 5, "comment": "short"},
                "feasibility": {"score": 3, "comment": "Credible enough plan."},
            },
            "at least 10",
        ),
    ],
    ids=["out-of-scale", "missing-criterion", "missing-comment"],
)
def test_bad_scores_are_refused_and_nothing_changes(cw, scores, message: str) -> None:
    _, _, allocations = _allocated(cw)
    allocation, _, judge = allocations[0]

    def submit() -> None:
        with transaction(cw.sessions) as session:
            form = parse_form(ScoreForm, {"scores": scores, "in_scope": True, "fund": True})
            judging.submit_score(session, cw.people[judge], allocation, form, now=AFTER)

    with pytest.raises(ValidationFailed, match=message):
        submit()
    with cw.sessions() as session:
        assert session.get(JudgeAllocation, allocation).submitted_at is None


def test_a_supplier_cannot_judge_and_a_judge_cannot_manage(cw) -> None:
    challenge_id, _, allocations = _allocated(cw)
    with cw.sessions() as session:
        with pytest.raises(PermissionDenied):
            judging.submit_score(session, cw.people["a1"], allocations[0][0], _score(5, 3))
        with pytest.raises(PermissionDenied):
            manage.allocate_judges(session, cw.people["j1"], challenge_id, now=AFTER)


def test_from_scores_to_published_results(cw) -> None:
    challenge_id, (e1, e2, e3), allocations = _allocated(cw)
    plan = {e1: [(9, 5), (8, 5)], e2: [(6, 4), (2, 1)], e3: [(3, 2), (2, 2)]}
    with transaction(cw.sessions) as session:
        for allocation, entry, judge in allocations:
            impact, feasibility = plan[entry].pop()
            judging.submit_score(
                session,
                cw.people[judge],
                allocation,
                _score(impact, feasibility, in_scope=entry != e3),
                now=AFTER,
            )
    with transaction(cw.sessions) as session:
        outlier = next(a for a in allocations if a[1] == e2)[0]
        manage.exclude_score(
            session, cw.people["manager"], outlier, "Judge misread the rubric's feasibility scale"
        )
        manage.publish_results(
            session, cw.people["manager"], challenge_id, now=AFTER + timedelta(days=1)
        )
    with cw.sessions() as session:
        ranking = results.published_ranking(session, cw.people["a3"], challenge_id)
        feedback = results.feedback_for_entry(session, cw.people["a1"], e1)
        csv_text = results.results_csv(session, cw.people["a2"], challenge_id)
        challenge = session.get(Challenge, challenge_id)
        actions = Counter(session.scalars(select(AuditEvent.action)).all())
    assert next(row["entry_id"] for row in ranking) == e1
    assert e3 not in [row["entry_id"] for row in ranking]
    assert feedback["rank"] == 1
    assert feedback["comments"]["impact"] == ["Clear benefit to review teams."] * 2
    assert "judge" not in str(feedback).lower()
    assert csv_text.splitlines()[0] == "rank,supplier,title,mean,median,spread,fund"
    assert challenge.status == "results_published"
    assert actions["challenge.score_submitted"] == 6
    assert actions["challenge.score_excluded"] == 1
    assert actions["challenge.results_published"] == 1
    with cw.sessions() as session, pytest.raises(ValidationFailed, match="no longer change"):
        judging.submit_score(
            session, cw.people[allocations[0][2]], allocations[0][0], _score(1, 1), now=AFTER
        )


def test_results_cannot_be_published_before_every_judge_has_scored(cw) -> None:
    challenge_id, _, _ = _allocated(cw)
    with cw.sessions() as session, pytest.raises(ValidationFailed, match="every allocated"):
        manage.publish_results(session, cw.people["manager"], challenge_id, now=AFTER)
