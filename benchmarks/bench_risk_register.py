"""The risk register's user-facing paths on the demo estate at 2,000 and 10,000 suppliers: a
force's register table, its heatmap and the consistency report in the service, the partner API's
reads of the register over a real server process on loopback, and the Streamlit page script.

World, per size: the demo estate as `assure demo seed` makes it (its CAF draft and its risk
register) with two snapshot runs a month apart (bench_pages.prepare_estate), so band-change
alerts exist; then --forces forces each deploy the same products and raise
--scenarios-per-force scenarios on them through the register's services, each resting on up to
three pieces of the product's current evidence (framework gaps, contradicted claims, findings,
alerts), rated at impacts that differ between forces, so the consistency report has
--forces-wide groups to compare. The same products are chosen at every size (the first products
by id with evidence of each kind), so the per-force work is the same and only the estate around
it grows. Preparing is not timed (seeding 10,000 suppliers takes minutes); --keep keeps each
prepared estate in a folder and reuses it.

Measured, each path --repeat times (median, p95 and the SQL statements one run sends):

- service: the demo force's register table as its force assessor (`register_table`, what the
  page calls), the heatmap as the page builds it (`heatmap_counts`, the Altair chart and its
  text alternative: the page's own `_heatmap`, outside a script run), the consistency report as
  a national assessor and as the force's SIRO, one product's scenarios across forces;
- http: GET /v1/risk/scenarios (the force's first page, and the national assessor's unfiltered
  first page), GET /v1/risk/scenarios/{id} (one scenario with live evidence) and
  GET /v1/risk/organisations/{id}/heatmap, against GET /v1/framework answered 304 (baseline);
- page_script: the whole risk register page (AppTest) as the force's assessor and as a national
  assessor who picks the force, against a page that only draws a title (baseline).

Per-force work should not grow with the estate: `growth` puts each path's figures at the
smallest and largest size side by side with their ratio (wall, and CPU for the paths that run
in this process); `slow` names the paths over one second at the largest size, `grows` those more
than 1.5x slower there (by CPU where there is one: on a shared machine the wall ratio also
measures the neighbours, as the baselines' own ratios show) or sending more statements.

    python -m benchmarks.bench_risk_register [--suppliers 2000 10000] [--repeat 5]
        [--forces 20] [--scenarios-per-force 50] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
import time
import urllib.request
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session, sessionmaker

from benchmarks.bench_pages import RUNS, prepare_estate
from benchmarks.timing import StatementCounter, estate_folder, measured, sizes_parser
from frameworks.risk.likelihood import EvidenceKind
from frameworks.risk.policy import risk_policy
from kernel.settings import load_settings
from posture.identity.accounts import principal_for
from posture.identity.permissions import Membership as Held
from posture.identity.permissions import Principal
from posture.identity.tokens import issue_token, known_scopes, signing_key
from posture.portfolio.deployments import deploy_product
from posture.risk.consistency_report import consistency_report
from posture.risk.evidence import EvidenceView, available_evidence
from posture.risk.register_view import heatmap_counts, national_view, register_table
from posture.risk.scenarios import EvidenceRefForm, ScenarioForm, raise_scenario
from posture.storage import migrate
from posture.storage.engine import build_engine, session_factory, transaction
from posture.storage.models import (
    Assessment,
    Membership,
    Organisation,
    Product,
    RiskEvidenceLink,
    RiskScenario,
    User,
)
from posture.storage.models.enums import AssessmentStatus, OrgKind, RiskSubjectKind, Role
from supplier_portal.demo_caf_draft import start_caf_draft
from supplier_portal.demo_risk import seed_risk_register
from tests.peers.processes import free_port, serving

AS_OF = RUNS[-1]  # the estate's day, as `assure demo seed --as-of` takes it
LINKS_PER_SCENARIO = 3
SCAN_LIMIT = 1_000  # products looked at for evidence, in id order
SLOW_SECONDS = 1.0
GROWTH_RATIO = 1.5
PREPARED = "prepared.json"
TITLE_PREFIX = "Benchmark risk "


def _force_principals(session: Session, forces: int) -> list[tuple[Principal, Principal]]:
    """(force assessor, SIRO) of the first `forces` forces by id."""
    rows = session.execute(
        select(Membership.organisation_id, Membership.role, User.id, User.email)
        .join(User, User.id == Membership.user_id)
        .join(Organisation, Organisation.id == Membership.organisation_id)
        .where(
            Organisation.kind == OrgKind.FORCE,
            Membership.role.in_((Role.FORCE_ASSESSOR, Role.SIRO)),
        )
        .order_by(Membership.organisation_id, User.id)
    ).all()
    found: dict[int, dict[Role, Principal]] = {}
    for organisation_id, role, user_id, email in rows:
        per = found.setdefault(organisation_id, {})
        per.setdefault(role, Principal(user_id, email, (Held(organisation_id, role),)))
    pairs = [(p[Role.FORCE_ASSESSOR], p[Role.SIRO]) for p in found.values() if len(p) == 2]
    return pairs[:forces]


def _products_with_evidence(session: Session, wanted: int) -> list[tuple[int, list[EvidenceView]]]:
    """`wanted` live, nationally accepted products in id order: those with evidence of a kind
    not yet covered first (so gaps, contradicted claims, findings and alerts are all linked),
    then any with evidence, then any at all (a tiny estate may have too few with evidence)."""
    # A product a national assessor has accepted is one any force may deploy.
    accepted = exists().where(
        Assessment.product_id == Product.id, Assessment.status == AssessmentStatus.ACCEPTED
    )
    ids = session.scalars(
        select(Product.id)
        .where(Product.deleted_at.is_(None), accepted)
        .order_by(Product.id)
        .limit(SCAN_LIMIT)
    ).all()
    chosen: dict[int, list[EvidenceView]] = {}
    with_evidence: dict[int, list[EvidenceView]] = {}
    covered: set[EvidenceKind] = set()
    for product_id in ids:
        evidence = available_evidence(session, product_id, date.today())
        if not evidence:
            continue
        kinds = {view.kind for view in evidence}
        if kinds - covered and len(chosen) < wanted:
            chosen[product_id] = evidence
            covered |= kinds
        else:
            with_evidence[product_id] = evidence
        if covered == set(EvidenceKind) and len(chosen) + len(with_evidence) >= wanted:
            break
    for product_id, evidence in with_evidence.items():
        if len(chosen) >= wanted:
            break
        chosen[product_id] = evidence
    for product_id in ids:
        if len(chosen) >= wanted:
            break
        chosen.setdefault(product_id, [])
    return sorted(chosen.items())


def add_scenarios(session: Session, forces: int, per_force: int) -> dict[str, Any]:
    """Each of the first `forces` forces deploys the same products and raises `per_force`
    scenarios on them, one per (product, threat), through the register's services."""
    policy = risk_policy()
    threats = [t.id for t in policy.threats.threats]
    impacts = [level.id for level in policy.matrix.impact_levels]
    likelihoods = policy.matrix.likelihood_ids()
    products = _products_with_evidence(session, math.ceil(per_force / len(threats)))
    pairs = [(p, t) for p in products for t in threats][:per_force]
    principals = _force_principals(session, forces)
    for number, (assessor, _) in enumerate(principals):
        (force_id,) = assessor.organisation_ids()
        for product_id, _ in products:
            deploy_product(session, assessor, force_id, product_id)
        for index, ((product_id, evidence), threat) in enumerate(pairs):
            refs = (
                [
                    EvidenceRefForm(kind=view.kind, ref=view.ref)
                    for view in (evidence[index % len(evidence) :] + evidence)[:LINKS_PER_SCENARIO]
                ]
                if evidence
                else []
            )
            raise_scenario(
                session,
                assessor,
                ScenarioForm(
                    organisation_id=force_id,
                    subject_kind=RiskSubjectKind.DEPLOYMENT,
                    product_id=product_id,
                    title=f"{TITLE_PREFIX}{index + 1}: {policy.threats.threat(threat).name}",
                    threat=threat,
                    threat_text=policy.threats.threat(threat).description,
                    vulnerability_text="; ".join(v.label for v in evidence[:3]) or "None yet.",
                    inherent_likelihood=likelihoods[-1],
                    inherent_impact=impacts[-1],
                    # Forces weigh the same evidence differently, as the report is there to show.
                    current_impact=impacts[(number + index) % len(impacts)],
                    current_likelihood=likelihoods[(number * 2 + index) % len(likelihoods)],
                    differs_because="The force's own exposure to this product differs here.",
                    evidence=refs,
                ),
                # Today, not the estate's day: the snapshot runs' alerts were raised today.
                date.today(),
            )
    return {"forces": len(principals), "products": [p for p, _ in products]}


