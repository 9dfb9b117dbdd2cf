"""The seeded demo shows the whole risk register on first sign-in: the demo force's scenarios on
evidence, a mitigation under way, a SIRO acceptance and an outcome exception that count, a second
force's differing rating in the consistency report, and the same register for the same seed."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from frameworks.loader import default_framework
from frameworks.risk.likelihood import EvidenceKind
from posture.audit import verify_chain
from posture.demo.seed import SeedResult, seed_demo
from posture.identity.permissions import Membership, Principal
from posture.portfolio.deployments import deployment_standings
from posture.risk.acceptance_state import acceptance_counts
from posture.risk.consistency_report import consistency_report
from posture.risk.evidence import available_evidence
from posture.risk.exceptions import active_exceptions
from posture.risk.scenarios import scenarios_query
from posture.storage.engine import transaction
from posture.storage.models import (
    AuditEvent,
    Deployment,
    Organisation,
    Product,
    RiskAcceptance,
    RiskAction,
    RiskScenario,
    User,
)
from posture.storage.models import Membership as MembershipRow
from posture.storage.models.enums import ActionStatus, RiskStatus, Role
from posture.target_profiles import product_target
from supplier_portal.demo_risk import seed_risk_register
from tests.cli import assure

# The browser tests' estate: 20 suppliers of the default seed, whose 17th product has a
# contradicted claim.
AS_OF = date(2026, 11, 1)


def _seed(sessions: sessionmaker[Session], suppliers: int = 20) -> tuple[SeedResult, dict]:
    with transaction(sessions) as session:
        result = seed_demo(session, suppliers, seed=2026, as_of=AS_OF, with_logins=True)
        emails = {login.role: login.email for login in result.logins}
        register = seed_risk_register(session, emails["force_assessor"], emails["siro"], AS_OF)
    assert register is not None
    return result, register


@pytest.fixture(scope="module")
def seeded_register(
    module_sessions: sessionmaker[Session],
) -> tuple[sessionmaker[Session], SeedResult, dict]:
    """The 20-supplier estate and its register, seeded once per module and backend for the
    tests that only read it (none commits)."""
    result, register = _seed(module_sessions)
    return module_sessions, result, register


def _principal(session: Session, email: str) -> Principal:
    rows = session.execute(
        select(User.id, MembershipRow.organisation_id, MembershipRow.role)
        .join(MembershipRow, MembershipRow.user_id == User.id)
        .where(User.email == email)
    ).all()
    assert rows, email
    return Principal(rows[0].id, email, tuple(Membership(r.organisation_id, r.role) for r in rows))


def _risk_rows(session: Session) -> tuple[int, int, int]:
    return (
        session.scalar(select(func.count()).select_from(RiskScenario)) or 0,
        session.scalar(select(func.count()).select_from(Deployment)) or 0,
        session.scalar(select(func.count()).select_from(AuditEvent)) or 0,
    )


def test_the_demo_force_has_a_register_with_every_kind_of_decision(
    seeded_register: tuple[sessionmaker[Session], SeedResult, dict],
) -> None:
    sessions, result, register = seeded_register
    emails = {login.role: login.email for login in result.logins}
    with sessions() as session:
        assessor = _principal(session, emails["force_assessor"])
        siro = _principal(session, emails["siro"])
        force_id = register["force_id"]
        assert assessor.organisation_ids() == siro.organisation_ids() == {force_id}
        assert siro.roles() == {Role.SIRO}
        scenarios = list(session.scalars(scenarios_query(assessor, organisation_id=force_id)))
        assert len(scenarios) >= 3
        assert [s.id for s in scenarios] == register["scenario_ids"]
        assert {s.status for s in scenarios} == {
            RiskStatus.OPEN,
            RiskStatus.TREATING,
            RiskStatus.ACCEPTED,
        }
        assert {s.product_id for s in scenarios} == set(register["product_ids"])
        differing = [s for s in scenarios if s.current_likelihood != s.suggested_likelihood]
        assert len(differing) == 1
        assert differing[0].differs_because

        acceptances = list(session.scalars(select(RiskAcceptance)))
        assert [a.id for a in acceptances] == [register["acceptance_id"]]
        assert acceptances[0].expires_on == AS_OF + timedelta(days=90)
        assert acceptance_counts(acceptances[0], AS_OF)
        assert not acceptance_counts(acceptances[0], AS_OF + timedelta(days=91))

        statuses = session.scalars(
            select(RiskAction.status).where(RiskAction.id.in_(register["action_ids"]))
        ).all()
        assert sorted(s.value for s in statuses) == sorted(
            [ActionStatus.DONE.value, ActionStatus.PLANNED.value]
        )
        excused = [
            view
            for product_id in register["product_ids"]
            for view in active_exceptions(session, product_id, AS_OF)
        ]
        assert [view.exception_id for view in excused] == [register["exception_id"]]
        assert excused[0].organisation_id == force_id
        # One deployment is connected to PNN with PNC access by the force: it needs the critical
        # national profile whatever the product itself was assessed against.
        standings = deployment_standings(session, siro, force_id)
        assert [s.product_id for s in standings] == register["product_ids"]
        (connected,) = [s for s in standings if s.use.police_networks]
        assert connected.required.profile_id == "supplier-critical-national"
        own = product_target(
            session, default_framework(), session.get(Product, connected.product_id)
        )
        # The demo connects a product whose own facts ask for less, so the register shows the
        # deployment falls short of what the force's use needs.
        assert own.profile_id != "supplier-critical-national"
        assert "has access to PNC" in connected.required.explain()
        assert not connected.reached
        assert verify_chain(session).intact


def test_the_journey_product_has_a_contradicted_claim_and_no_acceptance(
    seeded_register: tuple[sessionmaker[Session], SeedResult, dict],
) -> None:
    sessions, _result, register = seeded_register
    journey = register["journey_product_id"]
    with sessions() as session:
        kinds = {view.kind for view in available_evidence(session, journey, AS_OF)}
        assert EvidenceKind.CONTRADICTED_CLAIM in kinds
        on_journey = session.scalars(
            select(RiskScenario).where(
                RiskScenario.product_id == journey,
                RiskScenario.organisation_id == register["force_id"],
            )
        ).all()
        assert on_journey
        assert all(s.status is not RiskStatus.ACCEPTED for s in on_journey)
        deployed = session.scalar(
            select(Deployment.id).where(
                Deployment.organisation_id == register["force_id"],
                Deployment.product_id == journey,
                Deployment.ended_at.is_(None),
            )
        )
        assert deployed in register["deployment_ids"]


def test_a_national_assessor_sees_the_two_forces_rate_the_same_risk_differently(
    seeded_register: tuple[sessionmaker[Session], SeedResult, dict],
) -> None:
    sessions, result, register = seeded_register
    emails = {login.role: login.email for login in result.logins}
    with sessions() as session:
        national = _principal(session, emails["national_assessor"])
        report = consistency_report(session, national)
        assert report
        divergence = next(d for d in report if d.product_id == str(register["journey_product_id"]))
        assert divergence.threat == "unauthorised-access"
        assert divergence.spread >= 1
        assert set(divergence.organisations()) == {
            str(register["force_id"]),
            str(register["second_force_id"]),
        }
        second = session.get(Organisation, register["second_force_id"])
        assert second is not None
        assert second.kind == "force"
        assert second.id == register["force_id"] + 1


def test_every_force_has_a_siro_but_only_one_siro_login(sessions: sessionmaker[Session]) -> None:
    result, _register = _seed(sessions, suppliers=3)
    sirologins = [login for login in result.logins if login.role == "siro"]
    assert len(sirologins) == 1
    with sessions() as session:
        forces = session.scalar(
            select(func.count()).select_from(Organisation).where(Organisation.kind == "force")
        )
        siros = session.scalars(
            select(MembershipRow.organisation_id).where(MembershipRow.role == Role.SIRO)
        ).all()
        assert len(siros) == len(set(siros)) == forces == 43
        with_password = session.scalars(
            select(User.email).where(User.password_hash.is_not(None), User.email.like("siro@%"))
        ).all()
        assert with_password == [sirologins[0].email]


def test_a_siro_of_another_force_is_refused_and_nothing_is_written(
    sessions: sessionmaker[Session],
) -> None:
    with transaction(sessions) as session:
        result = seed_demo(session, 5, seed=7, as_of=AS_OF, with_logins=True)
    assessor = next(x.email for x in result.logins if x.role == "force_assessor")
    with sessions() as session:
        other_siro = session.scalar(
            select(User.email)
            .join(MembershipRow, MembershipRow.user_id == User.id)
            .where(MembershipRow.role == Role.SIRO, MembershipRow.organisation_id == 2)
        )
        before = _risk_rows(session)
    assert other_siro is not None
    with pytest.raises(LookupError, match="is not the SIRO"), transaction(sessions) as session:
        seed_risk_register(session, assessor, other_siro, AS_OF)
    with pytest.raises(LookupError, match="no siro user"), transaction(sessions) as session:
        seed_risk_register(session, assessor, "nobody@nowhere.example", AS_OF)
    with (
        pytest.raises(LookupError, match="no force_assessor user"),
        transaction(sessions) as session,
    ):
        # A SIRO is not a force assessor, however the emails are swapped.
        seed_risk_register(session, other_siro, other_siro, AS_OF)
    with sessions() as session:
        assert _risk_rows(session) == before


def test_an_estate_with_too_few_products_gets_no_register(sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as session:
        result = seed_demo(session, 2, seed=7, as_of=AS_OF, with_logins=True)
        emails = {login.role: login.email for login in result.logins}
        before = _risk_rows(session)
        assert seed_risk_register(session, emails["force_assessor"], emails["siro"], AS_OF) is None
        assert _risk_rows(session) == before
        assert session.scalar(select(func.count()).select_from(Product)) == 2


def _cli_seed(tmp_path: Path, name: str, env: dict[str, str]) -> dict:
    env = {**env, "ASSURE_DATA_DIR": str(tmp_path / name)}
    assert assure("db", "upgrade", env=env).returncode == 0
    seeded = assure(
        "demo",
        "seed",
        "--suppliers",
        "10",
        "--as-of",
        "2026-11-01",
        "--with-logins",
        "--json",
        env=env,
    )
    assert seeded.returncode == 0, seeded.stderr
    return json.loads(seeded.stdout)


def test_the_same_seed_gives_the_same_register(tmp_path: Path, sqlite_env: dict[str, str]) -> None:
    first = _cli_seed(tmp_path, "a", sqlite_env)
    second = _cli_seed(tmp_path, "b", sqlite_env)
    assert first["risk_register"] == second["risk_register"]
    assert first["journey_product_id"] == first["risk_register"]["journey_product_id"]
    assert first["journey_product_id"] in first["risk_register"]["product_ids"]
    assert len(first["risk_register"]["scenario_ids"]) == 3
    assert first["risk_register"]["second_force_scenario_id"] is not None
    assert "siro" in {login["role"] for login in first["logins"]}


def test_the_plain_output_mentions_the_register(sqlite_env: dict[str, str]) -> None:
    assert assure("db", "upgrade", env=sqlite_env).returncode == 0
    seeded = assure(
        "demo",
        "seed",
        "--suppliers",
        "4",
        "--as-of",
        "2026-11-01",
        "--with-logins",
        env=sqlite_env,
    )
    assert seeded.returncode == 0, seeded.stderr
    assert "risk register has 3 scenarios on 3 deployed products" in seeded.stdout
    assert "its portfolio record was imported (3 rows)" in seeded.stdout


def test_the_demo_portfolios_show_concentration_and_the_imported_record(
    seeded_register: tuple[sessionmaker[Session], SeedResult, dict],
) -> None:
    from posture.portfolio.concentration import concentration
    from posture.scoring.bands import band_names

    sessions, result, register = seeded_register
    assert register["portfolio"]["imported_rows"] == 3
    emails = {login.role: login.email for login in result.logins}
    with sessions() as session:
        force = _principal(session, emails["force_assessor"])
        standings = deployment_standings(session, force, register["force_id"])
        # The demo force's own record came in through the import, audited as one.
        assert {s.details.criticality for s in standings} == {
            "mission-critical",
            "business-critical",
            "business-operational",
        }
        assert all(s.details.contract_end and s.details.owner for s in standings)
        imported = session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "deployment.imported")
        )
        assert imported == 1
        national = _principal(session, emails["national_assessor"])
        view = concentration(session, national, band_names())
        hosted = {
            organisation_id
            for organisation_id, subs in session.execute(
                select(Deployment.organisation_id, Deployment.sub_suppliers).where(
                    Deployment.ended_at.is_(None)
                )
            )
            if "Northgate Cloud Hosting" in subs
        }
    forces = dict(zip(view.products["product_id"], view.products["forces"], strict=True))
    assert sorted(forces.values(), reverse=True) == [30, 12, 2]
    top = view.fourth_parties.iloc[0]
    # The hosting company under two products: every force running either, counted once.
    assert (top["fourth_party"], top["forces"]) == ("Northgate Cloud Hosting", len(hosted))
    assert len(hosted) >= 30
