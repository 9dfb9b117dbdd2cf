"""An assessor raises a product's target profile above what its facts derive, with a reason;
never lowers it. The raise is kept per product and framework family, audited, and applied to
the product's live assessments at once."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints
from sqlalchemy import select
from sqlalchemy.orm import Session

from kernel.clock import utcnow
from kernel.errors import ValidationFailed
from posture.assessment_frameworks import framework_named
from posture.audit import hold_append_lock, record
from posture.identity.accounts import actor_of
from posture.identity.permissions import Principal, require, visible_organisations
from posture.storage.locks import hold_exclusive
from posture.storage.models import ProfileRaise
from posture.target_profiles import (
    Retargeted,
    apply_target,
    product_profile_lock,
    product_target,
    supplier_rules,
)
from supplier_portal.forms import FormModel
from supplier_portal.products import get_product

# Free text, checked like every other reason people write: no control characters.
REASON_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"


class RaiseForm(FormModel):
    framework: str | None = Field(
        default=None,
        max_length=100,
        pattern=r"^[a-z0-9][a-z0-9.-]*$",
        description="Catalogue id, e.g. ptsbd-1.0; the default framework when left out.",
    )
    profile_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    # Not trimmed here, so that the length the schema states is the length checked: a reason
    # with spaces at either end is the service's to refuse (raise_profile).
    reason: Annotated[
        str,
        StringConstraints(strip_whitespace=False),
        Field(min_length=10, max_length=2000, pattern=REASON_PATTERN),
    ]


def raise_profile(
    session: Session, principal: Principal, product_id: int, form: RaiseForm
) -> tuple[ProfileRaise, list[Retargeted]]:
    """Raise the product's target under `form.framework` (the default framework when None)."""
    # A role that never raises is told so whichever product it names (that says nothing of the
    # product); another tenant's product is not found, as everywhere; a role that may see it but
    # not raise it is told so.
    visible_organisations(principal, "profile.raise")
    product = get_product(session, principal, product_id)
    require(principal, "profile.raise", product.organisation_id, "product")
    if product.deleted_at is not None:
        raise ValidationFailed(f"{product.name!r} has been withdrawn")
    if form.reason != form.reason.strip():
        raise ValidationFailed("reason: remove the spaces or blank lines at either end")
    loaded = framework_named(form.framework)
    rules = supplier_rules(loaded)
    if form.profile_id not in rules.order:
        raise ValidationFailed(
            f"profile_id: {form.profile_id!r} is not a supplier profile of "
            f"{loaded.framework.title} {loaded.framework.version}; "
            f"choose one of {', '.join(rules.order)}"
        )
    hold_append_lock(session)
    hold_exclusive(session, product_profile_lock(product.id))
    session.refresh(product)
    current = product_target(session, loaded, product)
    if rules.rank(form.profile_id) <= rules.rank(current.profile_id):
        raise ValidationFailed(
            f"profile_id: {product.name!r} must already meet {current.profile_id} "
            f"({current.explain()}); a profile can be raised, never lowered"
        )
    raised = session.scalar(
        select(ProfileRaise).where(
            ProfileRaise.product_id == product.id,
            ProfileRaise.framework_id == loaded.framework.framework_id,
        )
    )
    if raised is None:
        raised = ProfileRaise(product_id=product.id, framework_id=loaded.framework.framework_id)
        session.add(raised)
    raised.profile_id, raised.reason = form.profile_id, form.reason
    raised.raised_by_user_id, raised.raised_at = principal.user_id, utcnow()
    session.flush()
    actor = actor_of(principal)
    record(
        session,
        actor,
        "product.profile_raised",
        "product",
        product.id,
        {
            "framework_id": loaded.framework.framework_id,
            "from": current.profile_id,
            "to": form.profile_id,
            "reason": form.reason,
        },
        organisation_id=product.organisation_id,
    )
    return raised, apply_target(session, actor, product)
