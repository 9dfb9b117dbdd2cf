"""Assurance passports on the demo estate at 2,000 and 10,000 suppliers: what accepting a
product's assessment adds (issuing its passport), what every check run adds (looking for a
passport it contradicts), a force relying on a passport, verifying one over the public API, and
the signed revocation list when every product's passport of the year has ended.

World, per size: the demo estate as `assure demo seed` makes it (seed 2026), with its accepted
product assessments. One product, the first whose current assessment is accepted, is the
subject; the demo's first force deploys it. Then the revocation list is filled: one ended
(suspended) passport row per live product of the estate, the most a year can hold. Preparing is
not timed; --keep keeps each prepared estate in a folder and reuses it.

Measured in this process, each path --repeat times after one untimed run (median, p95, median
CPU, SQL statements of one run):

- issue: `issue_passport` for the subject's accepted assessment (the work the accepting
  decision adds), rolled back after each run; against `product_score`, the product's score as
  its page reads it (baseline: issuing scores the product once, then signs);
- check_run: `after_check_run` for a run on the subject with a live passport (rolled back), and
  for a run on a product with none (what every other check run pays);
- rely: `rely_on_passport` for the force's deployment (rolled back); against
  `deployment_standings`, the force's deployments as its register reads them (baseline);
- verify: `POST /v1/passport-verifications` with the signed file, through the API app in this
  process (FastAPI's test client: the whole HTTP path but the socket); against
  `GET /v1/passport-keys` (baseline: the same path with no database and no signature check);
- revocation_list: building and signing the list (entries, bytes), and verifying the subject's
  passport offline against it, as a relying party's `assure passport verify` does.

Issuing, the check-run hook, reliance and verification are per subject: `growth` puts their CPU
and statements at the smallest and largest size side by side, and `grows` names those whose CPU
is more than 1.5x at the largest size or that send more statements there. The revocation list
grows with the estate by design (one entry per ended passport); its bytes per entry are shown.

    python -m benchmarks.bench_passport [--suppliers 2000 10000] [--repeat 5] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import secrets
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from benchmarks.timing import (
    StatementCounter,
    estate_folder,
    growth_report,
    measure_sizes,
    sizes_parser,
    timed_in_sessions,
)
from checks.report import CheckReport, ReportStatus
from kernel.settings import Settings, load_settings
from partner_api.app import create_app
from posture.audit import SYSTEM, Actor
from posture.check_runs import record_check_run
from posture.demo.seed import seed_demo
from posture.identity.accounts import principal_for
from posture.identity.permissions import Principal
from posture.passport.document import verify_offline
from posture.passport.issue import issue_passport
from posture.passport.policy import passport_policy
from posture.passport.registry import revocation_list
from posture.passport.reliance import rely_on_passport
from posture.passport.watch import after_check_run
from posture.platform_keys import platform_keys
from posture.portfolio.deployments import ASSESSED, deploy_product, deployment_standings
from posture.scoring.service import product_score
from posture.storage import migrate
from posture.storage.engine import build_engine, session_factory, transaction
from posture.storage.models import Assessment, Passport, Product, User
from posture.storage.models.enums import AssessmentStatus, PassportStatus, Role
from supplier_portal.demo_listing import list_products

AS_OF = date(2026, 11, 1)
GROWTH_RATIO = 1.5
PREPARED = "prepared.json"
PER_SUBJECT = ("issue.issue_passport", "check_run.with_passport", "rely.rely_on_passport",
               "verify.post_verification")  # fmt: skip


def _current_accepted(session: Session) -> tuple[int, int]:
    """(product, assessment): the first product whose newest submitted-or-later assessment is
    accepted."""
    newest = (
        select(Assessment.product_id, func.max(Assessment.version).label("version"))
        .where(Assessment.product_id.is_not(None), Assessment.status.in_(ASSESSED))
        .group_by(Assessment.product_id)
        .subquery()
    )
    row = session.execute(
        select(Assessment.product_id, Assessment.id)
        .join(
            newest,
            (newest.c.product_id == Assessment.product_id)
            & (newest.c.version == Assessment.version),
        )
        .where(Assessment.status == AssessmentStatus.ACCEPTED)
        .order_by(Assessment.product_id)
        .limit(1)
    ).first()
    if row is None:
        raise SystemExit("the estate has no product whose current assessment is accepted")
    return row[0], row[1]


def _person(session: Session, role: Role) -> Principal:
    """The demo estate's first user holding `role`, as a principal."""
    from posture.storage.models import Membership

    user = session.scalars(
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.role == role)
        .order_by(User.id)
    ).first()
    if user is None:
        raise SystemExit(f"the estate has no {role.value}")
    return principal_for(session, user)


