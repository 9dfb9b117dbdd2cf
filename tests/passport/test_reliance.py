"""A force relies on a valid passport of the product it deploys instead of assessing it again,
and the national view counts the assessments saved; a passport of another product, one no
longer valid, or one whose profile falls short of the force's own use is refused and nothing is
recorded; twenty requests at once record one reliance."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from frameworks.deployment_facts import ForceUse
from kernel.clock import utcnow
from posture.identity.permissions import NotFound, PermissionDenied, Principal
from posture.passport.registry import decide
from posture.passport.reliance import (
    RelianceRefused,
    assurance_avoided,
    end_reliance,
    force_reliances,
    rely_on_passport,
)
from posture.portfolio.deployments import put_deployment
from posture.storage.engine import transaction
from posture.storage.models import (
    Answer,
    AuditEvent,
    Passport,
    PassportReliance,
)
from posture.storage.models.enums import Role
from supplier_portal.reviews import review_answer
from tests.concurrency import in_parallel
from tests.identity.world import add_force
from tests.passport.conftest import Db, Issued, issue_for
from tests.risk_register.listing import list_product


def _org(principal: Principal) -> int:
    return principal.memberships[0].organisation_id


def _reliances(issued: Issued) -> int:
    with issued.sessions() as session:
        return session.scalar(select(func.count()).select_from(PassportReliance)) or 0


@pytest.fixture
def deployed(issued: Issued) -> dict[str, Principal]:
    """Three forces deploy s1's product: f1 (the world's force) and f2 as the product's facts
    stand, f3 connecting it to the PNC; a fourth, f4, deploys s2's product."""
    world = issued.world
    s1, s2 = world.orgs["s1"].product_id, world.orgs["s2"].product_id
    with transaction(issued.sessions) as session:
        list_product(session, s1)
        list_product(session, s2)
        forces = {"f1": world.principal(Role.FORCE_ASSESSOR)}
        forces.update(
            {slug: add_force(session, slug, Role.FORCE_ASSESSOR) for slug in ("f2", "f3", "f4")}
        )
        put_deployment(session, forces["f1"], _org(forces["f1"]), s1)
        put_deployment(session, forces["f2"], _org(forces["f2"]), s1)
        pnc = ForceUse(national_systems=["pnc"])
        put_deployment(session, forces["f3"], _org(forces["f3"]), s1, pnc)
        put_deployment(session, forces["f4"], _org(forces["f4"]), s2)
    return forces


def test_forces_rely_on_a_valid_passport_and_the_national_view_counts_it(
    issued: Issued, deployed: dict[str, Principal]
) -> None:
    product_id = issued.world.orgs["s1"].product_id
    with transaction(issued.sessions) as session:
        for slug in ("f1", "f2"):
            relied = rely_on_passport(
                session, deployed[slug], _org(deployed[slug]), product_id, issued.number
            )
            assert (relied.passport, relied.standing) == (issued.number, "valid")
    national = issued.world.principal(Role.NATIONAL_ASSESSOR)
    with issued.sessions() as session:
        view = assurance_avoided(session, national)
        own = force_reliances(session, deployed["f1"], _org(deployed["f1"]))
        assert force_reliances(session, deployed["f4"], _org(deployed["f4"])) == []
    assert (view.avoided, view.reliances) == (2, 2)
    assert [(p.product_id, p.forces, p.standing) for p in view.products] == [
        (product_id, 2, "valid")
    ]
    assert [(r.product_id, r.passport) for r in own] == [(product_id, issued.number)]

    # Suspended, the passport no longer saves an assessment, though the reliance stays on
    # record so the forces can see what they relied on.
    reason = "Monitoring contradicted the TLS check this passport cites."
    with transaction(issued.sessions) as session:
        decide(session, national, issued.number, "suspend", reason)
    with issued.sessions() as session:
        view = assurance_avoided(session, national)
        assert force_reliances(session, deployed["f1"], _org(deployed["f1"]))[0].standing == (
            "suspended"
        )
    assert (view.avoided, view.reliances) == (0, 2)
    with transaction(issued.sessions) as session:
        end_reliance(session, deployed["f2"], _org(deployed["f2"]), product_id)
    assert _reliances(issued) == 1


def test_a_passport_that_cannot_stand_in_is_refused_and_nothing_recorded(
    issued: Issued, deployed: dict[str, Principal]
) -> None:
    world = issued.world
    s1, s2 = world.orgs["s1"].product_id, world.orgs["s2"].product_id
    f1, f3, f4 = deployed["f1"], deployed["f3"], deployed["f4"]
    refusals = [
        # Its use adds the PNC: the product's SaaS profile falls short of what f3 needs.
        (lambda s: rely_on_passport(s, f3, _org(f3), s1, issued.number), "supplier-critical"),
        # f4 deploys s2's product, which the passport is not for.
        (lambda s: rely_on_passport(s, f4, _org(f4), s2, issued.number), "another product"),
        (lambda s: rely_on_passport(s, f4, _org(f4), s1, issued.number), "deployment not found"),
        (lambda s: rely_on_passport(s, f1, _org(f4), s1, issued.number), "not found"),
        (lambda s: rely_on_passport(s, f1, _org(f1), s1, "PP-0000000000000000"), "not found"),
    ]
    for call, words in refusals:
        with (
            pytest.raises((RelianceRefused, NotFound), match=words),
            transaction(issued.sessions) as session,
        ):
            call(session)
    with transaction(issued.sessions) as session:
        session.execute(update(Passport).values(expires_at=utcnow() - timedelta(seconds=1)))
    with pytest.raises(RelianceRefused, match="expired"), transaction(issued.sessions) as s:
        rely_on_passport(s, f1, _org(f1), s1, issued.number)
    assert _reliances(issued) == 0
    with issued.sessions() as session:
        relied = session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "passport.relied_on")
        )
    assert relied == 0


