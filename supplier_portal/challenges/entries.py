"""Suppliers' entries: drafts and submission, closed at the deadline to the second."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kernel.clock import utcnow
from kernel.errors import ValidationFailed
from posture.audit import record
from posture.identity.accounts import actor_of
from posture.identity.permissions import NotFound, Principal, require, visible_organisations
from posture.identity.scoped import within_reach
from posture.scoring.bands import meets_band
from posture.scoring.service import score_estate
from posture.storage.models import Challenge, ChallengeEntry
from supplier_portal.challenges.forms import EntryForm
from supplier_portal.products import get_product


def open_challenges(session: Session, principal: Principal) -> list[Challenge]:
    visible_organisations(principal, "challenge.view")
    return list(
        session.scalars(
            select(Challenge)
            .where(Challenge.status.in_(("published", "results_published")))
            .order_by(Challenge.closes_at)
        )
    )


def my_entries(session: Session, principal: Principal, challenge_id: int) -> list[ChallengeEntry]:
    """The caller's organisations' entries to the challenge, drafts and submitted, by title."""
    visible_organisations(principal, "challenge.enter")
    query = (
        select(ChallengeEntry)
        .where(ChallengeEntry.challenge_id == challenge_id)
        .order_by(ChallengeEntry.title, ChallengeEntry.id)
    )
    query = within_reach(query, ChallengeEntry.organisation_id, principal, "challenge.enter")
    return list(session.scalars(query))


def _open_for_entries(challenge: Challenge, now: datetime) -> None:
    if challenge.status != "published" or now < challenge.opens_at:
        raise ValidationFailed("this challenge is not open for entries")
    if now >= challenge.closes_at:
        raise ValidationFailed(
            f"entries closed at {challenge.closes_at.isoformat()} (UTC); late entries are refused"
        )


def _own_entry(session: Session, principal: Principal, entry_id: int) -> ChallengeEntry:
    visible_organisations(principal, "challenge.enter")
    entry = session.get(ChallengeEntry, entry_id)
    if entry is None:
        raise NotFound("entry not found")
    require(principal, "challenge.enter", entry.organisation_id, "entry")
    return entry


def _check_answers(challenge: Challenge, answers: dict[str, bool]) -> None:
    known = {q["key"] for q in challenge.eligibility}
    unknown = set(answers) - known
    if unknown:
        raise ValidationFailed(f"eligibility_answers: unknown questions {sorted(unknown)}")


def save_entry(
    session: Session,
    principal: Principal,
    challenge_id: int,
    organisation_id: int,
    form: EntryForm,
    entry_id: int | None = None,
    now: datetime | None = None,
) -> ChallengeEntry:
    """Create or update a draft; refused once submitted or after the deadline."""
    require(principal, "challenge.enter", organisation_id, "organisation")
    challenge = session.get(Challenge, challenge_id)
    if challenge is None or challenge.status == "draft":
        raise NotFound("challenge not found")
    _open_for_entries(challenge, now or utcnow())
    _check_answers(challenge, form.eligibility_answers)
    if form.product_id is not None:
        product = get_product(session, principal, form.product_id)
        if product.organisation_id != organisation_id:
            raise NotFound("product not found")
    if entry_id is None:
        entry = ChallengeEntry(
            challenge_id=challenge_id,
            organisation_id=organisation_id,
            created_by_user_id=principal.user_id,
        )
        session.add(entry)
    else:
        entry = _own_entry(session, principal, entry_id)
        if entry.challenge_id != challenge_id:
            raise NotFound("entry not found")
        if entry.status != "draft":
            raise ValidationFailed("a submitted entry is locked")
    entry.title, entry.proposal = form.title, form.proposal
    entry.product_id, entry.eligibility_answers = form.product_id, form.eligibility_answers
    try:
        session.flush()
    except IntegrityError:
        raise ValidationFailed(f"you already have an entry called {form.title!r}") from None
    record(
        session,
        actor_of(principal),
        "challenge.entry_saved",
        "challenge_entry",
        entry.id,
        {"challenge_id": challenge_id, "title": form.title},
        organisation_id=organisation_id,
    )
    return entry


def _posture_band(session: Session, product_id: int, today: date) -> str | None:
    scores = score_estate(session, today, entity=f"product:{product_id}")
    return scores.band[0] if scores.subjects else None


def submit_entry(
    session: Session, principal: Principal, entry_id: int, now: datetime | None = None
) -> ChallengeEntry:
    moment = now or utcnow()
    entry = _own_entry(session, principal, entry_id)
    if entry.status != "draft":
        raise ValidationFailed("this entry has already been submitted")
    challenge = session.get(Challenge, entry.challenge_id)
    assert challenge is not None
    _open_for_entries(challenge, moment)
    for question in challenge.eligibility:
        answer = entry.eligibility_answers.get(question["key"])
        if answer is None:
            raise ValidationFailed(f"answer the eligibility question: {question['text']}")
        if question["must_be_yes"] and not answer:
            raise ValidationFailed(f"not eligible: {question['text']}")
    if challenge.min_posture_band:
        if entry.product_id is None:
            raise ValidationFailed("this challenge needs a linked product with a posture score")
        band = _posture_band(session, entry.product_id, moment.date())
        if band is None:
            raise ValidationFailed("the linked product has no submitted assessment to score")
        if not meets_band(band, challenge.min_posture_band):
            raise ValidationFailed(
                f"the linked product's posture band is {band}; this challenge needs "
                f"{challenge.min_posture_band} or better"
            )
        entry.posture_band = band
    entry.status, entry.submitted_at = "submitted", moment
    record(
        session,
        actor_of(principal),
        "challenge.entry_submitted",
        "challenge_entry",
        entry.id,
        {"challenge_id": challenge.id, "posture_band": entry.posture_band},
        organisation_id=entry.organisation_id,
    )
    return entry
