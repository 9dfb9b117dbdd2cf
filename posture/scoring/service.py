"""Score the estate or one subject: load, encode, run the engine."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

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
from posture.scoring.tables import framework_tables
from posture.storage.models import Organisation, Product


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


def explain_entity(session: Session, entity: str, as_of: date) -> dict:
    loaded = default_framework()
    estate = load_estate(session, loaded, as_of, resolve_entity(session, entity))
    if not estate.subjects:
        raise ValidationFailed(f"{entity} has no submitted assessment as of {as_of}")
    return explain(estate, framework_tables(loaded))


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
