"""Browser: a challenge manager builds a challenge's rubric in the form, publishes it, allocates
judges, excludes a score by name and publishes the results; a judge reads the problem and the
rubric, declares a conflict with one entrant (that entry leaves their list and cannot be scored)
and scores the other. Entries and the other judges' scores are made through the services, as
suppliers and judges would make them on their pages."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.browser.conftest import Served, screenshot, sign_in
from tests.browser.widgets import choose, press


@contextmanager
def _session(served: Served) -> Iterator:  # type: ignore[type-arg]
    from kernel.settings import load_settings
    from posture.storage.engine import build_engine, session_factory, transaction

    engine = build_engine(load_settings(served.env))
    try:
        with transaction(session_factory(engine)) as session:
            yield session
    finally:
        engine.dispose()


def _principal(session, email: str):  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from posture.identity.accounts import principal_for
    from posture.storage.models import User

    return principal_for(session, session.scalars(select(User).where(User.email == email)).one())


def _entrants(session) -> list:  # type: ignore[no-untyped-def, type-arg]
    """Two supplier administrators of two organisations, as principals."""
    from sqlalchemy import select

    from posture.identity.accounts import principal_for
    from posture.storage.models import Membership, User
    from posture.storage.models.enums import Role

    rows = session.execute(
        select(User, Membership.organisation_id)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.role == Role.SUPPLIER_ADMIN)
        .order_by(Membership.organisation_id, User.id)
    ).all()
    chosen, seen = [], set()
    for user, organisation_id in rows:
        if organisation_id not in seen:
            seen.add(organisation_id)
            chosen.append(principal_for(session, user))
        if len(chosen) == 2:
            return chosen
    raise AssertionError("the demo estate has fewer than two suppliers")


def _free_judges(session, entrants) -> int:  # type: ignore[no-untyped-def]
    """How many judges work for neither entrant: every one of them is needed per entry, so that
    allocation gives each judge every entry whatever other tests added."""
    from sqlalchemy import select

    from posture.storage.models import Membership
    from posture.storage.models.enums import Role

    judges = set(
        session.scalars(select(Membership.user_id).where(Membership.role == Role.CHALLENGE_JUDGE))
    )
    entrant_orgs = {o for p in entrants for o in p.organisation_ids()}
    busy = set(
        session.scalars(
            select(Membership.user_id).where(
                Membership.user_id.in_(judges), Membership.organisation_id.in_(entrant_orgs)
            )
        )
    )
    return len(judges - busy)


def _new_judge(served: Served, name: str) -> str:
    """A judge in the challenge manager's organisation with a password, as an administrator
    would make one; its login goes into `served.logins` under `name`."""
    from posture.audit import SYSTEM
    from posture.identity.accounts import grant_role, set_password
    from posture.storage.models import User
    from posture.storage.models.enums import Role

    email = f"{name}-{secrets.token_hex(3)}@judges.police.example"
    password = secrets.token_urlsafe(18)
    with _session(served) as session:
        manager = _principal(session, served.logins["challenge_manager"][0])
        user = User(email=email, display_name=f"Judge {name.title()}")
        session.add(user)
        session.flush()
        set_password(session, SYSTEM, email, password)
        home = sorted(manager.organisation_ids())[0]
        grant_role(session, SYSTEM, user.id, home, Role.CHALLENGE_JUDGE)
    served.logins[name] = (email, password)
    return email


def _enter_and_close(served: Served, title: str) -> list[tuple[str, str]]:
    """Both entrants submit an entry while the challenge is open; then it closes. Returns each
    entry's (title, entrant's name)."""
    from sqlalchemy import select, update

    from posture.storage.models import Challenge, Organisation
    from supplier_portal.challenges import entries
    from supplier_portal.challenges.forms import EntryForm
    from supplier_portal.forms import parse_form

    made = []
    with _session(served) as session:
        challenge = session.scalars(select(Challenge).where(Challenge.title == title)).one()
        during = challenge.opens_at + timedelta(minutes=1)
        for number, entrant in enumerate(_entrants(session), start=1):
            organisation = sorted(entrant.organisation_ids())[0]
            form = parse_form(
                EntryForm,
                {
                    "title": f"Night checks by sensor, plan {number}",
                    "proposal": "Sensors in each cell alert staff when a check falls due. " * 3,
                    "eligibility_answers": {q["key"]: True for q in challenge.eligibility},
                },
            )
            entry = entries.save_entry(
                session, entrant, challenge.id, organisation, form, now=during
            )
            entries.submit_entry(session, entrant, entry.id, now=during)
            made.append((entry.title, session.get(Organisation, organisation).name))
        session.execute(
            update(Challenge)
            .where(Challenge.id == challenge.id)
            .values(closes_at=datetime.now(UTC) - timedelta(minutes=1))
        )
    return made


def _score_all(served: Served, title: str, low: str) -> str:
    """Every allocated judge scores; the judges on entry `low` give it the lowest marks save
    one. Returns the name of one judge who scored `low` highly (the score to exclude)."""
    from sqlalchemy import select

    from posture.identity.accounts import principal_for
    from posture.storage.models import Challenge, ChallengeEntry, JudgeAllocation, User
    from supplier_portal.challenges import judging
    from supplier_portal.challenges.forms import ScoreForm
    from supplier_portal.forms import parse_form

    with _session(served) as session:
        challenge = session.scalars(select(Challenge).where(Challenge.title == title)).one()
        allocations = session.scalars(
            select(JudgeAllocation)
            .where(JudgeAllocation.challenge_id == challenge.id)
            .order_by(JudgeAllocation.id)
        ).all()
        outlier = None
        for allocation in allocations:
            entry = session.get(ChallengeEntry, allocation.entry_id)
            judge = session.get(User, allocation.judge_user_id)
            generous = entry.title != low or outlier is None
            if entry.title == low and outlier is None:
                outlier = judge.display_name or judge.email
            scores = {
                c["key"]: {
                    "score": c["scale_max"] if generous else c["scale_min"],
                    "comment": "Scored against the rubric's bands.",
                }
                for c in challenge.rubric
            }
            form = parse_form(ScoreForm, {"scores": scores, "in_scope": True, "fund": generous})
            judging.submit_score(session, principal_for(session, judge), allocation.id, form)
    assert outlier is not None
    return outlier


def _still_signed_in(page, served: Served, role: str, heading: str) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page.reload()
    expect(page.get_by_text(f"Signed in as {served.logins[role][0]}")).to_be_visible(timeout=30_000)
    expect(page.get_by_role("heading", name=heading)).to_be_visible(timeout=30_000)


def test_a_manager_builds_publishes_allocates_moderates_and_publishes_results(
    served: Served, browser_page, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    from tests.browser.accessibility import assert_accessible, wait_until_idle

    page = browser_page
    title = f"Safer custody checks at night {secrets.token_hex(2)}"
    with _session(served) as session:
        judges = _free_judges(session, _entrants(session))
    assert 1 <= judges <= 10, judges
    sign_in(page, served, "challenge_manager")
    page.get_by_role("link", name="Manage challenges").click()
    expect(page.get_by_role("heading", name="Manage challenges")).to_be_visible(timeout=30_000)
    choose(page, "Challenge", "A new challenge")
    expect(page.get_by_role("heading", name="New challenge")).to_be_visible(timeout=30_000)
    wait_until_idle(page, quiet_ms=1_000)
    page.get_by_label("Number of eligibility questions").fill("2")
    page.get_by_label("Number of eligibility questions").press("Enter")
    eligibility = page.get_by_label("Eligibility question 2", exact=True)
    expect(eligibility).to_have_count(1, timeout=30_000)
    wait_until_idle(page)

    page.get_by_label("Title", exact=True).fill(title)
    page.get_by_label("Problem statement").fill(
        "Custody visits are missed at night when a suite is busy; find ways to keep them."
    )
    page.get_by_label("Judges per entry").fill(str(judges))
    page.get_by_label("Criterion 1 title").fill("Impact on detainee safety")
    page.get_by_label("Criterion 1 weight (%)").fill("70")
    page.get_by_label("Criterion 2 weight (%)").fill("30")
    page.get_by_label("Criterion 2 band 2 label").fill("Deliverable this year")
    eligibility.fill("Have you worked with a custody suite before?")
    page.get_by_text("Question 2 must be answered yes").click()  # no: either answer may enter
    press(page, "Create draft")
    expect(
        page.get_by_text(f"Draft {title} created with 2 criteria and 2 eligibility")
    ).to_be_visible(timeout=30_000)
    expect(page.get_by_role("combobox", name="Challenge", exact=True)).to_have_value(
        f"{title} (draft)"
    )
    press(page, "Publish")
    expect(page.get_by_text(f"Published {title}: suppliers can enter from")).to_be_visible(
        timeout=30_000
    )
    expect(page.get_by_text("Impact on detainee safety").first).to_be_visible()

    (low, low_entrant), _ = _enter_and_close(served, title)
    press(page, "Allocate judges")
    expect(page.get_by_text("Judges allocated.")).to_be_visible(timeout=30_000)
    expect(
        page.get_by_text(f"Allocated {judges} judge{'s' if judges > 1 else ''} to 2 entries")
    ).to_be_visible()

    outlier = _score_all(served, title, low)
    _still_signed_in(page, served, "challenge_manager", "Manage challenges")
    expect(page.get_by_role("combobox", name="Challenge", exact=True)).to_have_value(
        f"{title} (published)"
    )
    expected = f"{outlier} on {low} ({low_entrant})"
    choose(page, "Score to exclude", re.compile("^" + re.escape(expected)))
    page.get_by_label("Reason", exact=True).fill("Marked every criterion at the top of the scale")
    press(page, "Exclude score")
    expect(page.get_by_text(f"Excluded {outlier}'s score of {low} ({low_entrant}).")).to_be_visible(
        timeout=30_000
    )
    press(page, "Publish results")
    expect(page.get_by_text("Results published.")).to_be_visible(timeout=30_000)
    expect(page.get_by_text(re.compile(r"of 2 entries ranked"))).to_be_visible()
    expect(page.get_by_role("button", name="Download results (CSV)")).to_be_visible()
    assert_accessible(page)
    screenshot(page, tmp_path, "challenge-managed")


def test_a_judge_declares_a_conflict_and_scores_the_other_entry(
    served: Served, browser_page, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect
    from sqlalchemy import select

    from posture.storage.models import JudgeAllocation, JudgeConflict, User
    from supplier_portal.challenges import manage
    from tests.browser.accessibility import assert_accessible, wait_until_idle
    from tests.challenges.conftest import challenge_form

    page = browser_page
    email = _new_judge(served, "conflicted")
    title = f"Faster review of seized phones {secrets.token_hex(2)}"
    with _session(served) as session:
        manager = _principal(session, served.logins["challenge_manager"][0])
        now = datetime.now(UTC)
        challenge = manage.create_challenge(
            session,
            manager,
            sorted(manager.organisation_ids())[0],
            challenge_form(
                title=title,
                opens_at=now - timedelta(hours=1),
                closes_at=now + timedelta(days=1),
                assessors_per_entry=_free_judges(session, _entrants(session)),
            ),
        )
        manage.publish_challenge(session, manager, challenge.id)
        challenge_id = challenge.id
    (kept, _), (declared, entrant) = _enter_and_close(served, title)
    with _session(served) as session:
        manage.allocate_judges(
            session, _principal(session, served.logins["challenge_manager"][0]), challenge_id
        )

    sign_in(page, served, "conflicted")
    page.get_by_role("link", name="Judging").click()
    expect(page.get_by_role("heading", name="Judging")).to_be_visible(timeout=30_000)
    choose(page, "Entry", f"{declared} (to score)")
    expect(page.get_by_text("Forces spend weeks reviewing seized media")).to_be_visible(
        timeout=30_000
    )
    expect(page.get_by_text("How entries are scored")).to_be_visible()
    wait_until_idle(page, quiet_ms=1_000)
    page.get_by_text(f"Declare a conflict of interest with {entrant}").click()
    page.get_by_label("What is the conflict?").fill("I advised this supplier on its bid.")
    press(page, "Declare conflict")
    expect(page.get_by_text(f"Conflict declared with {entrant}")).to_be_visible(timeout=30_000)
    entry = page.get_by_role("combobox", name="Entry", exact=True)
    expect(entry).to_have_value(re.compile(r"\(to score\)$"))
    wait_until_idle(page, quiet_ms=1_000)
    entry.click()
    expect(page.get_by_role("option", name=declared)).to_have_count(0)
    page.keyboard.press("Escape")

    _still_signed_in(page, served, "conflicted", "Judging")
    choose(page, "Entry", f"{kept} (to score)")
    for field in page.get_by_label(re.compile(r"^Score for ")).all():
        field.fill(field.get_attribute("max") or "1")
    for field in page.get_by_label(re.compile(r"^Comment on ")).all():
        field.fill("Credible, and it fits the problem statement.")
    press(page, "Submit score")
    expect(page.get_by_text(f"Score submitted for {kept}.")).to_be_visible(timeout=30_000)
    assert_accessible(page)
    screenshot(page, tmp_path, "challenge-judged")

    with _session(served) as session:
        judge = session.scalars(select(User).where(User.email == email)).one()
        mine = session.scalars(
            select(JudgeAllocation).where(
                JudgeAllocation.challenge_id == challenge_id,
                JudgeAllocation.judge_user_id == judge.id,
            )
        ).all()
        conflicts = session.scalars(
            select(JudgeConflict).where(JudgeConflict.judge_user_id == judge.id)
        ).all()
    assert len(mine) == 1
    assert mine[0].submitted_at is not None
    assert [c.challenge_id for c in conflicts] == [challenge_id]