def _scenario_figures(session: Session, force_ids: list[int]) -> dict[str, Any]:
    per_force = dict(
        session.execute(
            select(RiskScenario.organisation_id, func.count())
            .where(RiskScenario.organisation_id.in_(force_ids))
            .group_by(RiskScenario.organisation_id)
        ).all()
    )
    ours = dict(
        session.execute(
            select(RiskScenario.organisation_id, func.count())
            .where(
                RiskScenario.organisation_id.in_(force_ids),
                RiskScenario.title.startswith(TITLE_PREFIX),
            )
            .group_by(RiskScenario.organisation_id)
        ).all()
    )
    links = dict(
        session.execute(
            select(RiskEvidenceLink.kind, func.count()).group_by(RiskEvidenceLink.kind)
        ).all()
    )
    return {
        "total": session.scalar(select(func.count()).select_from(RiskScenario)) or 0,
        "per_force": {str(f): per_force.get(f, 0) for f in force_ids},
        "benchmark_per_force": {str(f): ours.get(f, 0) for f in force_ids},
        "links_by_kind": links,
    }


def prepare(folder: Path, suppliers: int, forces: int, per_force: int) -> dict[str, Any]:
    """The estate in `folder`, made or (when --keep made it before, the same way) reused."""
    marker = folder / PREPARED
    wanted = {"suppliers": suppliers, "forces": forces, "scenarios_per_force": per_force}
    if marker.exists():
        kept = json.loads(marker.read_text())
        if kept["made_with"] == wanted:
            # A kept estate outlives releases: bring its schema up as `assure db upgrade` does.
            engine = build_engine(load_settings({"ASSURE_DATA_DIR": str(folder)}))
            migrate.upgrade(engine)
            engine.dispose()
            return kept | {"reused": True}
        raise SystemExit(f"{folder} holds an estate made with {kept['made_with']}; not {wanted}")
    started = time.perf_counter()
    logins = prepare_estate(folder, suppliers)
    seeded = time.perf_counter() - started
    engine = build_engine(load_settings({"ASSURE_DATA_DIR": str(folder)}))
    sessions = session_factory(engine)
    started = time.perf_counter()
    with transaction(sessions) as session:
        # As `assure demo seed` does after the estate: the CAF draft, then the demo register.
        start_caf_draft(session, logins["force_assessor"][0])
        demo = seed_risk_register(session, logins["force_assessor"][0], logins["siro"][0], AS_OF)
        added = add_scenarios(session, forces, per_force)
    raised = time.perf_counter() - started
    engine.dispose()
    prepared = {
        "made_with": wanted,
        "seed_and_snapshots_seconds": round(seeded, 1),
        "scenarios_seconds": round(raised, 1),
        "demo_force_id": demo["force_id"] if demo else None,
        "journey_product_id": demo["journey_product_id"] if demo else None,
        "emails": {role: email for role, (email, _) in logins.items()},
        "benchmark_products": added["products"],
        "forces_with_scenarios": added["forces"],
    }
    marker.write_text(json.dumps(prepared))
    return prepared | {"reused": False}