def prepare(folder: Path, suppliers: int) -> dict[str, Any]:
    """Seed (unless kept), issue the subject's passport, deploy it for the first force, and
    fill the revocation list; what was made, by id."""
    marker = folder / PREPARED
    if marker.exists():
        kept = json.loads(marker.read_text())
        if kept["suppliers"] != suppliers:
            raise SystemExit(f"{folder} holds an estate of {kept['suppliers']} suppliers")
        return kept
    if any(folder.iterdir()):
        raise SystemExit(f"{folder} holds something other than a prepared estate")
    settings = load_settings({"ASSURE_DATA_DIR": str(folder)})
    engine = build_engine(settings)
    migrate.upgrade(engine)
    sessions = session_factory(engine)
    started = time.perf_counter()
    with transaction(sessions) as session:
        seed_demo(session, suppliers, 2026, AS_OF, True)
    seeded = round(time.perf_counter() - started, 1)
    keys = platform_keys(settings)
    with transaction(sessions) as session:
        product_id, assessment_id = _current_accepted(session)
        passport = issue_passport(session, Actor("benchmark"), keys, assessment_id)
        force = _person(session, Role.FORCE_ASSESSOR)
        (force_id,) = force.organisation_ids()
        list_products(session, [product_id], AS_OF)
        deploy_product(session, force, force_id, product_id)
        other = session.scalar(
            select(Product.id)
            .where(Product.id != product_id, Product.deleted_at.is_(None))
            .order_by(Product.id)
            .limit(1)
        )
        ended = _fill_revocations(session, passport)
    prepared = {
        "suppliers": suppliers,
        "seed_seconds": seeded,
        "product_id": product_id,
        "assessment_id": assessment_id,
        "other_product_id": other,
        "force_user_id": force.user_id,
        "number": passport.number,
        "ended_passports": ended,
    }
    engine.dispose()
    marker.write_text(json.dumps(prepared))
    return prepared


def _fill_revocations(session: Session, passport: Passport) -> int:
    """One suspended passport per live product: the list a year of ended passports makes."""
    products = session.execute(
        select(Product.id, Product.organisation_id).where(Product.deleted_at.is_(None))
    ).all()
    now = datetime.now(UTC)
    rows = [
        {
            "number": "PP-" + secrets.token_hex(8).upper(),
            "product_id": product_id,
            "organisation_id": organisation_id,
            "assessment_id": passport.assessment_id,
            "issued_at": now,
            "expires_at": now + timedelta(days=365),
            "status": PassportStatus.SUSPENDED,
            "status_reason": "contradicted",
            "status_detail": {},
            "status_changed_at": now,
            "document": passport.document,
            "sha256": passport.sha256,
        }
        for product_id, organisation_id in products
    ]
    session.execute(insert(Passport), rows)
    return len(rows)


def _report(kind: str, target: str) -> CheckReport:
    moment = datetime.now(UTC)
    return CheckReport(
        kind=kind, target=target, started_at=moment, finished_at=moment,
        status=ReportStatus.COMPLETED, score=90.0,
    )  # fmt: skip


def measure(suppliers: int, args: argparse.Namespace, counter: StatementCounter) -> dict:
    with estate_folder(args.keep, f"passport-{suppliers}") as folder:
        prepared = prepare(folder, suppliers)
        settings = load_settings({"ASSURE_DATA_DIR": str(folder)})
        engine = build_engine(settings)
        try:
            return {"suppliers": suppliers, **_paths(settings, engine, prepared, args, counter)}
        finally:
            engine.dispose()


