"""Generate the demo estate as plain rows: deterministic for a given seed and date, streamed in
parts of a fixed number of suppliers so an estate of any size is written in bounded memory.

Posture is driven by a latent maturity per organisation that drifts upward over 24 months,
so trends, movers and regressions in the dashboards have something real to show. Check runs
(check_evidence.py) follow each subject's claims, from a generator of their own.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, time
from typing import Any

from frameworks.finding_links import link_table
from frameworks.loader import load_framework, shipped_catalogue
from frameworks.schema import Framework, Outcome, Profile
from frameworks.scoring_policy import ScoringPolicy
from frameworks.urns import outcome_urn
from posture.demo.check_evidence import CheckRunPlanner
from posture.demo.estate_data import demo_data
from posture.demo.product_facts import demo_product_facts, derived_profile, product_columns

HISTORY_MONTHS = 24
FORCE_ASSESSMENTS = 8  # quarterly over the history window

Row = dict[str, Any]


def police_bodies() -> dict[str, list[dict[str, str]]]:
    return demo_data("police_bodies.yaml")


@dataclass
class DemoEstate:
    organisations: list[Row] = field(default_factory=list)
    users: list[Row] = field(default_factory=list)
    memberships: list[Row] = field(default_factory=list)
    products: list[Row] = field(default_factory=list)
    assessments: list[Row] = field(default_factory=list)
    answers: list[Row] = field(default_factory=list)
    check_runs: list[Row] = field(default_factory=list)
    findings: list[Row] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {name: len(rows) for name, rows in self.__dict__.items()}

    def extend(self, part: DemoEstate) -> None:
        for table in fields(self):
            getattr(self, table.name).extend(getattr(part, table.name))


def months_before(as_of: date, months: int) -> date:
    total = as_of.year * 12 + as_of.month - 1 - months
    return date(total // 12, total % 12 + 1, 1)


class _Builder:
    def __init__(
        self,
        framework: Framework,
        profiles: dict[str, Profile],
        framework_version_id: int,
        seed: int,
        as_of: date,
        scoring: ScoringPolicy,
    ) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.framework = framework
        self.profiles = profiles
        self.framework_version_id = framework_version_id
        self.as_of = as_of
        self.estate = DemoEstate()
        # Ids run on across the parts a streamed estate is written in.
        self.last_id = dict.fromkeys(self.estate.counts(), 0)
        self.last_answers: list[Row] = []
        # Some outcomes are harder for everyone; the offsets make the "most failed" view meaningful.
        self.difficulty = {o.id: self.rng.uniform(-0.15, 0.2) for o in framework.outcomes()}
        self.outcome_urns = {
            o.id: outcome_urn(framework.framework_id, framework.version, o.id)
            for o in framework.outcomes()
        }
        self.scope_cache: dict[str, list[Outcome]] = {}
        # Outcomes some automated check bears on: their answers may cite a check run.
        links = link_table(shipped_catalogue(), framework)
        self.checked = {o.id for o in framework.outcomes() if links.kinds_for(o.id)}
        self.checks = CheckRunPlanner(framework, links, scoring, seed, as_of)

    def next_id(self, table: str) -> int:
        self.last_id[table] += 1
        return self.last_id[table]

    def take(self) -> DemoEstate:
        """The rows made since the last take; the builder goes on with ids after them."""
        part, self.estate = self.estate, DemoEstate()
        return part

    def _moment(self, months_ago: int) -> datetime:
        first = months_before(self.as_of, months_ago + 1)
        day = self.rng.randint(1, 28)
        seconds = self.rng.randint(8 * 3600, 18 * 3600)
        clock = time(seconds // 3600, (seconds // 60) % 60, seconds % 60)
        return datetime.combine(first.replace(day=day), clock, tzinfo=UTC)

    def add_org(self, slug: str, name: str, kind: str, region: str | None, when: datetime) -> int:
        org_id = self.next_id("organisations")
        self.estate.organisations.append(
            {
                "id": org_id,
                "slug": slug,
                "name": name,
                "kind": kind,
                "region": region,
                "description": "",
                "created_at": when,
            }
        )
        return org_id

    def add_user(self, email: str, name: str, org_id: int, role: str, when: datetime) -> int:
        user_id = self.next_id("users")
        self.estate.users.append(
            {
                "id": user_id,
                "email": email,
                "display_name": name,
                "password_hash": None,
                "is_active": True,
                "failed_logins": 0,
                "created_at": when,
            }
        )
        self.estate.memberships.append(
            {
                "id": self.next_id("memberships"),
                "user_id": user_id,
                "organisation_id": org_id,
                "role": role,
                "created_at": when,
            }
        )
        return user_id

    def in_scope(self, profile_id: str) -> list[Outcome]:
        if profile_id not in self.scope_cache:
            profile = self.profiles[profile_id]
            self.scope_cache[profile_id] = [
                o for o in self.framework.outcomes() if profile.target_for(o) is not None
            ]
        return self.scope_cache[profile_id]

    def answer(self, outcome: Outcome, maturity: float, has_api: bool) -> tuple[list[str], bool]:
        if not has_api and outcome.id.startswith("B4."):
            return [], True
        level = maturity - self.difficulty[outcome.id] + self.rng.gauss(0, 0.12)
        indicators = outcome.indicators
        if level > 0.72:
            met = [i.id for i in indicators.partially_achieved + indicators.achieved]
        elif level > 0.42:
            achieved_ids = [i.id for i in indicators.achieved]
            partial_extra = achieved_ids[: self.rng.randint(0, max(0, len(achieved_ids) - 1))]
            met = [i.id for i in indicators.partially_achieved] + partial_extra
        else:
            met = [self.rng.choice(indicators.not_achieved).id]
        return met, False

    def provenance(self, outcome: Outcome, accepted: bool) -> str:
        roll = self.rng.random()
        if accepted and roll < 0.35:
            return "independent"
        if outcome.id in self.checked and roll < 0.5:
            return "automated_check"
        return "documentary" if roll < 0.7 else "self_asserted"

    def add_assessment(
        self,
        org_id: int,
        product_id: int | None,
        profile_id: str,
        months_ago: int,
        version: int,
        supersedes: int | None,
        status: str,
        maturity: float,
        has_api: bool,
        author_id: int,
    ) -> int:
        assessment_id = self.next_id("assessments")
        created = self._moment(months_ago)
        self.estate.assessments.append(
            {
                "id": assessment_id,
                "organisation_id": org_id,
                "product_id": product_id,
                "framework_version_id": self.framework_version_id,
                "profile_id": profile_id,
                "status": status,
                "version": version,
                "supersedes_id": supersedes,
                "created_by_user_id": author_id,
                "created_at": created,
                "submitted_at": created,
            }
        )
        accepted = status == "accepted"
        answers: list[Row] = []
        for outcome in self.in_scope(profile_id):
            met, not_applicable = self.answer(outcome, maturity, has_api)
            answers.append(
                {
                    "id": self.next_id("answers"),
                    "assessment_id": assessment_id,
                    "outcome_id": outcome.id,
                    "outcome_urn": self.outcome_urns[outcome.id],
                    "indicators_met": met,
                    "not_applicable": not_applicable,
                    "justification": "The product offers no API." if not_applicable else "",
                    "comment": "",
                    "provenance": self.provenance(outcome, accepted),
                    "review_message": "",
                    "answered_at": created,
                }
            )
        self.estate.answers.extend(answers)
        self.last_answers = answers
        return assessment_id


SUPPLIERS_PER_PART = 1_000  # ~90,000 rows: memory stays flat however large the estate


def stream_estate(
    framework: Framework,
    profiles: dict[str, Profile],
    framework_version_id: int,
    suppliers: int,
    seed: int,
    as_of: date,
    scoring: ScoringPolicy | None = None,
    suppliers_per_part: int = SUPPLIERS_PER_PART,
) -> Iterator[DemoEstate]:
    """The estate in parts of `suppliers_per_part` suppliers (the forces and national bodies
    lead the first), so it can be written without holding it all. The parts are the same rows
    whatever their size: one generator runs through them in order."""
    if scoring is None:
        scoring = load_framework(framework.framework_id, framework.version).scoring
    builder = _Builder(framework, profiles, framework_version_id, seed, as_of, scoring)
    rng = builder.rng
    start = builder._moment(HISTORY_MONTHS)
    bodies = police_bodies()

    for force in bodies["forces"]:
        org_id = builder.add_org(force["slug"], force["name"], "force", force["region"], start)
        user_id = builder.add_user(
            f"security.assessor@{force['slug']}.police.example",
            f"{force['name']} security assessor",
            org_id,
            "force_assessor",
            start,
        )
        # The force's senior information risk owner decides acceptances and exceptions in its
        # risk register. No random draw here, so every later row is the same as without it.
        builder.add_user(
            f"siro@{force['slug']}.police.example",
            f"{force['name']} senior information risk owner",
            org_id,
            "siro",
            start,
        )
        maturity = rng.betavariate(4, 3)
        supersedes = None
        for index in range(FORCE_ASSESSMENTS):
            months_ago = HISTORY_MONTHS - 1 - index * 3
            status = "accepted" if index == FORCE_ASSESSMENTS - 1 else "superseded"
            supersedes = builder.add_assessment(
                org_id,
                None,
                "force-baseline",
                months_ago,
                index + 1,
                supersedes,
                status,
                maturity,
                has_api=True,
                author_id=user_id,
            )
            maturity = min(0.98, maturity + rng.gauss(0.02, 0.03))
        builder.checks.for_force(
            builder.estate.__dict__, (org_id, user_id), force["slug"], builder.last_answers
        )

    for body in bodies["national_bodies"]:
        org_id = builder.add_org(body["slug"], body["name"], "national_body", None, start)
        builder.add_user(
            f"{body['role'].replace('_', '.')}@{body['slug']}.police.example",
            f"{body['name']} {body['role'].replace('_', ' ')}",
            org_id,
            body["role"],
            start,
        )

    for number in range(1, suppliers + 1):
        _add_supplier(builder, number)
        if number % suppliers_per_part == 0 and number < suppliers:
            yield builder.take()
    yield builder.take()


def _add_supplier(builder: _Builder, number: int) -> None:
    rng = builder.rng
    catalogue = demo_data("catalogue.yaml")
    parts = catalogue["supplier_name_parts"]
    categories = sorted(catalogue["categories"])
    name = (
        f"{rng.choice(parts['first'])} {rng.choice(parts['second'])} "
        f"{rng.choice(parts['third'])} Ltd"
    )
    slug = f"supplier-{number:05d}"
    joined_ago = rng.randint(12, HISTORY_MONTHS)
    joined = builder._moment(joined_ago)
    org_id = builder.add_org(slug, name, "supplier", None, joined)
    user_id = builder.add_user(
        f"admin@{slug}.supplier.example",
        f"{name} administrator",
        org_id,
        "supplier_admin",
        joined,
    )
    category = rng.choice(categories)
    deployment = rng.choice(catalogue["deployment_models"])
    product_id = builder.next_id("products")
    has_api = category != "body_worn_video" or rng.random() < 0.3
    facts = demo_product_facts(builder.seed, product_id, category, deployment)
    builder.estate.products.append(
        {
            "id": product_id,
            "organisation_id": org_id,
            "name": f"{name.split()[0]} {rng.choice(catalogue['categories'][category])}",
            "category": category,
            "deployment_model": deployment,
            "description": f"{category.replace('_', ' ').capitalize()} product ({deployment}).",
            "created_at": joined,
            "updated_at": joined,
            **product_columns(facts),
        }
    )
    profile_id = derived_profile(facts)
    maturity = rng.betavariate(2.5, 2)
    months_ago = rng.randint(6, min(joined_ago, HISTORY_MONTHS - 1))
    supersedes, version = None, 1
    while True:
        next_ago = months_ago - rng.randint(4, 9)
        last = next_ago < 0
        status = rng.choice(["submitted", "accepted"]) if last else "superseded"
        supersedes = builder.add_assessment(
            org_id,
            product_id,
            profile_id,
            months_ago,
            version,
            supersedes,
            status,
            maturity,
            has_api,
            user_id,
        )
        if last:
            break
        months_ago, version = next_ago, version + 1
        # Most suppliers improve; a few regress, which the regression views must catch.
        maturity = min(0.98, max(0.02, maturity + rng.gauss(0.05, 0.08)))
    builder.checks.for_product(
        builder.estate.__dict__,
        (org_id, product_id, user_id),
        slug,
        deployment == "on_premises",
        has_api,
        builder.last_answers,
    )


def build_estate(
    framework: Framework,
    profiles: dict[str, Profile],
    framework_version_id: int,
    suppliers: int,
    seed: int,
    as_of: date,
    scoring: ScoringPolicy | None = None,
) -> DemoEstate:
    """The whole estate in memory: for small estates and tests; seeding streams it."""
    estate = DemoEstate()
    for part in stream_estate(
        framework, profiles, framework_version_id, suppliers, seed, as_of, scoring
    ):
        estate.extend(part)
    return estate
