"""Deployments beside their products, as whole-estate reads take them: the columns a deployment
is weighed by (posture.portfolio.weights), selected once for the concentration view and for
scoring a force's supply chain, so the two weigh a deployment alike."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.orm import QueryableAttribute

from posture.portfolio.weights import Weigher
from posture.storage.models import Deployment, Product


def weighed_deployments(*extra: ColumnElement[Any] | QueryableAttribute[Any]) -> Select[Any]:
    """Every deployment joined to its product (the caller says which, and in what order): the
    force, the product, what the force's use says and what the product declares, then `extra`.
    Each caller asks only for the more it reads: scoring reads every force's deployments."""
    return select(
        Deployment.organisation_id,
        Deployment.product_id,
        Deployment.criticality,
        Deployment.classification,
        Deployment.sensitive_caveat,
        Product.max_classification,
        Product.sensitive_caveat.label("product_caveat"),
        *extra,
    ).join(Product, Product.id == Deployment.product_id)


def weight_of(weigher: Weigher, row: Any) -> int:
    """A row of weighed_deployments as the weigher weighs it."""
    return weigher.weight(
        row.criticality,
        row.max_classification,
        bool(row.product_caveat),
        row.classification,
        bool(row.sensitive_caveat),
    )
