"""The post-quantum view is counted in the database: on each backend its counts match a plain
reading of the runs (latest finished run of each post-quantum kind per product, ties broken by
id), whatever mix of kinds, statuses, superseded runs and milestone words the estate holds, and
a viewer narrowed to some organisations never has another organisation's runs counted."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, insert
from sqlalchemy.orm import Session, sessionmaker

from checks.catalogue import post_quantum_kinds
from posture.dashboard_pqc import MILESTONE_RANKS, READINESS_GROUPS, pqc_migration
from posture.identity.permissions import Membership, Principal
from posture.storage.engine import transaction
from posture.storage.models import CheckRun, CheckRunMilestone, Organisation, Product
from posture.storage.models.enums import Role

START = datetime(2026, 9, 1, 8, tzinfo=UTC)
KINDS = ("tls", "ssh", "cert", "jwks", "cbom", "api")
STATUSES = ("succeeded", "succeeded", "succeeded", "failed", "queued", "running", "cancelled")
# Words a hand-written row might hold besides those checks use.
MILESTONE_WORDS = ("met", "met", "not met", "not assessed", "partly met", "")
MILESTONES = ("ncsc-2028", "ncsc-2031", "ncsc-2035")
NATIONAL = Principal(1, "n@example.police.uk", (Membership(999, Role.NATIONAL_ASSESSOR),))


def _estate(session: Session, rng: random.Random) -> dict[str, Any]:
    """Three suppliers with products, a force with none, and runs of every kind and status."""
    suppliers = []
    for n in range(3):
        organisation = Organisation(slug=f"pq-supplier-{n}", name=f"PQ {n}", kind="supplier")
        session.add(organisation)
        suppliers.append(organisation)
    force = Organisation(slug="pq-force", name="PQ Force", kind="force")
    session.add(force)
    session.flush()
    products = []
    for n in range(30):
        owner = suppliers[n % 3]
        product = Product(
            organisation_id=owner.id,
            name=f"Product {n}",
            category="digital_evidence",
            deployment_model="saas",
        )
        session.add(product)
        products.append(product)
    session.flush()
    runs: list[dict[str, Any]] = []
    for product in products[:26]:  # the last four are never checked
        for _ in range(rng.randint(1, 9)):
            # Few distinct times, so two runs of a kind often finish together.
            finished = START + timedelta(hours=rng.randint(0, 4))
            status = rng.choice(STATUSES)
            score = rng.choice([None, 0.0, 39.9, 40.0, 79.99, 80.0, 100.0, rng.uniform(0, 100)])
            runs.append(
                {
                    "organisation_id": product.organisation_id,
                    "product_id": product.id,
                    "kind": rng.choice(KINDS),
                    "target": "pq.example",
                    "status": status,
                    "score": score,
                    "result": {},
                    "created_at": finished,
                    "finished_at": finished,
                }
            )
    # An organisation-wide run (no product) never counts for a product.
    runs.append({**runs[0], "product_id": None, "score": 0.0, "status": "succeeded"})
    ids = []
    for row in runs:
        run = CheckRun(**row)
        session.add(run)
        session.flush()
        ids.append(run.id)
    marks = []
    for run_id in ids:
        for milestone in rng.sample(MILESTONES, rng.randint(0, 3)):
            marks.append(
                {
                    "check_run_id": run_id,
                    "milestone_id": milestone,
                    "status": rng.choice(MILESTONE_WORDS),
                }
            )
    session.execute(insert(CheckRunMilestone), marks)
    for run_id, row in zip(ids, runs, strict=True):
        row["id"] = run_id
    return {
        "runs": runs,
        "marks": marks,
        "products": {p.id: p.organisation_id for p in products},
        "suppliers": [s.id for s in suppliers],
        "force": force.id,
    }


def _expected(estate: dict[str, Any], visible: set[int] | None) -> tuple[dict, dict]:  # type: ignore[type-arg]
    """The view worked out by hand from the rows, for organisations `visible` (None: all)."""
    in_scope = [
        product
        for product, owner in estate["products"].items()
        if visible is None or owner in visible
    ]
    latest: dict[tuple[int, int, str], dict[str, Any]] = {}
    for run in estate["runs"]:
        if (
            run["status"] not in ("succeeded", "failed")
            or run["product_id"] is None
            or run["kind"] not in post_quantum_kinds()
            or (visible is not None and run["organisation_id"] not in visible)
        ):
            continue
        key = (run["organisation_id"], run["product_id"], run["kind"])
        held = latest.get(key)
        if held is None or (run["finished_at"], run["id"]) > (held["finished_at"], held["id"]):
            latest[key] = run
    weakest: dict[int, list[float | None]] = {}
    for run in latest.values():
        proven = run["score"] if run["status"] == "succeeded" else None
        weakest.setdefault(run["product_id"], []).append(proven)
    groups: Counter[str] = Counter()
    for scores in weakest.values():
        if None in scores:
            groups["not assessable"] += 1
        else:
            low = min(s for s in scores if s is not None)
            groups[next(label for label, floor in READINESS_GROUPS if low >= floor)] += 1
    readiness = {label: groups[label] for label, _ in READINESS_GROUPS}
    readiness["not assessable"] = groups["not assessable"]
    readiness["not checked"] = len(in_scope) - len(weakest)
    judged: dict[tuple[int, str], set[str]] = {}
    runs_by_id = {run["id"]: run for run in latest.values()}
    for mark in estate["marks"]:
        run = runs_by_id.get(mark["check_run_id"])
        if run is None:
            continue
        said = mark["status"] if mark["status"] in ("met", "not met") else "not assessed"
        if run["status"] != "succeeded":
            said = "not assessed"
        judged.setdefault((run["product_id"], mark["milestone_id"]), set()).add(said)
    statuses = Counter(
        (milestone, max(said, key=MILESTONE_RANKS.__getitem__))
        for (_, milestone), said in judged.items()
    )
    return readiness, dict(statuses)


def _view(session: Session, principal: Principal) -> tuple[dict, dict]:  # type: ignore[type-arg]
    readiness, milestones = pqc_migration(session, principal)
    assert readiness["readiness"].tolist() == [
        "ready",
        "migrating",
        "exposed",
        "not assessable",
        "not checked",
    ]
    assert str(readiness["products"].dtype) == "int64"
    rows = list(milestones.itertuples(index=False))
    assert rows == sorted(rows), "milestones are listed by milestone, then status"
    return (
        dict(zip(readiness["readiness"], readiness["products"], strict=True)),
        {(m, s): n for m, s, n in rows},
    )


@pytest.mark.parametrize("seed", [3, 11])
def test_counts_match_a_plain_reading_of_the_runs(
    sessions: sessionmaker[Session], seed: int
) -> None:
    with transaction(sessions) as session:
        estate = _estate(session, random.Random(seed))  # noqa: S311 - a reproducible estate
    with sessions() as session:
        readiness, milestones = _view(session, NATIONAL)
    expected_readiness, expected_milestones = _expected(estate, None)
    assert readiness == expected_readiness
    assert milestones == expected_milestones
    assert sum(readiness.values()) == len(estate["products"])


def test_a_narrowed_viewer_never_has_other_organisations_runs_counted(
    sessions: sessionmaker[Session], own_scope_dashboards: None
) -> None:
    with transaction(sessions) as session:
        estate = _estate(session, random.Random(5))  # noqa: S311 - a reproducible estate
    first, second, third = estate["suppliers"]
    viewers = {
        frozenset({first}): Principal(2, "a@s", (Membership(first, Role.SUPPLIER_ADMIN),)),
        frozenset({first, third}): Principal(
            3,
            "b@s",
            (Membership(first, Role.SUPPLIER_ADMIN), Membership(third, Role.SUPPLIER_ADMIN)),
        ),
        # A force holds no products: nothing of any supplier's is counted for it.
        frozenset({estate["force"]}): Principal(
            4, "f@f", (Membership(estate["force"], Role.FORCE_ASSESSOR),)
        ),
    }
    with sessions() as session:
        for visible, viewer in viewers.items():
            readiness, milestones = _view(session, viewer)
            expected_readiness, expected_milestones = _expected(estate, set(visible))
            assert readiness == expected_readiness, visible
            assert milestones == expected_milestones, visible
        force_view = _view(session, viewers[frozenset({estate["force"]})])
    assert force_view == (dict.fromkeys(force_view[0], 0), {})
    # Narrowing changes the counts (the estate is not one organisation's by accident).
    assert _expected(estate, {first}) != _expected(estate, None)
    assert second not in {org for key in viewers for org in key}


def test_the_ranking_is_read_from_the_index_alone(
    sessions: sessionmaker[Session],
) -> None:
    """SQLite: every check run holds its stored result, so a ranking that read the table would
    read every result; the plan must rank runs from ix_check_runs_latest."""
    engine = sessions.kw["bind"]
    if engine.dialect.name != "sqlite":
        pytest.skip("query plans are compared on SQLite")
    with transaction(sessions) as session:
        _estate(session, random.Random(2))  # noqa: S311 - a reproducible estate
    statements: list[tuple[str, Any]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        with sessions() as session:
            pqc_migration(session, NATIONAL)
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    (ranking,) = [(s, p) for s, p in statements if "row_number" in s]
    with engine.connect() as connection:
        raw = connection.connection.driver_connection
        plan = [row[3] for row in raw.execute(f"EXPLAIN QUERY PLAN {ranking[0]}", ranking[1])]
    assert "SCAN check_runs USING COVERING INDEX ix_check_runs_latest" in plan, plan
    assert not any(step.startswith("SCAN check_runs") and "INDEX" not in step for step in plan)
    assert not any("TEMP B-TREE FOR RIGHT PART OF ORDER BY" in step for step in plan)
