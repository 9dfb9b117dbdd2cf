"""Score the estate or one subject: load, encode, run the engine."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from frameworks.catalogue_view import catalogue_id_of
from frameworks.loader import LoadedFramework, default_framework
from kernel.errors import ValidationFailed
from posture.identity.permissions import Principal
from posture.identity.scoped import load_visible
from posture.scoring.answer_cache import EncodingUse
from posture.scoring.columns import load_arrays
from posture.scoring.engine import score_arrays
from posture.scoring.explain import explain
from posture.scoring.load import SubjectFilter, load_estate
from posture.scoring.results import EstateScores
from posture.scoring.supply_chain import supply_chains
from posture.scoring.tables import framework_tables
from posture.storage.models import Organisation, OutcomeException, Product


def resolve_entity(session: Session, entity: str) -> SubjectFilter:
    """`product:<id>`, `org:<id>` or an organisation slug; refused clearly when unknown."""
    kind, _, value = entity.partition(":")
    if kind == "product" and value.isdigit():
        if session.get(Product, int(value)) is None:
            raise ValidationFailed(f"no product {value}")
        return SubjectFilter.product(int(value))
    if kind == "org" and value.isdigit():
        if session.get(Organisation, int(value)) is None:
            raise ValidationFailed(f"no organisation {value}")
        return SubjectFilter.organisation(int(value))
    organisation_id = session.scalar(select(Organisation.id).where(Organisation.slug == entity))
    if organisation_id is None:
        raise ValidationFailed(
            f"no entity {entity!r}; use an organisation slug, org:<id> or product:<id>"
        )
    return SubjectFilter.organisation(organisation_id)


def score_estate(
    session: Session,
    as_of: date,
    entity: str | None = None,
    loaded: LoadedFramework | None = None,
    encodings: EncodingUse = "read",
) -> EstateScores:
    """Scores as of a day. `encodings="keep"` stores the answer encodings made while loading in
    the session's transaction, for callers whose transaction commits (answer_cache.py)."""
    loaded = loaded or default_framework()
    subject_filter = resolve_entity(session, entity) if entity else None
    tables = framework_tables(loaded)
    rows = load_arrays(session, loaded, tables, as_of, subject_filter, encodings)
    return score_arrays(rows, tables)


def explain_entity(
    session: Session, entity: str, as_of: date, loaded: LoadedFramework | None = None
) -> dict:
    """`assure score explain`: one entity's score against `loaded` (PTSbD when None)."""
    loaded = loaded or default_framework()
    estate = load_estate(session, loaded, as_of, resolve_entity(session, entity))
    if not estate.subjects:
        raise ValidationFailed(f"{entity} has no submitted assessment as of {as_of}")
    report = explain(estate, framework_tables(loaded))
    subject = estate.subjects[0].subject
    if subject.product_id is None:
        chains = supply_chains(session, loaded, [subject.organisation_id], as_of)
        if subject.organisation_id in chains:
            report["supply_chain"] = chains[subject.organisation_id].explain()
    kind, _, value = entity.partition(":")
    if kind == "product" and value.isdigit():
        report["exceptions"] = _exceptions(session, loaded, int(value), as_of, report)
    return report


def _exceptions(
    session: Session, loaded: LoadedFramework, product_id: int, as_of: date, report: dict
) -> list[dict]:
    """The outcomes forces have excused this product from: the score is not changed by them,
    but a reader sees which unmet outcomes a force carries knowingly, and with what controls.
    Read here rather than through posture.risk, which reads scores (an import cycle); the
    filter is posture.risk.exceptions.exception_counts as SQL, and its tests hold them equal."""
    status = {outcome["outcome"]: outcome["status"] for outcome in report["outcomes"]}
    framework = catalogue_id_of(loaded.framework)
    titles = {outcome.id: outcome.title for outcome in loaded.framework.outcomes()}
    rows = session.execute(
        select(OutcomeException, Organisation.name)
        .join(Organisation, Organisation.id == OutcomeException.organisation_id)
        .where(
            OutcomeException.product_id == product_id,
            OutcomeException.revoked_at.is_(None),
            OutcomeException.expires_on >= as_of,
        )
        .order_by(OutcomeException.outcome_id, Organisation.name, OutcomeException.id)
    ).all()
    return [
        # Which force carries it, and with what controls, is that force's own risk data: a
        # reader of the product's score learns that a force excused an outcome, not which.
        {
            "framework": exception.framework_id,
            "outcome": exception.outcome_id,
            # Status and title are this explanation's: known for the default framework only.
            "title": titles.get(exception.outcome_id)
            if exception.framework_id == framework
            else None,
            "status": status.get(exception.outcome_id)
            if exception.framework_id == framework
            else None,
            "expires_on": exception.expires_on.isoformat(),
        }
        for exception, _force in rows
    ]


def product_score(
    session: Session, principal: Principal, product_id: int, as_of: date
) -> dict | None:
    """A product's score explained, for those allowed to read its scores; None while it has no
    submitted assessment to score."""
    load_visible(session, Product, product_id, principal, "score.read", "product")
    loaded = default_framework()
    estate = load_estate(session, loaded, as_of, SubjectFilter.product(product_id))
    if not estate.subjects:
        return None
    return explain(estate, framework_tables(loaded))
