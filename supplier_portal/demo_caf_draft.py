"""The demo force starts a CAF 4.0 self-assessment with answers inferred from its PTSbD one, so
the force assessor's first sign-in shows an assessment against another framework, with the
inferred answers waiting to be confirmed."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from posture.identity.permissions import Membership, Principal
from posture.storage.models import Assessment, User
from posture.storage.models import Membership as MembershipRow
from posture.storage.models.enums import AssessmentStatus, Role
from supplier_portal.assessment_inference import infer_into_draft
from supplier_portal.assessments import start_assessment

CAF = "ncsc-caf-4.0"
CAF_PROFILE = "caf-baseline"


def start_caf_draft(session: Session, email: str) -> int | None:
    """The draft's id, or None when the force has no submitted PTSbD assessment to infer from."""
    found = session.execute(
        select(User.id, MembershipRow.organisation_id)
        .join(MembershipRow, MembershipRow.user_id == User.id)
        .where(User.email == email, MembershipRow.role == Role.FORCE_ASSESSOR)
    ).first()
    if found is None:
        return None
    user_id, organisation_id = found
    submitted = session.scalar(
        select(Assessment.id).where(
            Assessment.organisation_id == organisation_id,
            Assessment.product_id.is_(None),
            Assessment.status != AssessmentStatus.DRAFT,
        )
    )
    if submitted is None:
        return None
    me = Principal(user_id, email, (Membership(organisation_id, Role.FORCE_ASSESSOR),))
    draft = start_assessment(session, me, organisation_id, None, CAF_PROFILE, CAF)
    infer_into_draft(session, me, draft.id)
    return draft.id
