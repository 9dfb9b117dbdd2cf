"""A supplier's staff member named in a challenge entry and a judge's comments asks to be
erased: the published results export, the entry's feedback and the audit trail no longer name
them, and the trail still verifies."""

from __future__ import annotations

from sqlalchemy import select, update

from kernel.data_dir import ensure_data_dir
from posture.audit import Actor, verify_chain
from posture.erasure import erase_person
from posture.storage.engine import transaction
from posture.storage.models import ChallengeEntry, JudgeAllocation, User
from supplier_portal.challenges import judging, manage, results
from supplier_portal.challenges.forms import ScoreForm
from supplier_portal.forms import parse_form
from tests.challenges.conftest import AFTER
from tests.challenges.test_challenge_journey import _allocated

PERSON = "Amara Lewis-Okafor"


def _scored(impact: int) -> ScoreForm:
    comment = f"{PERSON} presented this well."
    return parse_form(
        ScoreForm,
        {
            "scores": {
                "impact": {"score": impact, "comment": comment},
                "feasibility": {"score": 4, "comment": "Credible plan."},
            },
            "in_scope": True,
            "fund": True,
        },
    )


def test_an_erased_entrant_leaves_no_trace_in_published_results(cw, backend_settings) -> None:
    challenge_id, entries, allocations = _allocated(cw)
    with transaction(cw.sessions) as session:
        session.execute(
            update(User).where(User.id == cw.people["a1"].user_id).values(display_name=PERSON)
        )
        session.execute(
            update(ChallengeEntry)
            .where(ChallengeEntry.id == entries[0])
            .values(title=f"Triage by {PERSON}")
        )
        for allocation, _, judge in allocations:
            judging.submit_score(session, cw.people[judge], allocation, _scored(8), now=AFTER)
        manage.publish_results(session, cw.people["manager"], challenge_id, now=AFTER)
    with cw.sessions() as session:
        before = results.results_csv(session, cw.people["a2"], challenge_id)
    assert PERSON in before

    report = erase_person(
        cw.sessions,
        Actor("cli"),
        "a1@example.police.uk",
        "DPO-11",
        ensure_data_dir(backend_settings),
    )

    assert report.accounts == 1
    with cw.sessions() as session:
        after = results.results_csv(session, cw.people["a2"], challenge_id)
        comments = session.scalars(select(JudgeAllocation.scores)).all()
        assert verify_chain(session).intact
        titles = session.scalars(select(ChallengeEntry.title)).all()
    assert PERSON not in after
    assert "Triage by [erased person]" in after
    assert PERSON not in str(comments)
    assert "[erased person] presented this well." in str(comments)
    assert all(PERSON not in title for title in titles)