def test_a_supplier_cannot_see_the_national_view(issued: Issued) -> None:
    for role in (Role.SUPPLIER_ADMIN, Role.SIRO, Role.PROCUREMENT_OFFICER):
        with issued.sessions() as session, pytest.raises(PermissionDenied):
            assurance_avoided(session, issued.world.principal(role))


def test_twenty_requests_at_once_record_one_reliance(
    issued: Issued, deployed: dict[str, Principal]
) -> None:
    f1, product_id = deployed["f1"], issued.world.orgs["s1"].product_id
    results = in_parallel(
        issued.sessions,
        [lambda s: rely_on_passport(s, f1, _org(f1), product_id, issued.number)] * 20,
    )
    assert [r for r in results if isinstance(r, Exception)] == []
    assert _reliances(issued) == 1
    with issued.sessions() as session:
        events = session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "passport.relied_on")
        )
    assert events == 1


def test_twenty_parallel_acceptances_issue_one_passport(world_db: Db) -> None:
    """Every answer of a twenty-answer assessment accepted at once: the decision that completes
    it, whichever commits last, issues the one passport."""
    world, sessions, settings = world_db
    from posture.platform_keys import platform_keys

    keys = platform_keys(settings)
    s1 = world.orgs["s1"]
    outcomes = ["A1.b", "A2.a", "A2.b", "A3.a", "A3.b", "A4.a", "A4.b", "B1.a", "B1.b", "B2.a",
                "B2.b", "B2.c", "B3.a", "B3.b", "B4.a", "C1.a", "C2.a", "C3.a", "C3.b"]  # fmt: skip
    with transaction(sessions) as session:
        session.add_all(
            Answer(
                assessment_id=s1.submitted_assessment_id,
                outcome_id=outcome,
                indicators_met=[],
                provenance="self_asserted",
            )
            for outcome in outcomes
        )
    with sessions() as session:
        ids = session.scalars(
            select(Answer.id).where(Answer.assessment_id == s1.submitted_assessment_id)
        ).all()
    assert len(ids) == 20
    assessor = world.principal(Role.NATIONAL_ASSESSOR)
    results = in_parallel(
        sessions,
        [(lambda s, a=a: review_answer(s, assessor, a, "accept", keys=keys)) for a in ids],
    )
    assert [r for r in results if isinstance(r, Exception)] == []
    with sessions() as session:
        passports = session.scalars(select(Passport)).all()
    assert len(passports) == 1


def test_a_passport_for_another_version_than_the_force_runs_is_refused(world_db: Db) -> None:
    from posture.portfolio.details import PortfolioDetails
    from posture.storage.models import Product

    world, sessions, _ = world_db
    product_id = world.orgs["s1"].product_id
    with transaction(sessions) as session:
        product = session.get(Product, product_id)
        assert product is not None
        product.version = "5.0"
    issued = issue_for(world_db)
    assert json.loads(issued.document)["passport"]["product"]["version"] == "5.0"
    force = world.principal(Role.FORCE_ASSESSOR)
    f1 = _org(force)
    with transaction(sessions) as session:
        list_product(session, product_id)
        put_deployment(
            session, force, f1, product_id, None, PortfolioDetails(product_version="4.1")
        )
    with pytest.raises(RelianceRefused, match=r"covers version 5\.0"), transaction(sessions) as s:
        rely_on_passport(s, force, f1, product_id, issued.number)
    with transaction(sessions) as session:
        put_deployment(
            session, force, f1, product_id, None, PortfolioDetails(product_version="5.0")
        )
        relied = rely_on_passport(session, force, f1, product_id, issued.number)
    assert relied.standing == "valid"


def test_ending_or_changing_the_deployment_ends_its_reliance(
    issued: Issued, deployed: dict[str, Principal]
) -> None:
    from posture.portfolio.deployments import end_deployment

    product_id = issued.world.orgs["s1"].product_id
    f1, f2 = deployed["f1"], deployed["f2"]
    national = issued.world.principal(Role.NATIONAL_ASSESSOR)
    with transaction(issued.sessions) as session:
        for force in (f1, f2):
            rely_on_passport(session, force, _org(force), product_id, issued.number)
    with transaction(issued.sessions) as session:
        end_deployment(session, f1, _org(f1), product_id)
        # f2 now connects the product to the PNC: the passport's profile no longer reaches.
        put_deployment(session, f2, _org(f2), product_id, ForceUse(national_systems=["pnc"]))
    with issued.sessions() as session:
        assert assurance_avoided(session, national).avoided == 0
        assert force_reliances(session, f1, _org(f1)) == []
        ended = session.scalars(
            select(AuditEvent.data).where(AuditEvent.action == "passport.reliance_ended")
        ).all()
    assert sorted(e["because"] for e in ended) == [
        "the deployment ended",
        "the deployment's use or version changed",
    ]
    with transaction(issued.sessions) as session:
        put_deployment(session, f1, _org(f1), product_id, ForceUse(national_systems=["pnc"]))
    with issued.sessions() as session:
        assert force_reliances(session, f1, _org(f1)) == []
    assert _reliances(issued) == 0
