"""Tracked findings: a product's findings with their age, due date and SLA breach; the
supplier names who remedies one and by when, or disputes it as a false positive; an assessor
outside the supplier upholds or rejects the dispute. The services decide reach: another
supplier's finding is a 404, exactly like a missing one."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from pydantic import ConfigDict, Field, field_validator

from partner_api.deps import Caller, Reading, Rt
from partner_api.models import Id, In, Out
from posture.findings.decisions import (
    MAX_NOTE,
    MAX_REASON,
    MIN_REASON,
    decide_dispute,
    dispute,
    set_remediation,
)
from posture.findings.views import FindingRow, finding_row, product_findings
from posture.plain_text import without_hidden
from posture.storage.engine import transaction
from posture.storage.models.enums import Severity
from posture.storage.models.finding_lifecycle import FindingStatus

router = APIRouter(prefix="/v1", tags=["findings"])
ProductId = Annotated[int, Path(ge=1, le=2_147_483_647, description="The product's id.")]
FindingId = Annotated[int, Path(ge=1, le=2_147_483_647, description="The tracked finding's id.")]


class TrackedFindingOut(Out):
    # It names an owner and carries a dispute's words: closed, so nothing added later leaks out.
    model_config = ConfigDict(from_attributes=True, extra="forbid")

    id: int
    product_id: int | None
    kind: str
    target: str
    subject: str = Field(description="What the finding is about; empty when the code says it all.")
    code: str
    severity: Severity
    title: str
    status: FindingStatus
    first_seen_at: datetime
    last_seen_at: datetime
    age_days: int = Field(ge=0, description="Days since a run first showed it.")
    due_at: datetime
    breached: bool = Field(description="Counts as open and is past its due date.")
    reopened_count: int = Field(ge=0)
    owner_user_id: int | None
    acceptance_id: int | None
    dispute_reason: str | None
    decision_note: str | None


# Bounded by length in the schema, the hidden characters taken out by a validator (what is left
# is checked as typed text is, a 409 when too short): schemathesis's generator for the
# plain-text pattern on these two bodies exhausted its 1 GiB sandbox (a Rust allocation failure,
# reproduced three times), so the rule is stated in words.
class DisputeIn(In):
    reason: str = Field(
        min_length=MIN_REASON,
        max_length=MAX_REASON,
        description="Why the finding is a false positive, as plain text (control and hidden "
        "characters are taken out); an assessor reads it.",
    )

    @field_validator("reason")
    @classmethod
    def _plain(cls, value: str) -> str:
        return without_hidden(value)


class DecisionIn(In):
    decision: Literal["uphold", "reject"] = Field(
        description="uphold: a false positive; reject: back to where it was."
    )
    note: str = Field(
        min_length=MIN_REASON,
        max_length=MAX_NOTE,
        description="Why, as plain text (control and hidden characters are taken out); "
        "shown to the supplier.",
    )

    @field_validator("note")
    @classmethod
    def _plain(cls, value: str) -> str:
        return without_hidden(value)


class RemediationIn(In):
    owner_user_id: Id = Field(description="A member of the supplier who fixes it.")
    due_on: date | None = Field(
        default=None,
        description="By when, if sooner than the SLA for its severity allows; never later.",
    )


def _out(row: FindingRow) -> TrackedFindingOut:
    return TrackedFindingOut.model_validate(row)


@router.get(
    "/products/{product_id}/findings",
    operation_id="listProductFindings",
    summary="A product's tracked findings (those counting as open unless include_closed), "
    "worst and oldest first, with age, due date and SLA breach",
    response_model=list[TrackedFindingOut],
)
def list_findings(
    me: Caller,
    session: Reading,
    product_id: ProductId,
    include_closed: Annotated[bool, Query()] = False,
) -> list[TrackedFindingOut]:
    rows = product_findings(session, me, product_id, include_closed=include_closed)
    return [_out(row) for row in rows]


@router.post(
    "/findings/{finding_id}/dispute",
    operation_id="disputeFinding",
    summary="Dispute a finding as a false positive, with a reason (the supplier); it still "
    "counts as open until an assessor upholds it",
    response_model=TrackedFindingOut,
)
def dispute_finding(
    me: Caller, rt: Rt, finding_id: FindingId, body: DisputeIn
) -> TrackedFindingOut:
    with transaction(rt.sessions) as session:
        finding = dispute(session, me, finding_id, body.reason)
        return _out(finding_row(finding))


@router.post(
    "/findings/{finding_id}/decision",
    operation_id="decideFindingDispute",
    summary="Uphold or reject a supplier's dispute (an assessor outside the supplier)",
    response_model=TrackedFindingOut,
)
def decide_finding(
    me: Caller, rt: Rt, finding_id: FindingId, body: DecisionIn
) -> TrackedFindingOut:
    with transaction(rt.sessions) as session:
        finding = decide_dispute(session, me, finding_id, body.decision == "uphold", body.note)
        return _out(finding_row(finding))


@router.put(
    "/findings/{finding_id}/remediation",
    operation_id="setFindingRemediation",
    summary="Name who fixes a finding and, if sooner than its SLA, by when (a supplier admin)",
    response_model=TrackedFindingOut,
)
def put_remediation(
    me: Caller, rt: Rt, finding_id: FindingId, body: RemediationIn
) -> TrackedFindingOut:
    with transaction(rt.sessions) as session:
        finding = set_remediation(session, me, finding_id, body.owner_user_id, body.due_on)
        return _out(finding_row(finding))
