"""A force's own score reads its supply chain (A4.a) from its portfolio: weak deployments (a weak
band, or none) weighing a quarter or more allow "not achieved", fewer or an accepted risk allow
"partially achieved", and a clean portfolio corroborates the claim. The estate's scores and the
force's explanation agree, the explanation names each deployment, and an empty portfolio leaves
the claim on its answer alone. The acceptance filter is the register's own predicate in SQL."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from kernel.clock import utcnow
from kernel.settings import Settings
from posture.portfolio.deployments import end_deployment, put_deployment
from posture.portfolio.details import PortfolioDetails
from posture.risk.acceptance_state import acceptance_counts
from posture.risk.acceptances import AcceptanceForm, accept_risk
from posture.scoring.service import explain_entity, score_estate
from posture.scoring.supply_chain import _carried
from posture.storage.engine import transaction
from posture.storage.models import Answer, Deployment, RiskAcceptance
from posture.storage.models.enums import Role
from tests.dashboards.conftest import LATER, add_snapshots, snapshot_row
from tests.identity.world import World
from tests.risk_register.listing import list_product
from tests.risk_register.test_treatments import make_scenario

Db = tuple[World, sessionmaker[Session], Settings]
AS_OF = LATER.date() + timedelta(days=1)
A4A = "A4.a"


@pytest.fixture
def force(world_db: Db) -> tuple[World, sessionmaker[Session]]:
    """f1 claims A4.a achieved and deploys s1's product as mission critical and s2's as
    administrative (weights 4 and 1)."""
    world, sessions, _ = world_db
    siro = world.principal(Role.SIRO)
    f1 = world.orgs["f1"].organisation_id
    with transaction(sessions) as session:
        session.add(
            Answer(assessment_id=world.orgs["f1"].submitted_assessment_id, outcome_id=A4A,
                   indicators_met=["A4.a.A1", "A4.a.A2", "A4.a.PA1"],
                   provenance="self_asserted", answered_at=LATER - timedelta(days=30))
        )  # fmt: skip
        for slug, tier in (("s1", "mission-critical"), ("s2", "administrative")):
            product_id = world.orgs[slug].product_id
            list_product(session, product_id)
            put_deployment(session, siro, f1, product_id, None, PortfolioDetails(criticality=tier))
        # Deployed since before the snapshot run, so a score as of then reads them.
        session.execute(update(Deployment).values(created_at=LATER - timedelta(days=60)))
    return world, sessions


def _bands(sessions: sessionmaker[Session], world: World, s1: str, s2: str) -> None:
    with transaction(sessions) as session:
        add_snapshots(
            session,
            [
                snapshot_row(world, "s1", LATER, 50.0, s1, A=50.0),
                snapshot_row(world, "s2", LATER, 50.0, s2, A=50.0),
            ],
        )


def _outcome(report: dict, outcome_id: str = A4A) -> dict:
    return next(o for o in report["outcomes"] if o["outcome"] == outcome_id)


def _explained(sessions: sessionmaker[Session], world: World, as_of: date = AS_OF) -> dict:
    with sessions() as session:
        report = explain_entity(session, f"org:{world.orgs['f1'].organisation_id}", as_of)
        estate = score_estate(session, as_of)
    # The estate's scores and the explanation come from the same evidence.
    row = estate.to_frame().set_index("subject").loc[report["subject"]]
    assert float(row["score"]) == report["score"]
    assert row["band"] == report["band"]
    assert int(row["contradicted"]) == len(report["contradicted"])
    return report


@pytest.mark.parametrize(
    ("s1", "s2", "allows", "status"),
    [
        ("E", "A", "not achieved", "not achieved"),  # 4 of 5 weighted: weak
        ("A", "D", "partially achieved", "partially achieved"),  # 1 of 5: under a quarter
        ("A", "B", "achieved", "achieved"),
    ],
)
def test_the_portfolio_caps_or_corroborates_the_forces_supply_chain_claim(
    force, s1: str, s2: str, allows: str, status: str
) -> None:
    world, sessions = force
    _bands(sessions, world, s1, s2)
    report = _explained(sessions, world)
    chain = report["supply_chain"]
    assert chain["outcome"] == A4A
    assert chain["allows"] == allows
    assert {(d["product_id"], d["weight"], d["band"]) for d in chain["deployments"]} == {
        (world.orgs["s1"].product_id, 4, s1),
        (world.orgs["s2"].product_id, 1, s2),
    }
    outcome = _outcome(report)
    assert outcome["claimed"] == "achieved"
    assert outcome["status"] == status
    if status == "achieved":
        assert outcome["corroborated_by_portfolio"] is True
        assert "contradicted_by" not in outcome
    else:
        assert outcome["contradicted_by"]["finding"] == "PORTFOLIO-A4A-WEAK"
        assert outcome["contradicted_by"]["check_run_id"] is None


def test_an_unscored_product_is_weak_and_an_ended_deployment_counts_for_nothing(force) -> None:
    world, sessions = force
    with transaction(sessions) as session:
        add_snapshots(session, [snapshot_row(world, "s2", LATER, 90.0, "A", A=90.0)])
    assert _explained(sessions, world)["supply_chain"]["allows"] == "not achieved"
    with transaction(sessions) as session:
        end_deployment(
            session,
            world.principal(Role.SIRO),
            world.orgs["f1"].organisation_id,
            world.orgs["s1"].product_id,
        )
    # Ended today: as of a day before, it still counted; as of today it does not.
    assert _explained(sessions, world)["supply_chain"]["allows"] == "not achieved"
    today = utcnow().date()
    report = _explained(sessions, world, today)
    assert [d["band"] for d in report["supply_chain"]["deployments"]] == ["A"]
    assert report["supply_chain"]["allows"] == "achieved"


def test_an_accepted_risk_on_a_deployed_product_allows_partially_until_it_expires(
    force,
) -> None:
    world, sessions = force
    _bands(sessions, world, "A", "A")
    f1 = world.orgs["f1"].organisation_id
    scenario_id = make_scenario(sessions, f1, world.orgs["s1"].product_id)
    accepted_on = utcnow().date()
    with transaction(sessions) as session:
        form = AcceptanceForm(
            rationale="Compensating controls hold while the supplier fixes it.",
            expires_on=accepted_on + timedelta(days=30),
        )
        accept_risk(session, world.principal(Role.SIRO), scenario_id, form, accepted_on)
    carried = _explained(sessions, world, accepted_on)["supply_chain"]
    assert carried["allows"] == "partially achieved"
    assert [d["carried_risk"] for d in carried["deployments"]] == [True, False]
    after = _explained(sessions, world, accepted_on + timedelta(days=31))
    assert after["supply_chain"]["allows"] == "achieved"


def test_the_acceptance_filter_is_the_registers_predicate(force) -> None:
    world, sessions = force
    f1 = world.orgs["f1"].organisation_id
    today = utcnow().date()
    scenario_id = make_scenario(sessions, f1, world.orgs["s1"].product_id)
    with transaction(sessions) as session:
        form = AcceptanceForm(
            rationale="Compensating controls hold while the supplier fixes it.",
            expires_on=today + timedelta(days=10),
        )
        accepted = accept_risk(session, world.principal(Role.SIRO), scenario_id, form, today)
        accepted_id = accepted.id
    for revoked in (False, True):
        if revoked:
            with transaction(sessions) as session:
                session.execute(
                    update(RiskAcceptance)
                    .where(RiskAcceptance.id == accepted_id)
                    .values(revoked_at=utcnow())
                )
        for day in (today, today + timedelta(days=10), today + timedelta(days=11)):
            with sessions() as session:
                acceptance = session.scalars(select(RiskAcceptance)).one()
                in_sql = (f1, world.orgs["s1"].product_id) in _carried(
                    session, {f1}, day, utcnow() + timedelta(days=60)
                )
                assert in_sql == acceptance_counts(acceptance, day), (revoked, day)


def test_an_empty_portfolio_leaves_the_claim_on_its_answer(world_db: Db) -> None:
    world, sessions, _ = world_db
    with transaction(sessions) as session:
        session.add(
            Answer(assessment_id=world.orgs["f1"].submitted_assessment_id, outcome_id=A4A,
                   indicators_met=["A4.a.A1", "A4.a.A2", "A4.a.PA1"],
                   provenance="self_asserted", answered_at=LATER)
        )  # fmt: skip
    report = _explained(sessions, world)
    assert report["supply_chain"]["allows"] is None
    outcome = _outcome(report)
    assert outcome["status"] == "achieved"
    assert "contradicted_by" not in outcome
    assert "corroborated_by_portfolio" not in outcome


def test_a_later_snapshot_of_one_product_leaves_the_others_bands_standing(force) -> None:
    """A run that scored one product (one entity's --snapshot) is that product's newest band,
    not a run in which every other deployed product went unscored."""
    world, sessions = force
    _bands(sessions, world, "A", "B")
    with transaction(sessions) as session:
        later = LATER + timedelta(hours=3)
        add_snapshots(session, [snapshot_row(world, "s2", later, 80.0, "A", A=80.0)])
    chain = _explained(sessions, world)["supply_chain"]
    assert chain["allows"] == "achieved"
    assert {d["band"] for d in chain["deployments"]} == {"A"}
