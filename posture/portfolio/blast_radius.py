"""When a product's monitoring or a snapshot run raises an alert, every force that deploys the
product learns of it in its own inbox, with how critical the product is to it: a copy of the
alert held by the force, which its SIRO acknowledges for the force alone. Which alerts travel is
the monitoring policy's (`deployers: true` in posture/data/monitoring.yaml)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from kernel.clock import utcnow
from posture.audit import SYSTEM, Actor, record
from posture.monitoring.changes import monitoring_policy
from posture.portfolio.policy import portfolio_policy
from posture.storage.chunks import id_chunks
from posture.storage.models import Alert, Deployment


def relay_to_deployers(session: Session, alerts: list[Alert], actor: Actor = SYSTEM) -> list[int]:
    """The ids of new copies of each alert the policy sends to deployers, one for every force
    that deploys its product now (not the alert's own organisation) and holds no copy of it
    yet, carrying the deployment's criticality. A few queries however many alerts (a snapshot
    run's band changes can be thousands); one audit event per force."""
    rules = monitoring_policy().alerts
    travelling = {
        alert.id: alert
        for alert in alerts
        if alert.product_id is not None
        and alert.relayed_from_id is None
        and alert.code in rules
        and rules[alert.code].deployers
    }
    if not travelling:
        return []
    product_ids = sorted({alert.product_id for alert in travelling.values() if alert.product_id})
    deployments: dict[int, list[tuple[int, str | None]]] = defaultdict(list)
    held: set[tuple[int, int]] = set()
    # In chunks: a 50,000-product snapshot run's band changes are more ids than one statement
    # may bind.
    for part in id_chunks(product_ids):
        for organisation_id, product_id, criticality in session.execute(
            select(Deployment.organisation_id, Deployment.product_id, Deployment.criticality)
            .where(Deployment.product_id.in_(part), Deployment.ended_at.is_(None))
            .order_by(Deployment.organisation_id)
        ):
            deployments[product_id].append((organisation_id, criticality))
    for part in id_chunks(sorted(travelling)):
        held.update(
            (source, organisation_id)
            for source, organisation_id in session.execute(
                select(Alert.relayed_from_id, Alert.organisation_id).where(
                    Alert.relayed_from_id.in_(part)
                )
            )
        )
    policy = portfolio_policy()
    copies: list[dict[str, Any]] = []
    for alert in travelling.values():
        for organisation_id, criticality in deployments.get(alert.product_id or 0, []):
            if organisation_id == alert.organisation_id or (alert.id, organisation_id) in held:
                continue
            tier = policy.tier(criticality)
            copies.append(
                {
                    "organisation_id": organisation_id,
                    "product_id": alert.product_id,
                    "check_run_id": alert.check_run_id,
                    "code": alert.code,
                    "severity": alert.severity,
                    "title": alert.title,
                    "advice": alert.advice,
                    "detail": {
                        **alert.detail,
                        "criticality": criticality,
                        "criticality_label": tier.label
                        if criticality
                        else f"{tier.label} (undeclared)",
                    },
                    "raised_at": utcnow(),
                    "relayed_from_id": alert.id,
                }
            )
    if not copies:
        return []
    # Unsorted RETURNING lets the rows go in a few statements; each copy is known by the alert
    # it copies and the force holding it, which the unique constraint makes one row.
    made = session.execute(
        insert(Alert).returning(Alert.id, Alert.relayed_from_id, Alert.organisation_id), copies
    ).all()
    ids: list[int] = []
    by_force: dict[int, list[int]] = defaultdict(list)
    products: dict[int, set[int]] = defaultdict(set)
    product_of = {alert.id: alert.product_id for alert in travelling.values()}
    for copy_id, source, organisation_id in sorted(made):
        ids.append(copy_id)
        by_force[organisation_id].append(copy_id)
        products[organisation_id].add(product_of[source])
    for organisation_id, received in sorted(by_force.items()):
        record(
            session,
            actor,
            "alert.relayed",
            "alert",
            received[0],
            {"alerts": received, "products": sorted(products[organisation_id])},
            organisation_id=organisation_id,
        )
    return ids
