"""The dashboards read single fields out of the snapshots' JSON detail; that must work the same
on SQLite's JSON and PostgreSQL's JSONB."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from frameworks.loader import default_framework
from posture.dashboards import product_objectives, product_standings
from posture.framework_registry import register_framework
from posture.identity.permissions import Membership, Principal
from posture.storage.engine import transaction
from posture.storage.models import Organisation, PostureSnapshot, Product
from posture.storage.models.enums import Role, SubjectKind
from tests.dashboards.conftest import EARLIER, LATER


def test_standings_and_objectives_on_each_backend(sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as session:
        version_id = register_framework(session, default_framework()).id
        supplier = Organisation(slug="vault-co", name="Vault Co", kind="supplier")
        session.add(supplier)
        session.flush()
        product = Product(
            organisation_id=supplier.id,
            name="Vault",
            category="digital_evidence",
            deployment_model="saas",
        )
        session.add(product)
        session.flush()
        for when, score, band, detail in (
            (EARLIER, 70.0, "B", {"objectives": {"A": 70.0}}),
            (LATER, 55.0, "C", {"objectives": {"A": 40.0, "B": None}, "contradicted": 2}),
        ):
            session.add(
                PostureSnapshot(
                    subject_kind=SubjectKind.PRODUCT,
                    organisation_id=supplier.id,
                    product_id=product.id,
                    framework_version_id=version_id,
                    taken_at=when,
                    score=score,
                    confidence=0.5,
                    band=band,
                    detail=detail,
                )
            )
        product_id = product.id
    assessor = Principal(1, "n@example.police.uk", (Membership(999, Role.NATIONAL_ASSESSOR),))
    with sessions() as session:
        standings = product_standings(session, assessor)
        objectives = product_objectives(session, assessor)
    row = standings.iloc[0].to_dict()
    assert {k: row[k] for k in ("product", "band", "previous_band", "change", "contradicted")} == {
        "product": "Vault",
        "band": "C",
        "previous_band": "B",
        "change": -15.0,
        "contradicted": 2,
    }
    scored = objectives.dropna().sort_values("objective")
    assert list(scored.itertuples(index=False, name=None)) == [(product_id, "A", 40.0)]
    # B has no score in the latest run: it is listed, without one.
    assert set(objectives["objective"]) == {"A", "B"}