# --- measuring ----------------------------------------------------------------------------


def _user(session: Session, email: str) -> User:
    return session.scalars(select(User).where(User.email == email)).one()


def _heatmap_as_the_page_builds_it(frame: Any) -> None:
    """The page's own heatmap: counts, the Altair chart (marshalled, so validated, as
    st.altair_chart does) and its text alternative; outside a script run Streamlit draws
    nothing but builds everything."""
    from ui.pages.risk_register import _heatmap

    # Each call outside a script run warns that nothing is drawn: noise in a benchmark.
    for name in list(logging.root.manager.loggerDict):
        if name.startswith("streamlit"):
            logging.getLogger(name).setLevel(logging.ERROR)
    _heatmap(heatmap_counts(frame))


def _service(
    sessions: sessionmaker[Session],
    people: dict[str, Principal],
    force_id: int,
    product_id: int,
    repeat: int,
    counter: StatementCounter,
) -> dict[str, Any]:
    today = date.today()

    def in_session(work: Callable[[Session], Any]) -> Callable[[], Any]:
        def run() -> Any:
            with sessions() as session:
                return work(session)

        return run

    def table(s: Session) -> Any:
        return register_table(s, people["force_assessor"], force_id, today)

    def timed(action: Callable[[], Any]) -> tuple[dict[str, float], Any]:
        return measured(action, repeat, counter, warm=True)

    figures: dict[str, Any] = {}
    figures["register_table"], frame = timed(in_session(table))
    figures["register_rows"] = len(frame)
    figures["heatmap"], _ = timed(lambda: _heatmap_as_the_page_builds_it(frame))

    def table_and_heatmap(s: Session) -> None:
        _heatmap_as_the_page_builds_it(table(s))

    figures["register_and_heatmap"], _ = timed(in_session(table_and_heatmap))
    for role in ("national_assessor", "siro"):
        me = people[role]
        figures[f"consistency_report_{role}"], found = timed(
            in_session(lambda s, me=me: consistency_report(s, me))
        )
        figures[f"consistency_groups_{role}"] = len(found)
    figures["national_view_one_product"], rows = timed(
        in_session(lambda s: national_view(s, people["national_assessor"], product_id, today)),
    )
    figures["national_view_rows"] = len(rows)
    return figures


