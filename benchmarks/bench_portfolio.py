"""Forces' portfolios on the demo estate at 2,000 and 10,000 suppliers: the national
concentration view, each force's supply chain as its score reads it, one force's spreadsheet
round trip, and the blast radius of a snapshot run's band changes.

World, per size: the demo estate as `assure demo seed` makes it, with two snapshot runs a month
apart (bench_pages.prepare_estate), so band-change alerts exist; then every force (43) deploys
--per-force products. They are drawn from a pool of four times as many products: the products
whose band changed in the newest run first (up to a quarter of the pool), then the first live
products by id (those neither listed nor accepted are listed first, on one lot, in bulk); each
force by a generator seeded with its number, weighted towards the head of the pool so that a
few products, their suppliers and the fourth parties behind them are relied on by most forces;
every force runs the pool's first product. The deployments are written in bulk (core inserts,
dated before the newest run so a score as of its day reads them) with criticality tiers from
portfolio.yaml, classifications, contracts, owners and up to three sub-suppliers from a pool of
--fourth-parties names. Preparing is not timed (seeding 10,000 suppliers takes minutes);
--keep keeps each prepared estate in a folder and reuses it.

Measured in this process, each path --repeat times after one untimed run (median, p95, the
median CPU and the SQL statements one run sends):

- concentration: `concentration` as a national assessor, the whole national view, against the
  dashboards page's league table read (`product_standings` for the latest two runs, what the
  page's estate view reads first; baseline);
- supply_chain: `supply_chains` for all 43 forces as of the newest run's day, and
  `score_estate` whole (which reads them), with the supply chain's share of the scoring time;
- round_trip: the demo force's assessor exports its portfolio (`export_rows`, as CSV through
  `posture.exports.to_csv`) and imports that file back (`import_deployments`), in a transaction
  rolled back after timing so every run imports the same file into the same portfolio; against
  reading the force's `deployment_standings` (baseline);
- blast_radius: `relay_to_deployers` for every product band-change alert of the newest run,
  rolled back after timing, and how many copies it made.

The per-force work is the same at every size (43 forces, --per-force deployments each), so it
should not grow with the estate around it: `growth` puts each path's figures at the smallest
and largest size side by side, with the supply chain per force; `grows` names the per-force
paths (the supply chain and the round trip) whose CPU is more than 1.5x at the largest size
(CPU: on a shared machine the wall ratio also measures the neighbours) or that send more
statements there.

    python -m benchmarks.bench_portfolio [--suppliers 2000 10000] [--repeat 5]
        [--per-force 300] [--fourth-parties 200] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import func, insert, inspect, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from benchmarks.bench_pages import RUNS, prepare_estate
from benchmarks.timing import (
    StatementCounter,
    estate_folder,
    growth_report,
    measure_sizes,
    sizes_parser,
)
from benchmarks.timing import timed_in_sessions as _timed
from frameworks.deployment_facts import SecurityClassification
from frameworks.loader import default_framework
from kernel.settings import load_settings
from posture.dashboards import product_standings, snapshot_runs
from posture.exports import to_csv
from posture.identity.accounts import principal_for
from posture.identity.permissions import Principal
from posture.monitoring.changes import BAND_CHANGE
from posture.portfolio.blast_radius import relay_to_deployers
from posture.portfolio.columns import COLUMNS
from posture.portfolio.concentration import concentration
from posture.portfolio.deployments import DEPLOYABLE, deployment_standings
from posture.portfolio.policy import portfolio_policy
from posture.portfolio.transfer import export_rows, import_deployments
from posture.scoring.bands import band_names
from posture.scoring.rules import LEVEL_NAMES
from posture.scoring.service import score_estate
from posture.scoring.supply_chain import supply_chains
from posture.storage import migrate
from posture.storage.base import Base
from posture.storage.engine import build_engine, session_factory, transaction
from posture.storage.models import (
    Alert,
    Deployment,
    Lot,
    LotApplication,
    Membership,
    Organisation,
    PostureSnapshot,
    ProcurementFramework,
    Product,
    User,
)
from posture.storage.models.enums import ListingState, OrgKind, Role, SubjectKind

AS_OF = RUNS[-1]  # the estate's day, as `assure demo seed --as-of` takes it
POOL_PER_DEPLOYMENT = 4  # the pool holds this many products per force's deployment
# The pool's first quarter at most is the newest run's band changes, so relays have work.
CHANGED_SHARE = 4
SUB_SUPPLIERS_MAX = 3
GROWTH_RATIO = 1.5
SEEDED = "seeded.json"
PREPARED = "prepared.json"
LISTING_TITLE = "Benchmark portfolio listing"
# Paths whose work is per force (the same at every size): the ones `grows` judges.
PER_FORCE_PATHS = ("supply_chain.supply_chains", "round_trip.export_and_import")


# --- preparing the estate -----------------------------------------------------------------


def _seeded(folder: Path, suppliers: int) -> dict[str, Any]:
    """The seeded estate in `folder` (seeded now unless a kept one of this size is there)."""
    marker = folder / SEEDED
    if marker.exists():
        kept = json.loads(marker.read_text())
        if kept["suppliers"] != suppliers:
            raise SystemExit(
                f"{folder} holds an estate of {kept['suppliers']} suppliers; not {suppliers}"
            )
        return kept
    if any(folder.iterdir()):
        raise SystemExit(f"{folder} holds something other than a prepared estate")
    started = time.perf_counter()
    logins = prepare_estate(folder, suppliers)
    seeded = {
        "suppliers": suppliers,
        "seed_and_snapshots_seconds": round(time.perf_counter() - started, 1),
        "emails": {role: email for role, (email, _) in logins.items()},
    }
    marker.write_text(json.dumps(seeded))
    return seeded


def _latest_band_changes(session: Session) -> list[Alert]:
    """The newest snapshot run's product band-change alerts (not forces' copies of them)."""
    newest = session.scalar(
        select(func.max(PostureSnapshot.taken_at)).where(
            PostureSnapshot.subject_kind == SubjectKind.PRODUCT
        )
    )
    if newest is None:
        return []
    alerts = session.scalars(
        select(Alert)
        .where(
            Alert.code == BAND_CHANGE,
            Alert.product_id.is_not(None),
            Alert.relayed_from_id.is_(None),
        )
        .order_by(Alert.id)
    ).all()
    # The run is named by its time in each alert's detail; compared as times, not as text.
    newest = newest if newest.tzinfo else newest.replace(tzinfo=UTC)
    return [
        alert
        for alert in alerts
        if "snapshot" in alert.detail and datetime.fromisoformat(alert.detail["snapshot"]) == newest
    ]


def _pool(session: Session, size: int) -> list[int]:
    """`size` live products: the newest run's band changes first, then the first by id."""
    changed = sorted({a.product_id for a in _latest_band_changes(session) if a.product_id})
    live = set(session.scalars(select(Product.id).where(Product.deleted_at.is_(None))))
    head = [p for p in changed if p in live][: max(1, size // CHANGED_SHARE)]
    rest = session.scalars(
        select(Product.id)
        .where(Product.deleted_at.is_(None), Product.id.not_in(head))
        .order_by(Product.id)
        .limit(size - len(head))
    ).all()
    return [*head, *rest]


def _list_undeployable(session: Session, pool: list[int]) -> int:
    """List, on one lot in bulk, the pool's products a force may not deploy yet (neither listed
    nor accepted), as an officer's listing decision leaves them; how many were listed."""
    deployable = set(session.scalars(select(Product.id).where(Product.id.in_(pool), DEPLOYABLE)))
    missing = [p for p in pool if p not in deployable]
    if not missing:
        return 0
    officer_home = session.scalar(
        select(Membership.organisation_id)
        .where(Membership.role == Role.PROCUREMENT_OFFICER)
        .order_by(Membership.organisation_id)
        .limit(1)
    )
    if officer_home is None:
        raise SystemExit("the estate has no procurement officer to list products")
    framework_id = session.scalar(
        insert(ProcurementFramework)
        .values(organisation_id=officer_home, title=LISTING_TITLE, description="")
        .returning(ProcurementFramework.id)
    )
    lot_id = session.scalar(
        insert(Lot)
        .values(framework_id=framework_id, key="all", title="All products", gates={})
        .returning(Lot.id)
    )
    owners = dict(
        session.execute(
            select(Product.id, Product.organisation_id).where(Product.id.in_(missing))
        ).all()
    )
    decided = datetime.combine(RUNS[0], datetime.min.time(), tzinfo=UTC)
    session.execute(
        insert(LotApplication),
        [
            {
                "lot_id": lot_id,
                "product_id": product_id,
                "organisation_id": owners[product_id],
                "status": ListingState.LISTED.value,
                "eligible": True,
                "eligibility": [],
                "note": "",
                "applied_at": decided,
                "decided_at": decided,
            }
            for product_id in missing
        ],
    )
    return len(missing)


def _fourth_parties(count: int) -> list[str]:
    kinds = ("Cloud", "Hosting", "Identity", "Analytics", "Payments", "Support", "Mapping")
    return [f"Fourth party {n:03d} {kinds[n % len(kinds)]} Ltd" for n in range(count)]


def _choose(rng: random.Random, pool: list[int], wanted: int) -> list[int]:
    """`wanted` of the pool without replacement, weighted towards its head (1/sqrt(rank)), so
    a few products are relied on by most forces; the pool's first product always."""
    keyed = sorted(
        range(1, len(pool)),
        key=lambda rank: rng.random() ** math.sqrt(rank + 1),
        reverse=True,
    )
    return [pool[0], *(pool[rank] for rank in keyed[: wanted - 1])]


def add_deployments(session: Session, per_force: int, fourth_parties: int) -> dict[str, Any]:
    """Every force deploys `per_force` products of the pool, written in bulk."""
    forces = session.scalars(
        select(Organisation.id).where(Organisation.kind == OrgKind.FORCE).order_by(Organisation.id)
    ).all()
    pool = _pool(session, per_force * POOL_PER_DEPLOYMENT)
    if len(pool) < per_force:
        raise SystemExit(f"the estate has {len(pool)} live products; a force deploys {per_force}")
    listed = _list_undeployable(session, pool)
    tiers = portfolio_policy().tier_ids()
    classifications = [None, *SecurityClassification]
    names = _fourth_parties(fourth_parties)
    # Dated before the newest run's day, so a score as of that day reads them.
    created = datetime.combine(RUNS[0], datetime.min.time(), tzinfo=UTC)
    rows = []
    for number, force_id in enumerate(forces):
        rng = random.Random(number)
        for product_id in _choose(rng, pool, per_force):
            classification = rng.choice(classifications)
            start = date(2024, 1, 1) + timedelta(days=rng.randrange(900))
            # Fourth parties concentrate as products do: a Pareto draw favours the first names.
            drawn = (
                int(rng.paretovariate(1.2)) for _ in range(rng.randrange(SUB_SUPPLIERS_MAX + 1))
            )
            subs = {names[min(rank, len(names)) - 1] for rank in drawn}
            rows.append(
                {
                    "organisation_id": force_id,
                    "product_id": product_id,
                    "created_at": created,
                    "classification": classification.value if classification else None,
                    "sensitive_caveat": classification is SecurityClassification.OFFICIAL
                    and rng.random() < 0.3,
                    "police_networks": [],
                    "national_systems": [],
                    "records_held": None,
                    "product_version": f"{rng.randrange(1, 9)}.{rng.randrange(20)}",
                    # One in ten left undeclared: weighed as the most critical.
                    "criticality": None if rng.random() < 0.1 else rng.choice(tiers),
                    "internet_facing": rng.random() < 0.4,
                    "contract_start": start,
                    "contract_end": start + timedelta(days=365 * rng.randrange(1, 5)),
                    "renewal_notice_days": rng.choice((30, 60, 90, 180)),
                    "owner": f"Head of digital {number % 7}",
                    "sub_suppliers": sorted(subs),
                }
            )
    session.execute(insert(Deployment), rows)
    return {
        "forces": len(forces),
        "deployments": len(rows),
        "pool": len(pool),
        "listed_for_the_benchmark": listed,
        "fourth_parties_named": len({n for row in rows for n in row["sub_suppliers"]}),
    }


def _missing_columns(engine: Engine) -> list[str]:
    """Columns the models have and the database does not, as table.column."""
    found = inspect(engine)
    tables = set(found.get_table_names())
    missing = []
    for table in Base.metadata.sorted_tables:
        have = {c["name"] for c in found.get_columns(table.name)} if table.name in tables else set()
        missing += [f"{table.name}.{c.name}" for c in table.columns if c.name not in have]
    return missing


def prepare(folder: Path, suppliers: int, per_force: int, fourth_parties: int) -> dict[str, Any]:
    """The estate in `folder`, made or (when --keep made it before, the same way) reused."""
    marker = folder / PREPARED
    wanted = {"suppliers": suppliers, "per_force": per_force, "fourth_parties": fourth_parties}
    if marker.exists():
        kept = json.loads(marker.read_text())
        if kept["made_with"] != wanted:
            raise SystemExit(
                f"{folder} holds an estate made with {kept['made_with']}; not {wanted}"
            )
    seeded = _seeded(folder, suppliers)
    engine = build_engine(load_settings({"ASSURE_DATA_DIR": str(folder)}))
    try:
        # A kept estate outlives releases: bring its schema up as `assure db upgrade` does.
        migrate.upgrade(engine)
        missing = _missing_columns(engine)
        if missing:
            raise SystemExit(
                f"{folder} lacks {', '.join(missing)} though its migrations are current (a "
                "migration was edited after it ran); delete the folder to seed it again"
            )
        if marker.exists():
            return json.loads(marker.read_text()) | {"reused": True}
        started = time.perf_counter()
        with transaction(session_factory(engine)) as session:
            added = add_deployments(session, per_force, fourth_parties)
        prepared = {
            "made_with": wanted,
            "seed_and_snapshots_seconds": seeded["seed_and_snapshots_seconds"],
            "deployments_seconds": round(time.perf_counter() - started, 1),
            "emails": seeded["emails"],
            **added,
        }
    finally:
        engine.dispose()
    marker.write_text(json.dumps(prepared))
    return prepared | {"reused": False}


# --- measuring ----------------------------------------------------------------------------


def _principal(sessions: sessionmaker[Session], email: str) -> Principal:
    with sessions() as session:
        user = session.scalars(select(User).where(User.email == email)).one()
        return principal_for(session, user)


def _concentration(
    sessions: sessionmaker[Session], national: Principal, repeat: int, counter: StatementCounter
) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    figures["baseline_league_table"], standings = _timed(
        sessions,
        lambda s, _: product_standings(s, national, snapshot_runs(s, national)),
        repeat,
        counter,
    )
    figures["league_table_rows"] = len(standings)
    figures["national_view"], view = _timed(
        sessions, lambda s, _: concentration(s, national, band_names()), repeat, counter
    )
    figures["products"] = len(view.products)
    figures["suppliers"] = len(view.suppliers)
    figures["fourth_parties"] = len(view.fourth_parties)
    figures["most_forces_on_one_product"] = int(view.products["forces"].max())
    return figures


def _supply_chain(
    sessions: sessionmaker[Session], force_ids: list[int], repeat: int, counter: StatementCounter
) -> dict[str, Any]:
    loaded = default_framework()
    figures: dict[str, Any] = {"forces": len(force_ids)}
    figures["supply_chains"], chains = _timed(
        sessions, lambda s, _: supply_chains(s, loaded, force_ids, AS_OF), repeat, counter
    )
    figures["deployments_read"] = sum(len(chain.deployments) for chain in chains.values())
    levels = Counter(
        "none recorded" if chain.level is None else LEVEL_NAMES[chain.level]
        for chain in chains.values()
    )
    figures["forces_by_level"] = dict(sorted(levels.items()))
    figures["supply_chains_per_force_cpu_seconds"] = round(
        figures["supply_chains"]["median_cpu_seconds"] / max(len(force_ids), 1), 6
    )
    figures["score_estate"], scores = _timed(
        sessions, lambda s, _: score_estate(s, AS_OF), repeat, counter
    )
    figures["subjects_scored"] = len(scores.subjects)
    figures["supply_chain_share_of_scoring"] = round(
        figures["supply_chains"]["median_seconds"]
        / max(figures["score_estate"]["median_seconds"], 1e-6),
        4,
    )
    figures["supply_chain_share_of_scoring_cpu"] = round(
        figures["supply_chains"]["median_cpu_seconds"]
        / max(figures["score_estate"]["median_cpu_seconds"], 1e-6),
        4,
    )
    return figures


def _round_trip(
    sessions: sessionmaker[Session],
    assessor: Principal,
    force_id: int,
    repeat: int,
    counter: StatementCounter,
) -> dict[str, Any]:
    def export(session: Session) -> bytes:
        rows = export_rows(session, assessor, force_id)
        return to_csv(pd.DataFrame(rows, columns=list(COLUMNS))).encode("utf-8")

    def both(session: Session, _: Any) -> tuple[int, Any]:
        data = export(session)
        return len(data), import_deployments(session, assessor, force_id, data)

    figures: dict[str, Any] = {"force_id": force_id}
    figures["baseline_deployment_standings"], standings = _timed(
        sessions, lambda s, _: deployment_standings(s, assessor, force_id), repeat, counter
    )
    figures["deployments"] = len(standings)
    figures["export"], data = _timed(sessions, lambda s, _: export(s), repeat, counter)
    figures["csv_bytes"] = len(data)
    figures["import_of_the_export"], report = _timed(
        sessions,
        lambda s, data: import_deployments(s, assessor, force_id, data),
        repeat,
        counter,
        before=export,
        rollback=True,
    )
    figures["export_and_import"], (_, both_report) = _timed(
        sessions, both, repeat, counter, rollback=True
    )
    figures["imported"] = {
        "deployed": len(report.deployed),
        "changed": len(report.changed),
        "unchanged": len(report.unchanged),
    }
    assert both_report.rows == report.rows
    return figures


def _blast_radius(
    sessions: sessionmaker[Session], repeat: int, counter: StatementCounter
) -> dict[str, Any]:
    figures: dict[str, Any] = {}

    def forces_reached(session: Session, ids: list[int]) -> tuple[int, int]:
        if not ids:
            return 0, 0
        reached = session.scalar(
            select(func.count(Alert.organisation_id.distinct())).where(Alert.id.in_(ids))
        )
        return len(ids), reached or 0

    figures["relay_to_deployers"], (copies, reached) = _timed(
        sessions,
        lambda s, alerts: relay_to_deployers(s, alerts),
        repeat,
        counter,
        before=_latest_band_changes,
        rollback=True,
        after=forces_reached,
    )
    with sessions() as session:
        figures["alerts"] = len(_latest_band_changes(session))
    figures["copies"] = copies
    figures["forces_reached"] = reached
    return figures


def measure(suppliers: int, args: argparse.Namespace, counter: StatementCounter) -> dict[str, Any]:
    with estate_folder(args.keep, f"portfolio-{suppliers}") as folder:
        prepared = prepare(folder, suppliers, args.per_force, args.fourth_parties)
        engine = build_engine(load_settings({"ASSURE_DATA_DIR": str(folder)}))
        try:
            sessions = session_factory(engine)
            emails = prepared["emails"]
            national = _principal(sessions, emails["national_assessor"])
            assessor = _principal(sessions, emails["force_assessor"])
            (force_id,) = assessor.organisation_ids()
            with sessions() as session:
                force_ids = list(
                    session.scalars(
                        select(Organisation.id)
                        .where(Organisation.kind == OrgKind.FORCE)
                        .order_by(Organisation.id)
                    )
                )
            return {
                "suppliers": suppliers,
                "prepare": {k: v for k, v in prepared.items() if k != "emails"},
                "concentration": _concentration(sessions, national, args.repeat, counter),
                "supply_chain": _supply_chain(sessions, force_ids, args.repeat, counter),
                "round_trip": _round_trip(sessions, assessor, force_id, args.repeat, counter),
                "blast_radius": _blast_radius(sessions, args.repeat, counter),
            }
        finally:
            engine.dispose()


SECTIONS = ("concentration", "supply_chain", "round_trip", "blast_radius")


def _growth(estates: list[dict[str, Any]]) -> dict[str, Any]:
    """Each timed path at the smallest and the largest size, side by side."""
    if len(estates) < 2:
        return {}
    small, large = estates[0], estates[-1]
    growth: dict[str, Any] = {}
    for where in SECTIONS:
        for name, figure in large[where].items():
            if not isinstance(figure, dict) or "median_seconds" not in figure:
                continue
            before = small[where][name]
            growth[f"{where}.{name}"] = {
                "suppliers": [small["suppliers"], large["suppliers"]],
                "median_seconds": [before["median_seconds"], figure["median_seconds"]],
                "ratio": round(figure["median_seconds"] / max(before["median_seconds"], 1e-6), 2),
                # This process's CPU: on a shared machine the wall ratio also measures the load.
                "median_cpu_seconds": [before["median_cpu_seconds"], figure["median_cpu_seconds"]],
                "cpu_ratio": round(
                    figure["median_cpu_seconds"] / max(before["median_cpu_seconds"], 1e-6), 2
                ),
                "statements": [before["statements"], figure["statements"]],
            }
    key = "supply_chains_per_force_cpu_seconds"
    growth["supply_chain.per_force_cpu_seconds"] = {
        "suppliers": [small["suppliers"], large["suppliers"]],
        "median_cpu_seconds": [small["supply_chain"][key], large["supply_chain"][key]],
        "cpu_ratio": round(large["supply_chain"][key] / max(small["supply_chain"][key], 1e-9), 2),
    }
    return growth


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = sizes_parser(__doc__)
    parser.add_argument("--per-force", type=int, default=300)
    parser.add_argument("--fourth-parties", type=int, default=200)
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.per_force < 1 or args.fourth_parties < 1:
        parser.error("--repeat, --per-force and --fourth-parties must be at least 1")
    estates = measure_sizes(args.suppliers, lambda size, counter: measure(size, args, counter))
    return growth_report(
        "portfolio",
        estates,
        _growth(estates),
        GROWTH_RATIO,
        judged=PER_FORCE_PATHS,
        repeat=args.repeat,
        per_force=args.per_force,
    )


if __name__ == "__main__":
    main()
