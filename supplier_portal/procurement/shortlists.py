"""Shortlisting: a buyer's gates and weighted criteria over listed products, a ranking that
explains itself, versioned saves with an audit event, comparison and CSV/XLSX export."""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd
from pydantic import Field, model_validator
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kernel.clock import utcnow
from kernel.errors import ValidationFailed
from posture.audit import record
from posture.exports import to_csv, to_xlsx
from posture.identity.accounts import actor_of
from posture.identity.permissions import NotFound, Principal, require, visible_organisations
from posture.identity.scoped import load_visible, within_reach
from posture.storage.models import (
    Organisation,
    Product,
    ShortlistRequirement,
    ShortlistVersion,
)
from supplier_portal.forms import FormModel
from supplier_portal.procurement.facts import product_facts
from supplier_portal.procurement.gates import Gates, as_records, evaluate
from supplier_portal.procurement.lots import listings
from supplier_portal.procurement.shortlisting_policy import (
    Criterion,
    TieBreak,
    shortlisting_policy,
)

COMPONENT_ORDER = tuple(criterion.value for criterion in Criterion)


class WeightedCriterion(FormModel):
    key: Criterion
    weight: int = Field(ge=1, le=100)


class QualityQuestion(FormModel):
    key: str = Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")
    text: str = Field(min_length=5, max_length=500)


def _check_weights(criteria: list[WeightedCriterion]) -> None:
    total = sum(c.weight for c in criteria)
    if total != 100:
        raise ValueError(f"criteria weights must total 100%, not {total}%")
    keys = [c.key for c in criteria]
    if len(keys) != len(set(keys)):
        raise ValueError("each criterion may appear once")
    social = next((c.weight for c in criteria if c.key == "social_value"), 0)
    minimum = shortlisting_policy().min_social_value_weight
    if social < minimum:
        raise ValueError(f"social value must weigh at least {minimum}%")


class RequirementForm(FormModel):
    title: str = Field(min_length=3, max_length=200)
    lot_ids: list[int] = Field(min_length=1, max_length=20)
    gates: Gates = Field(default_factory=Gates)
    criteria: list[WeightedCriterion] = Field(min_length=1, max_length=len(Criterion))
    quality_questions: list[QualityQuestion] = Field(default_factory=list, max_length=20)

    @model_validator(mode="after")
    def _weights(self) -> RequirementForm:
        _check_weights(self.criteria)
        if "quality" in [c.key for c in self.criteria] and not self.quality_questions:
            raise ValueError("a quality criterion needs quality questions")
        return self


class VersionWeights(FormModel):
    """The weights one saved version ranks by. The requirement's weights are the first
    version's; a buyer may re-weigh for a later version, and the comparison says so."""

    criteria: list[WeightedCriterion] = Field(min_length=1, max_length=len(Criterion))

    @model_validator(mode="after")
    def _weights(self) -> VersionWeights:
        _check_weights(self.criteria)
        return self


class ProductInputs(FormModel):
    """What the buyer supplies per product: price, quality answers (0-4), social value."""

    price: float = Field(gt=0, le=1e9)
    quality: dict[str, int] = Field(default_factory=dict)
    social_value: float = Field(default=0, ge=0, le=100)

    @model_validator(mode="after")
    def _scale(self) -> ProductInputs:
        policy = shortlisting_policy()
        for key, value in self.quality.items():
            if value not in policy.quality_scale:
                raise ValueError(
                    f"quality.{key}: {value} is not on the 0-{policy.top_quality} scale"
                )
        return self


def create_requirement(
    session: Session, principal: Principal, organisation_id: int, form: RequirementForm
) -> ShortlistRequirement:
    require(principal, "shortlist.manage", organisation_id, "organisation")
    requirement = ShortlistRequirement(
        organisation_id=organisation_id,
        title=form.title,
        lot_ids=form.lot_ids,
        gates=form.gates.stored(),
        created_by_user_id=principal.user_id,
        criteria=[c.model_dump(mode="json") for c in form.criteria]
        + [{"question": q.model_dump()} for q in form.quality_questions],
    )
    session.add(requirement)
    session.flush()
    record(
        session,
        actor_of(principal),
        "shortlist.requirement_created",
        "shortlist_requirement",
        requirement.id,
        form.model_dump(mode="json"),
        organisation_id=organisation_id,
    )
    return requirement


def list_requirements(session: Session, principal: Principal) -> list[ShortlistRequirement]:
    """The requirements of the organisations the buyer works for, newest first."""
    query = select(ShortlistRequirement).order_by(ShortlistRequirement.id.desc())
    organisation = ShortlistRequirement.organisation_id
    return list(session.scalars(within_reach(query, organisation, principal, "shortlist.manage")))


def ranked_products(session: Session, principal: Principal, version_id: int) -> dict[int, str]:
    """Product id to name for a saved shortlist version, in rank order."""
    ranking = load_version(session, principal, version_id).ranking
    return {r["product_id"]: r["product"] for r in ranking}