def _tokens(folder: Path, emails: dict[str, str]) -> dict[str, str]:
    settings = load_settings({"ASSURE_DATA_DIR": str(folder)})
    engine = build_engine(settings)
    tokens = {}
    with transaction(session_factory(engine)) as session:
        for role in ("force_assessor", "national_assessor"):
            token, _ = issue_token(
                session,
                None,
                signing_key(settings),
                _user(session, emails[role]),
                sorted(known_scopes()),
                minutes=60,
            )
            tokens[role] = f"Bearer {token}"
    engine.dispose()
    return tokens


def _http(
    folder: Path, emails: dict[str, str], force_id: int, scenario_id: int, repeat: int
) -> dict[str, Any]:
    tokens = _tokens(folder, emails)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSURE_")}
    env |= {"ASSURE_DATA_DIR": str(folder), "ASSURE_API_RATE_LIMIT": "100000/minute"}
    port = free_port()
    argv = [sys.executable, "-m", "benchmarks.bench_api", "--serve", str(port)]
    url = f"http://127.0.0.1:{port}"
    figures: dict[str, Any] = {}
    with (
        serving(argv, env, f"{url}/openapi.json"),
        httpx.Client(base_url=url, timeout=120) as client,
    ):
        with urllib.request.urlopen(f"{url}/v1/framework", timeout=30) as first:  # noqa: S310
            etag = first.headers["ETag"]

        def get(path: str, role: str | None, params: dict[str, Any] | None = None) -> Any:
            def run() -> Any:
                headers = {"Authorization": tokens[role]} if role else {"If-None-Match": etag}
                answer = client.get(path, params=params, headers=headers)
                assert answer.status_code == (200 if role else 304), answer.text
                return answer.json() if role else None

            run()  # the server's first answer on a path warms its imports and token cache
            return run

        figures["baseline_framework_304"], _ = measured(get("/v1/framework", None), repeat, None)
        figures["force_scenarios_first_page"], body = measured(
            get(
                "/v1/risk/scenarios",
                "force_assessor",
                {"organisation_id": force_id, "limit": 50},
            ),
            repeat,
            None,
        )
        figures["force_scenarios_total"] = body["total"]
        figures["national_scenarios_first_page"], body = measured(
            get("/v1/risk/scenarios", "national_assessor", {"limit": 50}), repeat, None
        )
        figures["national_scenarios_total"] = body["total"]
        figures["one_scenario_with_evidence"], body = measured(
            get(f"/v1/risk/scenarios/{scenario_id}", "force_assessor"), repeat, None
        )
        figures["one_scenario_links"] = len(body["evidence"])
        figures["heatmap"], body = measured(
            get(f"/v1/risk/organisations/{force_id}/heatmap", "force_assessor"), repeat, None
        )
        figures["heatmap_scenarios"] = sum(cell["count"] for cell in body["cells"])
    for figure in figures.values():
        if isinstance(figure, dict):
            del figure["median_cpu_seconds"]  # the client's, not the server's
    return figures


