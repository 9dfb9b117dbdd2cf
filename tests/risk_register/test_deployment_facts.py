"""A force's deployment of a product: only a listed or accepted product can be deployed; what the
force's own use adds (SECRET data, a PNN connection, a national system) can only raise the profile
the deployment needs above the product's own, the derivation says why, and the force sees whether
the product's assessment reaches it. Changes are audited, concurrent ones land one after another,
and a refusal leaves nothing behind."""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from frameworks.deployment_facts import (
    DeploymentFacts,
    ForceUse,
    NationalSystem,
    PoliceNetwork,
    SecurityClassification,
)
from frameworks.loader import default_framework
from frameworks.proportionality import derive
from frameworks.risk.policy import risk_policy
from frameworks.schema import Audience
from kernel.errors import ValidationFailed
from posture.identity.permissions import NotFound, PermissionDenied
from posture.portfolio.deployments import (
    deploy_product,
    deployable_products,
    deployment_standings,
    judged_tier,
    put_deployment,
)
from posture.storage.engine import transaction
from posture.storage.models import Assessment, AuditEvent, Deployment
from posture.storage.models.enums import AssessmentStatus, Role
from tests.frameworks.test_proportionality import facts_strategy
from tests.identity.world import World, build_world
from tests.risk_register.listing import list_product

CRITICAL = "supplier-critical-national"
PNN_SECRET = ForceUse(classification="secret", police_networks=["pnn"])
uses = st.builds(
    ForceUse,
    classification=st.none() | st.sampled_from(list(SecurityClassification)),
    sensitive_caveat=st.booleans(),
    police_networks=st.lists(st.sampled_from(list(PoliceNetwork)), unique=True),
    national_systems=st.lists(st.sampled_from(list(NationalSystem)), unique=True),
    records_held=st.none() | st.integers(0, 10**9),
).filter(lambda u: not (u.sensitive_caveat and u.classification not in (None, "official")))


def _count(sessions: sessionmaker[Session], model: Any, *where: Any) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def _standing(world: World, sessions: sessionmaker[Session]):  # type: ignore[no-untyped-def]
    with sessions() as session:
        (standing,) = deployment_standings(
            session, world.principal(Role.SIRO), world.orgs["f1"].organisation_id
        )
    return standing


@pytest.fixture
def world(sessions: sessionmaker[Session]) -> World:
    with transaction(sessions) as session:
        return build_world(session)


def test_a_forces_use_raises_the_deployment_never_the_product(
    world: World, sessions: sessionmaker[Session]
) -> None:
    product_id, f1 = world.orgs["s1"].product_id, world.orgs["f1"].organisation_id
    assert product_id is not None
    with transaction(sessions) as session:
        list_product(session, product_id)
        deploy_product(session, world.principal(Role.SIRO), f1, product_id)
    plain = _standing(world, sessions)
    # With nothing added, the deployment needs what the product needs, and the product's
    # submitted assessment was made against it.
    assert plain.required.profile_id == "supplier-saas"
    assert plain.assessed_profile == "supplier-saas"
    assert plain.assessment_status is AssessmentStatus.SUBMITTED
    assert plain.reached

    with transaction(sessions) as session:
        _, created = put_deployment(session, world.principal(Role.SIRO), f1, product_id, PNN_SECRET)
    assert not created
    raised = _standing(world, sessions)
    assert raised.required.profile_id == CRITICAL
    assert raised.required.explain() == f"{CRITICAL} because it holds SECRET"
    assert raised.use == PNN_SECRET
    assert not raised.reached, "assessed against supplier-saas, the deployment needs more"
    # The product's own target and its assessments are the supplier's: a force's use does not
    # move them.
    with sessions() as session:
        mine = Assessment.product_id == product_id
        profiles = set(session.scalars(select(Assessment.profile_id).where(mine)))
        changed = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "deployment.changed")
        ).one()
    assert profiles == {"supplier-saas"}
    assert changed.shown_data["after"]["classification"] == "secret"
    assert changed.shown_data["before"]["classification"] is None
    # Saving the same use again writes nothing.
    with transaction(sessions) as session:
        put_deployment(session, world.principal(Role.SIRO), f1, product_id, PNN_SECRET)
    assert _count(sessions, AuditEvent, AuditEvent.action == "deployment.changed") == 1