def _paths(
    settings: Settings, engine: Any, prepared: dict, args: argparse.Namespace,
    counter: StatementCounter,
) -> dict[str, Any]:  # fmt: skip
    sessions: sessionmaker[Session] = session_factory(engine)
    keys = platform_keys(settings)
    repeat = args.repeat
    product_id, other_id = prepared["product_id"], prepared["other_product_id"]
    with sessions() as session:
        national = _person(session, Role.NATIONAL_ASSESSOR)
        force_user = session.get(User, prepared["force_user_id"])
        assert force_user is not None
        force = principal_for(session, force_user)
        document = session.scalars(
            select(Passport.document).where(Passport.number == prepared["number"])
        ).one()
    (force_id,) = force.organisation_ids()
    today = datetime.now(UTC).date()
    figures: dict[str, Any] = {"prepared": prepared}

    issue, _ = timed_in_sessions(
        sessions,
        lambda s, _: issue_passport(s, Actor("benchmark"), keys, prepared["assessment_id"]),
        repeat, counter, rollback=True,
    )  # fmt: skip
    score, _ = timed_in_sessions(
        sessions, lambda s, _: product_score(s, national, product_id, today), repeat, counter
    )
    figures["issue"] = {"issue_passport": issue, "baseline_product_score": score}

    def run_on(target_product: int) -> Any:
        def before(session: Session) -> Any:
            product = session.get(Product, target_product)
            assert product is not None
            return record_check_run(
                session, SYSTEM, _report("tls", "bench.example:443"),
                product.organisation_id, product.id,
            )  # fmt: skip

        return before

    with_passport, _ = timed_in_sessions(
        sessions, lambda s, run: after_check_run(s, run), repeat, counter,
        before=run_on(product_id), rollback=True,
    )  # fmt: skip
    without, _ = timed_in_sessions(
        sessions, lambda s, run: after_check_run(s, run), repeat, counter,
        before=run_on(other_id), rollback=True,
    )  # fmt: skip
    figures["check_run"] = {"with_passport": with_passport, "without_passport": without}

    rely, _ = timed_in_sessions(
        sessions,
        lambda s, _: rely_on_passport(s, force, force_id, product_id, prepared["number"]),
        repeat, counter, rollback=True,
    )  # fmt: skip
    standings, _ = timed_in_sessions(
        sessions, lambda s, _: deployment_standings(s, force, force_id), repeat, counter
    )
    figures["rely"] = {"rely_on_passport": rely, "baseline_deployment_standings": standings}

    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:

        def post(_: Session, __: Any) -> int:
            answer = client.post("/v1/passport-verifications", content=document)
            assert answer.json()["valid"], answer.text
            return answer.status_code

        verify, _ = timed_in_sessions(sessions, post, repeat, counter)
        keys_only, _ = timed_in_sessions(
            sessions, lambda _s, _g: client.get("/v1/passport-keys").status_code, repeat, counter
        )
    figures["verify"] = {"post_verification": verify, "baseline_get_keys": keys_only}

    listed, data = timed_in_sessions(
        sessions, lambda s, _: revocation_list(s, keys), repeat, counter
    )
    policy = passport_policy()
    offline, verdict = timed_in_sessions(
        sessions,
        lambda _s, _g: verify_offline(
            document, keys.public(), data, datetime.now(UTC),
            policy.max_document_bytes, policy.max_revocation_list_bytes,
        ),
        repeat, counter,
    )  # fmt: skip
    assert verdict.valid, verdict.reasons
    entries = len(json.loads(data)["revocations"]["entries"])
    figures["revocation_list"] = {
        "build_and_sign": listed,
        "verify_offline_against_it": offline,
        "entries": entries,
        "bytes": len(data),
        "bytes_per_entry": round(len(data) / max(entries, 1), 1),
    }
    return figures


def _growth(estates: list[dict]) -> dict[str, Any]:
    if len(estates) < 2:
        return {}
    first, last = estates[0], estates[-1]
    growth = {}
    for name in PER_SUBJECT:
        section, path = name.split(".")
        small, large = first[section][path], last[section][path]
        growth[name] = {
            "suppliers": [first["suppliers"], last["suppliers"]],
            "median_cpu_seconds": [small["median_cpu_seconds"], large["median_cpu_seconds"]],
            "cpu_ratio": round(
                large["median_cpu_seconds"] / max(small["median_cpu_seconds"], 1e-6), 2
            ),
            "statements": [small["statements"], large["statements"]],
        }
    return growth


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = sizes_parser(__doc__)
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    estates = measure_sizes(args.suppliers, lambda size, counter: measure(size, args, counter))
    return growth_report("passport", estates, _growth(estates), GROWTH_RATIO, repeat=args.repeat)


if __name__ == "__main__":
    main()
