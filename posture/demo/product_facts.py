"""The facts of a demo product, and the profile they derive. Drawn from a generator of the
product's own (seeded from the estate's seed and the product's id), so adding a fact never moves
the rest of the estate; shaped so every supplier profile, and every reason for one, occurs."""

from __future__ import annotations

import random
from typing import Any

from frameworks.deployment_facts import (
    DataLocation,
    DeploymentFacts,
    DeploymentModel,
    NationalSystem,
    PoliceNetwork,
    SecurityClassification,
    VettingLevel,
)
from frameworks.loader import default_framework
from frameworks.proportionality import derive
from frameworks.schema import Audience


def demo_product_facts(
    seed: int, product_id: int, category: str, deployment: str
) -> DeploymentFacts:
    rng = random.Random(f"{seed}:product-facts:{product_id}")
    hosted_by_supplier = deployment != DeploymentModel.ON_PREMISES
    uk = DataLocation.UK
    locations = [uk] if hosted_by_supplier else []
    roll = rng.random()
    if hosted_by_supplier and roll < 0.04:
        locations = [uk, DataLocation.US]
    elif hosted_by_supplier and roll < 0.12:
        locations = [uk, DataLocation.EEA]
    sensitive = category in ("records_management", "digital_evidence", "command_and_control")
    networks: list[PoliceNetwork] = []
    if category == "command_and_control" or rng.random() < 0.15:
        networks = [PoliceNetwork.PNN] if rng.random() < 0.8 else [PoliceNetwork.PSN]
    systems = (
        [NationalSystem.PND] if category == "records_management" and rng.random() < 0.1 else []
    )
    secret = category == "analytics" and rng.random() < 0.05
    return DeploymentFacts(
        classification=SecurityClassification.SECRET if secret else SecurityClassification.OFFICIAL,
        sensitive_caveat=sensitive and not secret and rng.random() < 0.8,
        hosting=deployment,
        data_locations=tuple(locations),
        police_networks=tuple(networks),
        national_systems=tuple(systems),
        vetting=rng.choice(
            [VettingLevel.NPPV2, VettingLevel.NPPV3, VettingLevel.NPPV3, VettingLevel.SC]
        ),
        forces_served=rng.choice([1, 1, 1, 2, 3, 5, 8, 12]),
        records_held=rng.choice([20_000, 150_000, 400_000, 900_000, 2_500_000]),
    )


def product_columns(facts: DeploymentFacts) -> dict[str, Any]:
    """The product row's fact columns, as stored."""
    stored = facts.model_dump(mode="json")
    return {
        "max_classification": stored["classification"],
        "sensitive_caveat": facts.sensitive_caveat,
        "data_locations": stored["data_locations"],
        "police_networks": stored["police_networks"],
        "national_systems": stored["national_systems"],
        "vetting": stored["vetting"],
        "forces_served": facts.forces_served,
        "records_held": facts.records_held,
    }


def derived_profile(facts: DeploymentFacts) -> str:
    framework = default_framework()
    rules = framework.subject_rules(Audience.SUPPLIER)
    assert rules is not None, "the default framework derives supplier profiles"
    return derive(rules, facts, framework.framework.version).profile_id