def test_a_use_only_adds_to_the_products_facts() -> None:
    secret_product = DeploymentFacts(
        hosting="saas",
        classification="secret",
        police_networks=["psn"],
        records_held=5_000,
        data_locations=["uk"],
    )
    merged = ForceUse(
        classification="official", sensitive_caveat=True, police_networks=["pnn"], records_held=9
    ).added_to(secret_product)
    # OFFICIAL does not lower SECRET, and the caveat goes with OFFICIAL.
    assert merged.classification == "secret"
    assert not merged.sensitive_caveat
    assert merged.police_networks == ("pnn", "psn")
    assert merged.records_held == 5_000
    # A force's count can raise the product's, but never makes an undeclared count declared.
    assert ForceUse(records_held=10**7).added_to(secret_product).records_held == 10**7
    unknown = DeploymentFacts(hosting="saas")
    assert ForceUse(records_held=10).added_to(unknown).records_held is None
    # A force's OFFICIAL does not make a product that never said what it holds an OFFICIAL one.
    assert ForceUse(classification="official").added_to(unknown).classification is None
    # OFFICIAL-SENSITIVE put into an OFFICIAL product is OFFICIAL with the caveat.
    official = DeploymentFacts(hosting="saas", classification="official")
    use = ForceUse(classification="official", sensitive_caveat=True)
    assert use.added_to(official).classification_label() == "OFFICIAL with the SENSITIVE caveat"


@pytest.mark.parametrize(
    ("data", "said"),
    [
        ({"classification": "official-sensitive"}, "classification"),
        ({"police_networks": ["pnn", "pnn"]}, "listed twice"),
        ({"police_networks": ["internet"]}, "police_networks"),
        ({"national_systems": ["pnd", "pnc", "leds", "pnd"]}, "national_systems"),
        ({"records_held": -1}, "records_held"),
        ({"records_held": 10**13}, "records_held"),
        ({"records_held": 2.5}, "whole number"),
        ({"records_held": True}, "whole number"),
        ({"records_held": "12"}, "whole number"),
        ({"sensitive_caveat": 1}, "sensitive_caveat"),
        ({"hosting": "saas"}, "hosting"),
    ],
)
def test_a_hostile_use_is_refused_naming_the_field(data: dict[str, Any], said: str) -> None:
    with pytest.raises(ValidationError, match=said):
        ForceUse.model_validate(data)


def test_the_caveat_with_secret_is_a_conflict_and_writes_nothing(
    world: World, sessions: sessionmaker[Session]
) -> None:
    product_id, f1 = world.orgs["s1"].product_id, world.orgs["f1"].organisation_id
    assert product_id is not None
    with transaction(sessions) as session:
        list_product(session, product_id)
    before = _count(sessions, AuditEvent)
    clash = ForceUse(classification="secret", sensitive_caveat=True)
    with (
        pytest.raises(ValidationFailed, match="OFFICIAL only, not SECRET"),
        transaction(sessions) as session,
    ):
        put_deployment(session, world.principal(Role.SIRO), f1, product_id, clash)
    assert (_count(sessions, Deployment), _count(sessions, AuditEvent)) == (0, before)