def _title_page() -> None:
    import streamlit as st

    st.title("Baseline")


def _register_page() -> None:
    from ui.pages.risk_register import register_page

    register_page()


def _page_script(
    people: dict[str, Principal], force_id: int, repeat: int, counter: StatementCounter
) -> dict[str, Any]:
    """The whole page script (AppTest); each app's first run warms imports and the engine
    cache, which users pay once per process."""
    from streamlit.testing.v1 import AppTest

    def app_for(script: Callable[[], None], me: Principal) -> AppTest:
        app = AppTest.from_function(script, default_timeout=300)
        app.session_state["assure_principal"] = me
        app.run()
        return app

    def run(app: AppTest) -> Callable[[], AppTest]:
        def once() -> AppTest:
            app.run()
            if app.exception:
                raise SystemExit(f"page failed: {app.exception[0].message}")
            return app

        return once

    figures: dict[str, Any] = {}
    figures["baseline_title_page"], _ = measured(
        run(app_for(_title_page, people["force_assessor"])), repeat, counter
    )
    own = app_for(_register_page, people["force_assessor"])
    figures["force_assessor"], own = measured(run(own), repeat, counter)
    figures["force_assessor_rows_shown"] = len(own.dataframe[0].value)
    national = app_for(_register_page, people["national_assessor"])
    national.selectbox(key="register-org").set_value(force_id)
    figures["national_assessor_on_the_force"], national = measured(run(national), repeat, counter)
    figures["national_assessor_rows_shown"] = len(national.dataframe[0].value)
    return figures


def _principals(sessions: sessionmaker[Session], emails: dict[str, str]) -> dict[str, Principal]:
    with sessions() as session:
        return {
            role: principal_for(session, _user(session, emails[role]))
            for role in ("force_assessor", "siro", "national_assessor")
        }