def _criteria(requirement: ShortlistRequirement) -> tuple[list[dict[str, Any]], list[str]]:
    weighted = [c for c in requirement.criteria if "key" in c]
    questions = [c["question"]["key"] for c in requirement.criteria if "question" in c]
    return weighted, questions


def requirement_weights(requirement: ShortlistRequirement) -> list[dict[str, Any]]:
    """The weighted criteria the requirement was created with: [{"key", "weight"}, ...]."""
    return _criteria(requirement)[0]


def quality_questions(requirement: ShortlistRequirement) -> list[dict[str, str]]:
    """The requirement's quality questions: [{"key", "text"}, ...]."""
    return [c["question"] for c in requirement.criteria if "question" in c]


def saved_inputs(
    version: ShortlistVersion, requirement: ShortlistRequirement
) -> tuple[dict[int, ProductInputs], list[dict[str, Any]]]:
    """What a saved version was ranked from: each product's inputs and the weights.

    Versions saved before re-weighting existed stored the product inputs alone, keyed by
    product id; they ranked by the requirement's weights, which never change."""
    stored = version.inputs
    if "products" in stored:
        products, weights = stored["products"], stored["criteria"]
    else:
        products, weights = stored, requirement_weights(requirement)
    inputs = {int(k): ProductInputs.model_validate(v) for k, v in products.items()}
    return inputs, list(weights)


def rank_products(
    session: Session,
    principal: Principal,
    requirement_id: int,
    inputs: dict[int, ProductInputs],
    today: date,
    weights: VersionWeights | None = None,
) -> list[dict[str, Any]]:
    """Every listed product on the requirement's lots: gates, component scores, total, rank;
    by the requirement's weights unless the buyer re-weighs (`weights`)."""
    requirement = load_visible(
        session, ShortlistRequirement, requirement_id, principal, "shortlist.manage", "requirement"
    )
    weighted, questions = _criteria(requirement)
    if weights is not None:
        weighted = [c.model_dump(mode="json") for c in weights.criteria]
        if any(c["key"] == Criterion.QUALITY for c in weighted) and not questions:
            raise ValidationFailed(
                "quality cannot be weighed: this requirement asks no quality questions"
            )
    gates = Gates.model_validate(requirement.gates)
    product_ids = sorted({a.product_id for a in listings(session, principal, requirement.lot_ids)})
    missing = [p for p in product_ids if p not in inputs]
    if missing and any(c["key"] in {"price", "quality", "social_value"} for c in weighted):
        names = session.scalars(select(Product.name).where(Product.id.in_(missing)))
        raise ValidationFailed(f"give a price and answers for {', '.join(sorted(names))}")
    prices = [inputs[p].price for p in product_ids if p in inputs]
    cheapest = min(prices) if prices else None
    policy = shortlisting_policy()
    rows = []
    for product_id in product_ids:
        product = session.get(Product, product_id)
        assert product is not None
        supplier = session.get(Organisation, product.organisation_id)
        facts = product_facts(session, product, today)
        gate_results = evaluate(gates, facts, today)
        given = inputs.get(product_id)
        components = {
            "security_posture": facts.posture_score or 0.0,
            "pqc_readiness": facts.pqc_readiness or 0.0,
            "api_conformance": facts.api_score or 0.0,
            "price": 100.0 * cheapest / given.price if given and cheapest else 0.0,
            "quality": (
                100.0
                * sum(given.quality.get(q, 0) for q in questions)
                / (policy.top_quality * len(questions))
            )
            if given and questions
            else 0.0,
            "social_value": given.social_value if given else 0.0,
        }
        contributions = {
            c["key"]: round(c["weight"] * components[c["key"]] / 100, 4) for c in weighted
        }
        rows.append(
            {
                "product_id": product_id,
                "product": product.name,
                "supplier_id": product.organisation_id,
                "supplier": supplier.name if supplier else "",
                "passes_gates": all(r.passed for r in gate_results),
                "gates": as_records(gate_results),
                "components": {k: round(v, 2) for k, v in components.items()},
                "contributions": contributions,
                "total": round(sum(contributions.values()), 4),
                "price": given.price if given else None,
                "exceptions": list(facts.exceptions),
            }
        )
    passing = order_rows([r for r in rows if r["passes_gates"]], policy.tie_breaks)
    failing = order_rows([r for r in rows if not r["passes_gates"]], policy.tie_breaks)
    totals = [row["total"] for row in passing]
    for position, row in enumerate(passing, start=1):
        row["rank"] = position
        row["why"] = _why(row, position)
        if totals.count(row["total"]) > 1:
            row["why"] += f"; tied on total, placed by {policy.tie_break_text()}"
    for row in failing:
        row["rank"] = None
        row["why"] = "excluded: " + "; ".join(
            f"{g['gate']} ({g['reason']})" for g in row["gates"] if not g["passed"]
        )
    return passing + failing


