"""A force's SIRO excuses a product it deploys from one framework outcome, for a period and with
compensating controls. The product's score is unchanged: an exception explains which unmet
outcome a force carries knowingly, and it shows wherever that product's posture is read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated

from pydantic import StringConstraints
from sqlalchemy import select
from sqlalchemy.orm import Session

from frameworks.catalogue_view import catalogue_id_of
from frameworks.risk.policy import risk_policy
from kernel.clock import utcnow
from kernel.errors import ValidationFailed
from posture.assessment_frameworks import framework_named
from posture.audit import hold_append_lock, record
from posture.identity.accounts import actor_of
from posture.identity.permissions import NotFound, Principal, require
from posture.identity.scoped import load_visible
from posture.passport.watch import after_exceptions_ended
from posture.portfolio.deployments import live_deployment
from posture.risk.acceptances import ACCEPT, check_expiry, refuse_conflicted_approver
from posture.risk.forms import Reasons, RiskForm
from posture.storage.locks import hold_exclusive
from posture.storage.models import Organisation, OutcomeException, Product
from posture.target_profiles import product_target

Identifier = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class ExceptionForm(RiskForm):
    organisation_id: int
    product_id: int
    # A catalogue id such as `ptsbd-1.0`; None for the default framework.
    framework: Identifier | None = None
    outcome_id: Identifier
    compensating_controls: Reasons
    rationale: Reasons
    expires_on: date


@dataclass(frozen=True)
class ExceptionView:
    exception_id: int
    organisation_id: int
    force: str
    product_id: int
    framework_id: str
    outcome_id: str
    title: str
    compensating_controls: str
    expires_on: date

    def summary(self) -> str:
        """The buyer's one line: `A4.b accepted by a force until 2027-03-01`. Which force, and
        its compensating controls, are that force's own risk data."""
        return f"{self.outcome_id} accepted by a force until {self.expires_on.isoformat()}"


def exception_counts(exception: OutcomeException, today: date) -> bool:
    """Whether an exception still excuses its outcome on `today`: not revoked, its last day not
    yet past."""
    return exception.revoked_at is None and exception.expires_on >= today


def _exception_lock(organisation_id: int, product_id: int) -> str:
    return f"outcome-exception:{organisation_id}:{product_id}"


def grant_exception(
    session: Session, principal: Principal, form: ExceptionForm, today: date
) -> OutcomeException:
    require(principal, ACCEPT, form.organisation_id, "organisation")
    if live_deployment(session, form.organisation_id, form.product_id) is None:
        raise NotFound("product not found")
    product = session.get(Product, form.product_id)
    if product is None or product.deleted_at is not None:
        raise NotFound("product not found")
    loaded = framework_named(form.framework)
    framework_id = catalogue_id_of(loaded.framework)
    try:
        outcome = loaded.framework.outcome(form.outcome_id)
    except KeyError:
        raise ValidationFailed(
            f"outcome_id: {form.outcome_id!r} is not an outcome of {framework_id}"
        ) from None
    target = product_target(session, loaded, product)
    if loaded.profiles[target.profile_id].target_for(outcome) is None:
        raise ValidationFailed(
            f"outcome_id: {outcome.id} is out of scope of the {target.profile_id} profile "
            "the product must meet; there is nothing to excuse"
        )
    refuse_conflicted_approver(session, principal, product.organisation_id)
    check_expiry(
        form.expires_on,
        today,
        risk_policy().appetite.max_exception_days(outcome.critical),
        f"an exception to {'a critical' if outcome.critical else 'an'} outcome",
    )
    hold_append_lock(session)
    hold_exclusive(session, _exception_lock(form.organisation_id, form.product_id))
    same = session.scalars(
        select(OutcomeException).where(
            OutcomeException.organisation_id == form.organisation_id,
            OutcomeException.product_id == form.product_id,
            OutcomeException.framework_id == framework_id,
            OutcomeException.outcome_id == outcome.id,
        )
    )
    live = next((e for e in same if exception_counts(e, today)), None)
    if live is not None:
        raise ValidationFailed(
            f"outcome_id: {outcome.id} is already excused until {live.expires_on.isoformat()}; "
            "revoke that exception first to change it"
        )
    exception = OutcomeException(
        organisation_id=form.organisation_id,
        product_id=product.id,
        framework_id=framework_id,
        outcome_id=outcome.id,
        compensating_controls=form.compensating_controls,
        rationale=form.rationale,
        approver_user_id=principal.user_id,
        granted_at=utcnow(),
        expires_on=form.expires_on,
    )
    session.add(exception)
    session.flush()
    record(
        session,
        actor_of(principal),
        "risk.exception_granted",
        "outcome_exception",
        exception.id,
        {
            "exception_id": exception.id,
            "product_id": product.id,
            "framework_id": framework_id,
            "outcome_id": outcome.id,
            "expires_on": form.expires_on.isoformat(),
            "compensating_controls": form.compensating_controls,
            "rationale": form.rationale,
        },
        organisation_id=form.organisation_id,
    )
    return exception


def revoke_exception(session: Session, principal: Principal, exception_id: int) -> OutcomeException:
    exception = load_visible(
        session, OutcomeException, exception_id, principal, ACCEPT, "exception"
    )
    hold_append_lock(session)
    hold_exclusive(session, _exception_lock(exception.organisation_id, exception.product_id))
    session.refresh(exception)
    if exception.revoked_at is not None:
        raise ValidationFailed("exception: it is already revoked")
    exception.revoked_at = utcnow()
    record(
        session,
        actor_of(principal),
        "risk.exception_revoked",
        "outcome_exception",
        exception.id,
        {
            "exception_id": exception.id,
            "product_id": exception.product_id,
            "outcome_id": exception.outcome_id,
        },
        organisation_id=exception.organisation_id,
    )
    # A passport stating the exception as in force no longer states what holds.
    session.flush()
    after_exceptions_ended(session, [exception.id], "exception_revoked", actor_of(principal))
    return exception


def _outcome_title(framework_id: str, outcome_id: str) -> str:
    try:
        return framework_named(framework_id).framework.outcome(outcome_id).title
    except (ValidationFailed, KeyError):
        return outcome_id  # a framework this release no longer ships keeps its id


def active_exceptions(session: Session, product_id: int, today: date) -> list[ExceptionView]:
    """Every exception of the product that counts on `today`, across the forces deploying it.
    Not per principal: it is part of the product's posture, read by whoever may read that."""
    rows = session.execute(
        select(OutcomeException, Organisation.name)
        .join(Organisation, Organisation.id == OutcomeException.organisation_id)
        .where(
            OutcomeException.product_id == product_id,
            OutcomeException.revoked_at.is_(None),
            OutcomeException.expires_on >= today,
        )
        .order_by(OutcomeException.outcome_id, Organisation.name, OutcomeException.id)
    ).all()
    return [
        ExceptionView(
            exception_id=exception.id,
            organisation_id=exception.organisation_id,
            force=force,
            product_id=exception.product_id,
            framework_id=exception.framework_id,
            outcome_id=exception.outcome_id,
            title=_outcome_title(exception.framework_id, exception.outcome_id),
            compensating_controls=exception.compensating_controls,
            expires_on=exception.expires_on,
        )
        for exception, force in rows
        if exception_counts(exception, today)
    ]