def measure(suppliers: int, args: argparse.Namespace, counter: StatementCounter) -> dict[str, Any]:
    with estate_folder(args.keep, f"risk-register-{suppliers}") as folder:
        prepared = prepare(folder, suppliers, args.forces, args.scenarios_per_force)
        engine = build_engine(load_settings({"ASSURE_DATA_DIR": str(folder)}))
        sessions = session_factory(engine)
        emails = prepared["emails"]
        people = _principals(sessions, emails)
        (force_id,) = people["force_assessor"].organisation_ids()
        with sessions() as session:
            force_ids = [
                next(iter(pair[0].organisation_ids()))
                for pair in _force_principals(session, args.forces)
            ]
            scenarios = _scenario_figures(session, force_ids)
            # The force's scenario with the most links: the heaviest one-scenario read.
            scenario_id = session.scalar(
                select(RiskEvidenceLink.scenario_id)
                .join(RiskScenario, RiskScenario.id == RiskEvidenceLink.scenario_id)
                .where(RiskScenario.organisation_id == force_id)
                .group_by(RiskEvidenceLink.scenario_id)
                .order_by(func.count().desc(), RiskEvidenceLink.scenario_id)
                .limit(1)
            ) or session.scalar(
                select(func.min(RiskScenario.id)).where(RiskScenario.organisation_id == force_id)
            )
        product_id = prepared["benchmark_products"][0]
        figures: dict[str, Any] = {
            "suppliers": suppliers,
            "prepare": {k: v for k, v in prepared.items() if k != "emails"},
            "scenarios": scenarios,
            "measured_force_id": force_id,
        }
        figures["service"] = _service(sessions, people, force_id, product_id, args.repeat, counter)
        figures["http"] = _http(folder, emails, force_id, scenario_id, args.repeat)
        # The page reads its database from the settings, as `assure serve` gives them.
        before = os.environ.get("ASSURE_DATA_DIR")
        os.environ["ASSURE_DATA_DIR"] = str(folder)
        try:
            figures["page_script"] = _page_script(people, force_id, args.repeat, counter)
        finally:
            if before is None:
                del os.environ["ASSURE_DATA_DIR"]
            else:
                os.environ["ASSURE_DATA_DIR"] = before
            engine.dispose()
            _forget_page_engines()
    return figures


def _forget_page_engines() -> None:
    """The page keeps one engine per database in st.cache_resource; the next estate's folder
    is a new database, and this one's file is about to go."""
    import streamlit as st

    st.cache_resource.clear()
    st.cache_data.clear()


def _growth(estates: list[dict[str, Any]]) -> dict[str, Any]:
    """Each timed path at the smallest and the largest size, side by side."""
    if len(estates) < 2:
        return {}
    small, large = estates[0], estates[-1]
    growth: dict[str, Any] = {}
    for where in ("service", "http", "page_script"):
        for name, figure in large[where].items():
            if not isinstance(figure, dict):
                continue
            before = small[where][name]
            entry = {
                "suppliers": [small["suppliers"], large["suppliers"]],
                "median_seconds": [before["median_seconds"], figure["median_seconds"]],
                "ratio": round(figure["median_seconds"] / max(before["median_seconds"], 1e-6), 2),
            }
            if "median_cpu_seconds" in figure:
                # This process's CPU: on a shared machine the wall ratio also measures the load.
                entry["cpu_ratio"] = round(
                    figure["median_cpu_seconds"] / max(before["median_cpu_seconds"], 1e-6), 2
                )
            if "statements" in figure:
                entry["statements"] = [before["statements"], figure["statements"]]
            growth[f"{where}.{name}"] = entry
    return growth


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = sizes_parser(__doc__)
    parser.add_argument("--forces", type=int, default=20)
    parser.add_argument("--scenarios-per-force", type=int, default=50)
    args = parser.parse_args(argv)
    counter = StatementCounter()
    try:
        estates = [measure(suppliers, args, counter) for suppliers in args.suppliers]
    finally:
        counter.close()
    growth = _growth(estates)
    largest = estates[-1]
    slow = sorted(
        f"{where}.{name}"
        for where in ("service", "http", "page_script")
        for name, figure in largest[where].items()
        if isinstance(figure, dict) and figure["median_seconds"] > SLOW_SECONDS
    )
    grows = sorted(
        name
        for name, entry in growth.items()
        if ".baseline" not in name
        and (
            entry.get("cpu_ratio", entry["ratio"]) > GROWTH_RATIO
            or ("statements" in entry and entry["statements"][1] > entry["statements"][0])
        )
    )
    report = {
        "benchmark": "risk_register",
        "repeat": args.repeat,
        "estates": estates,
        "growth": growth,
        "slow_seconds": SLOW_SECONDS,
        "slow": slow,
        "growth_ratio_limit": GROWTH_RATIO,
        "grows": grows,
    }
    print(json.dumps(report, indent=2, default=str))
    return report


if __name__ == "__main__":
    main()