def test_only_a_listed_or_accepted_product_can_be_deployed(
    world: World, sessions: sessionmaker[Session]
) -> None:
    product_id, f1 = world.orgs["s1"].product_id, world.orgs["f1"].organisation_id
    assert product_id is not None
    siro = world.principal(Role.SIRO)
    before = _count(sessions, AuditEvent)
    # Not there for a force: the refusal says nothing of the product, not even its name.
    with pytest.raises(NotFound, match=r"^product not found$"), transaction(sessions) as session:
        deploy_product(session, siro, f1, product_id, PNN_SECRET)
    assert _count(sessions, Deployment) == 0
    assert _count(sessions, AuditEvent) == before
    with sessions() as session:
        assert deployable_products(session, siro, f1, "", 50) == {}

    # A national assessor's acceptance is enough, as a listing is.
    with transaction(sessions) as session:
        submitted = session.scalars(
            select(Assessment).where(
                Assessment.product_id == product_id,
                Assessment.status == AssessmentStatus.SUBMITTED,
            )
        ).one()
        submitted.status = AssessmentStatus.ACCEPTED
    with sessions() as session:
        found = deployable_products(session, siro, f1, "evidence VAULT", 50)
        assert found == {product_id: "s1 Evidence Vault"}
        # A search for text a LIKE pattern reads as a wildcard finds only that text.
        assert deployable_products(session, siro, f1, "%", 50) == {}
        assert deployable_products(session, siro, f1, "s1_Evidence", 50) == {}
    with transaction(sessions) as session:
        deploy_product(session, siro, f1, product_id)
    with sessions() as session:
        # What the force already deploys is not offered again.
        assert deployable_products(session, siro, f1, "", 50) == {}


@pytest.mark.parametrize("role", [Role.SUPPLIER_ADMIN, Role.PROCUREMENT_OFFICER])
def test_only_a_force_role_that_manages_deployments_may_deploy(
    world: World, sessions: sessionmaker[Session], role: Role
) -> None:
    product_id, f1 = world.orgs["s1"].product_id, world.orgs["f1"].organisation_id
    assert product_id is not None
    with transaction(sessions) as session:
        list_product(session, product_id)
    with pytest.raises(PermissionDenied), transaction(sessions) as session:
        put_deployment(session, world.principal(role), f1, product_id, PNN_SECRET)
    with pytest.raises(PermissionDenied), sessions() as session:
        deployment_standings(session, world.principal(role, org="s1"), f1)
    assert _count(sessions, Deployment) == 0


def test_twenty_uses_saved_at_once_land_one_after_another(
    world: World, sessions: sessionmaker[Session]
) -> None:
    product_id, f1 = world.orgs["s1"].product_id, world.orgs["f1"].organisation_id
    assert product_id is not None
    siro = world.principal(Role.SIRO)
    with transaction(sessions) as session:
        list_product(session, product_id)
    uses = [ForceUse(records_held=1_000 + n) for n in range(20)]

    def save(use: ForceUse) -> bool:
        with transaction(sessions) as session:
            return put_deployment(session, siro, f1, product_id, use)[1]

    with ThreadPoolExecutor(max_workers=20) as pool:
        created = list(pool.map(save, uses))
    assert created.count(True) == 1, "one deployment began; the rest changed it"
    assert _count(sessions, Deployment) == 1
    assert _count(sessions, AuditEvent, AuditEvent.action == "deployment.recorded") == 1
    assert _count(sessions, AuditEvent, AuditEvent.action == "deployment.changed") == 19
    with sessions() as session:
        events = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action.in_(["deployment.recorded", "deployment.changed"]))
            .order_by(AuditEvent.id)
        ).all()
        stored = session.scalars(select(Deployment)).one()
    # Each change starts from the one before it, and the last one saved is what is stored.
    for before, after in itertools.pairwise(events):
        assert (
            after.shown_data["before"]["records_held"] == before.shown_data["after"]["records_held"]
        )
    assert stored.records_held == events[-1].shown_data["after"]["records_held"]


@settings(max_examples=300, deadline=None)
@given(facts_strategy, uses)
def test_a_use_never_lowers_the_profile_or_loosens_the_appetite(
    product: DeploymentFacts, use: ForceUse
) -> None:
    rules = default_framework().subject_rules(Audience.SUPPLIER)
    assert rules is not None
    appetite, matrix = risk_policy().appetite, risk_policy().matrix
    merged = use.added_to(product)
    assert rules.rank(derive(rules, merged, "v").profile_id) >= rules.rank(
        derive(rules, product, "v").profile_id
    )
    alone = appetite.appetite_for(*judged_tier(product))
    used = appetite.appetite_for(*judged_tier(merged))
    assert matrix.rank(used.id) <= matrix.rank(alone.id)