def _tie_break_value(row: dict[str, Any], rule: TieBreak) -> Any:
    if rule is TieBreak.PRICE_ASCENDING:
        return row["price"] if row["price"] is not None else float("inf")
    if rule is TieBreak.PRODUCT_ID_ASCENDING:
        return row["product_id"]
    return -row["components"][rule.value]


def order_rows(
    rows: list[dict[str, Any]], tie_breaks: tuple[TieBreak, ...]
) -> list[dict[str, Any]]:
    """Highest weighted total first; equal totals in the order of the policy's tie-breaks."""
    return sorted(
        rows,
        key=lambda row: (-row["total"], *(_tie_break_value(row, rule) for rule in tie_breaks)),
    )


def _why(row: dict[str, Any], position: int) -> str:
    top = sorted(row["contributions"].items(), key=lambda item: -item[1])[:2]
    parts = ", ".join(f"{Criterion(key).label} {value:g}" for key, value in top)
    return f"rank {position} with {row['total']:g} points; largest contributions: {parts}"


def save_shortlist(
    session: Session,
    principal: Principal,
    requirement_id: int,
    inputs: dict[int, ProductInputs],
    today: date,
    weights: VersionWeights | None = None,
) -> ShortlistVersion:
    """Rank and keep the ranking as it stands today, with everything it was ranked from, so
    reopening the version shows it exactly as saved (facts change; a version does not)."""
    ranking = rank_products(session, principal, requirement_id, inputs, today, weights)
    requirement = session.get(ShortlistRequirement, requirement_id)
    assert requirement is not None
    criteria = (
        [c.model_dump(mode="json") for c in weights.criteria]
        if weights is not None
        else requirement_weights(requirement)
    )
    latest = (
        session.scalar(
            select(func.max(ShortlistVersion.version)).where(
                ShortlistVersion.requirement_id == requirement_id
            )
        )
        or 0
    )
    version = ShortlistVersion(
        requirement_id=requirement_id,
        version=latest + 1,
        ranking=ranking,
        inputs={
            "products": {str(k): v.model_dump() for k, v in inputs.items()},
            "criteria": criteria,
        },
        created_by_user_id=principal.user_id,
        created_at=utcnow(),
    )
    session.add(version)
    session.flush()
    record(
        session,
        actor_of(principal),
        "shortlist.saved",
        "shortlist_version",
        version.id,
        {
            "requirement_id": requirement_id,
            "version": version.version,
            "criteria": criteria,
            "ranking": [(r["product_id"], r["rank"]) for r in ranking],
        },
        organisation_id=requirement.organisation_id,
    )
    return version


def load_version(session: Session, principal: Principal, version_id: int) -> ShortlistVersion:
    """A saved version the buyer may see; another organisation's reads as missing."""
    visible_organisations(principal, "shortlist.manage")
    version = session.get(ShortlistVersion, version_id)
    if version is None:
        raise NotFound("shortlist not found")
    requirement = session.get(ShortlistRequirement, version.requirement_id)
    assert requirement is not None
    require(principal, "shortlist.manage", requirement.organisation_id, "shortlist")
    return version


def compare(
    session: Session, principal: Principal, version_id: int, product_ids: list[int]
) -> pd.DataFrame:
    limit = shortlisting_policy().max_compare
    if not 2 <= len(product_ids) <= limit:
        raise ValidationFailed(f"compare between 2 and {limit} products")
    version = load_version(session, principal, version_id)
    chosen = [r for r in version.ranking if r["product_id"] in product_ids]
    if len(chosen) != len(set(product_ids)):
        raise ValidationFailed("compare only products in this shortlist")
    return pd.DataFrame(
        {
            r["product"]: {
                "rank": r["rank"],
                "total": r["total"],
                **{k: r["components"][k] for k in COMPONENT_ORDER},
            }
            for r in chosen
        }
    )


def export_frame(session: Session, principal: Principal, version_id: int) -> pd.DataFrame:
    version = load_version(session, principal, version_id)
    # A fixed column order: PostgreSQL's JSONB does not keep the order keys were stored in.
    return pd.DataFrame(
        [
            {
                "rank": r["rank"],
                "product": r["product"],
                "total": r["total"],
                **{f"score_{k}": r["components"][k] for k in COMPONENT_ORDER},
                "passes_gates": r["passes_gates"],
                "why": r["why"],
                # Outcomes forces have excused, for a period; versions saved before there were
                # exceptions carry none.
                "exceptions": "; ".join(r.get("exceptions", [])),
            }
            for r in version.ranking
        ]
    )


def export_csv(session: Session, principal: Principal, version_id: int) -> str:
    return to_csv(export_frame(session, principal, version_id))


def export_xlsx(session: Session, principal: Principal, version_id: int) -> bytes:
    return to_xlsx(export_frame(session, principal, version_id), "Shortlist")
