"""Where forces rate the same risk differently: the same product, threat and deployment facts at
different risk levels. A national assessor sees every such group; a force sees only the groups
its own ratings are in, and the others there as "another force", their ratings without their
scenario ids, so a force learns how others rate without learning who they are."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from frameworks.risk.consistency import Divergence, RatedScenario, Rating, divergent
from frameworks.risk.policy import risk_policy
from posture.identity.permissions import Principal, visible_organisations
from posture.risk.scenarios import PRODUCT_SUBJECTS
from posture.storage.models import Organisation
from posture.storage.models.enums import RiskStatus
from posture.storage.models.risk import RiskScenario

ANOTHER_FORCE = "another force"
WITHHELD = "withheld"


COMPARED = (
    RiskScenario.subject_kind.in_(PRODUCT_SUBJECTS),
    RiskScenario.product_id.is_not(None),
    RiskScenario.status != RiskStatus.CLOSED,
)


def _ratings(session: Session, visible: set[int] | None) -> list[Rating]:
    """Every compared rating, or, for a viewer who sees only some organisations, the ratings
    of the products those organisations rate: its work follows its own register, not the
    country's."""
    query = (
        select(RiskScenario, Organisation.name)
        .join(Organisation, Organisation.id == RiskScenario.organisation_id)
        .where(*COMPARED)
        .order_by(RiskScenario.id)
    )
    if visible is not None:
        rated = select(RiskScenario.product_id).where(
            *COMPARED, RiskScenario.organisation_id.in_(visible)
        )
        query = query.where(RiskScenario.product_id.in_(rated))
    rows = session.execute(query).all()
    return [
        Rating(
            organisation_id=str(scenario.organisation_id),
            organisation_name=name,
            product_id=str(scenario.product_id),
            threat=scenario.threat,
            # A scenario rated before facts existed still groups: "" is not a valid Key.
            facts_digest=scenario.facts_digest or "none",
            likelihood=scenario.current_likelihood,
            impact=scenario.current_impact,
            suggested_likelihood=scenario.suggested_likelihood,
            scenario_id=str(scenario.id),
        )
        for scenario, name in rows
    ]


def _as_seen_by(divergence: Divergence, own: set[str]) -> Divergence:
    """The group with every organisation but the viewer's made anonymous: each other
    organisation is "another force" with a stand-in id, so two ratings of one organisation
    still read as one organisation's."""
    stand_in: dict[str, str] = {}
    shown = []
    for rated in divergence.ratings:
        rating = rated.rating
        if rating.organisation_id not in own:
            alias = stand_in.setdefault(
                rating.organisation_id, f"another-force-{len(stand_in) + 1}"
            )
            rating = rating.model_copy(
                update={
                    "organisation_id": alias,
                    "organisation_name": ANOTHER_FORCE,
                    "scenario_id": WITHHELD,
                }
            )
        shown.append(RatedScenario(rating=rating, level=rated.level))
    return divergence.model_copy(update={"ratings": tuple(shown)})


def consistency_report(session: Session, principal: Principal) -> list[Divergence]:
    """The divergent groups the principal may see, widest spread first."""
    visible = visible_organisations(principal, "risk.read")
    found = divergent(_ratings(session, visible), risk_policy().matrix)
    if visible is None:
        return found
    own = {str(organisation_id) for organisation_id in visible}
    return [
        _as_seen_by(divergence, own)
        for divergence in found
        if any(rated.rating.organisation_id in own for rated in divergence.ratings)
    ]
