"""The assessors' review queue on the demo estate: first page, filtered pages, a deep page and one
decision, in the service and over the partner API (a real server process on loopback).

Target (issue 20): the first page and one decision each under 0.5 s at 10,000 suppliers. The
baseline, measured in the same run, is the queue as it was built before: one estate load per
reviewable assessment, every item built, then sliced. It cannot finish at 10,000 suppliers, so
it runs on a smaller estate (--baseline-suppliers), where the new path is timed too.

    python -m benchmarks.bench_review_queue [--suppliers 10000] [--baseline-suppliers 500]
        [--run-share 0.2] [--repeat 5]

Seeding is not timed. When the demo seed records no check runs, check runs with findings drawn
from the catalogue are recorded for --run-share of the products, as a real check records them.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from frameworks.loader import default_framework
from kernel.settings import load_settings
from posture.audit import Actor
from posture.demo.seed import seed_demo
from posture.identity.accounts import principal_for
from posture.identity.permissions import Principal, visible_organisations
from posture.identity.tokens import issue_token, known_scopes, signing_key
from posture.scoring.encode import encode
from posture.scoring.engine import score_arrays
from posture.scoring.load import SubjectFilter, load_estate
from posture.scoring.tables import framework_tables
from posture.storage import migrate
from posture.storage.engine import build_engine, session_factory, transaction
from posture.storage.models import (
    Answer,
    Assessment,
    CheckRun,
    Membership,
    Organisation,
    Product,
    User,
)
from posture.storage.models.enums import Role
from supplier_portal.review_queue import REVIEWABLE, QueueQuery
from supplier_portal.reviews import review_answer, review_queue
from tests.peers.processes import free_port, serving
from tests.scoring.estate_with_runs import outcome_codes, record_sample_run

AS_OF = date(2026, 11, 1)
TARGET_SECONDS = 0.5


def record_runs(session: Session, share: float, seed: int) -> int:
    """Check runs for `share` of the products (and a few organisations), each with up to three
    findings that bear on framework outcomes; some products get a newer run of the same kind."""
    pick = random.Random(seed)
    codes = outcome_codes()
    products = session.execute(select(Product.organisation_id, Product.id).order_by(Product.id))
    subjects: list[tuple[int, int | None]] = [(o, p) for o, p in products]
    chosen = pick.sample(subjects, int(len(subjects) * share))
    organisations = session.scalars(select(Organisation.id).order_by(Organisation.id)).all()
    chosen += [(o, None) for o in pick.sample(list(organisations), len(chosen) // 20)]
    actor = Actor(label="benchmark")
    noon = datetime.combine(AS_OF, datetime.min.time(), tzinfo=UTC) + timedelta(hours=12)
    recorded = 0
    for index, (organisation_id, product_id) in enumerate(chosen):
        for repeat in range(2 if index % 7 == 0 else 1):
            at = noon - timedelta(days=pick.randint(0, 60), minutes=index) + timedelta(days=repeat)
            failed = index % 13 == 6
            record_sample_run(
                session, pick, (organisation_id, product_id), index, at, failed, codes, actor
            )
            recorded += 1
    return recorded


def prepare(folder: Path, suppliers: int, share: float) -> dict[str, Any]:
    engine = build_engine(load_settings({"ASSURE_DATA_DIR": str(folder)}))
    migrate.upgrade(engine)
    sessions = session_factory(engine)
    started = time.perf_counter()
    with transaction(sessions) as session:
        seed_demo(session, suppliers, seed=1, as_of=AS_OF)
        seeded_runs = session.scalar(select(func.count()).select_from(CheckRun)) or 0
        recorded = 0 if seeded_runs else record_runs(session, share, seed=suppliers)
    engine.dispose()
    return {
        "prepare_seconds": round(time.perf_counter() - started, 1),
        "check_runs_from_seed": seeded_runs,
        "check_runs_recorded": recorded,
    }


def old_review_queue(session: Session, principal: Principal, today: date) -> list[tuple]:
    """The queue as it was built before issue 20: one estate load per reviewable assessment,
    every item built and sorted, then sliced by the caller. Kept here only as the baseline."""
    loaded = default_framework()
    tables = framework_tables(loaded)
    scope = visible_organisations(principal, "assessment.review")
    query = select(Assessment).where(Assessment.status.in_(REVIEWABLE))
    if scope is not None:
        query = query.where(Assessment.organisation_id.in_(scope))
    items = []
    for assessment in session.scalars(query.order_by(Assessment.submitted_at)):
        label = (
            session.get(Product, assessment.product_id).name  # type: ignore[union-attr]
            if assessment.product_id
            else session.get(Organisation, assessment.organisation_id).name  # type: ignore[union-attr]
        )
        subject = (
            SubjectFilter.product(assessment.product_id)
            if assessment.product_id
            else SubjectFilter.organisation(assessment.organisation_id)
        )
        estate = load_estate(session, loaded, today, subject)
        estate.subjects[:] = [
            s for s in estate.subjects if s.subject.assessment_id == assessment.id
        ]
        contradicted: dict[str, int] = {}
        if estate.subjects:
            rows = encode(estate, tables)
            scores = score_arrays(rows, tables)
            for index in scores.row_contradicted.nonzero()[0]:
                outcome = tables.outcome_ids[int(rows.outcome[index])]
                contradicted[outcome] = int(scores.row_claimed[index])
        for answer in session.scalars(
            select(Answer)
            .where(Answer.assessment_id == assessment.id, Answer.review_status.is_(None))
            .order_by(Answer.outcome_id)
        ):
            items.append(
                (
                    answer.outcome_id not in contradicted,
                    assessment.submitted_at.isoformat() if assessment.submitted_at else "",
                    answer.outcome_id,
                    answer.id,
                    label,
                )
            )
    return sorted(items)


def _timed(action: Callable[[], Any], repeat: int) -> tuple[dict[str, float], Any]:
    """Wall seconds, and this process's CPU seconds (on a shared machine the wall time also
    counts other processes' turns; the CPU time is the cost of the path, SQLite included)."""
    times, cpu, result = [], [], None
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        result = action()
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    return {
        "median_seconds": round(statistics.median(times), 4),
        "max_seconds": round(max(times), 4),
        "median_cpu_seconds": round(statistics.median(cpu), 4),
    }, result


def _assessor(sessions: sessionmaker[Session]) -> tuple[Principal, User]:
    with sessions() as session:
        user = session.scalars(
            select(User)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.role == Role.NATIONAL_ASSESSOR)
            .order_by(User.id)
            .limit(1)
        ).one()
        return principal_for(session, user), user


def _service(sessions: sessionmaker[Session], me: Principal, repeat: int) -> dict[str, Any]:
    today = date.today()

    def page(query: QueueQuery) -> Callable[[], Any]:
        def run() -> Any:
            with sessions() as session:
                return review_queue(session, me, today, query)

        return run

    first, found = _timed(page(QueueQuery(limit=25)), repeat)
    waiting = found.items[-1]
    figures: dict[str, Any] = {"waiting_answers": found.total, "first_page": first}
    figures["supplier_filter_page"], _ = _timed(
        page(QueueQuery(organisation_id=waiting.organisation_id, limit=25)), repeat
    )
    figures["outcome_filter_page"], _ = _timed(
        page(QueueQuery(outcome_id=waiting.outcome_id, limit=25)), repeat
    )
    deep = QueueQuery(offset=max(0, found.total - 50), limit=25)
    figures["deep_page"], deepest = _timed(page(deep), repeat)
    figures["contradicted_answers"] = deepest.contradicted
    figures["unordered_first_page"], _ = _timed(
        page(QueueQuery(contradicted_first=False, limit=25)), repeat
    )
    answers = iter(item.answer_id for item in found.items[:-1])

    def decide() -> None:
        with transaction(sessions) as session:
            review_answer(session, me, next(answers), "accept")

    figures["one_decision"], _ = _timed(decide, min(repeat, len(found.items) - 1))
    return figures


def _http(folder: Path, user: User, repeat: int) -> dict[str, Any]:
    settings = load_settings(
        {"ASSURE_DATA_DIR": str(folder), "ASSURE_API_RATE_LIMIT": "100000/minute"}
    )
    engine = build_engine(settings)
    with transaction(session_factory(engine)) as session:
        token, _ = issue_token(
            session, None, signing_key(settings), user, sorted(known_scopes()), minutes=60
        )
    engine.dispose()
    headers = {"Authorization": f"Bearer {token}"}
    figures: dict[str, Any] = {}
    # A real API server in its own process, as partners meet it, on loopback.
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSURE_")}
    env |= {"ASSURE_DATA_DIR": str(folder), "ASSURE_API_RATE_LIMIT": "100000/minute"}
    port = free_port()
    argv = [sys.executable, "-m", "benchmarks.bench_api", "--serve", str(port)]
    url = f"http://127.0.0.1:{port}"
    with (
        serving(argv, env, f"{url}/openapi.json"),
        httpx.Client(base_url=url, timeout=60) as client,
    ):

        def get(params: dict[str, Any]) -> Callable[[], Any]:
            def run() -> Any:
                answer = client.get("/v1/review-queue", params=params, headers=headers)
                assert answer.status_code == 200, answer.text
                return answer.json()

            return run

        figures["first_page"], body = _timed(get({"limit": 25}), repeat)
        last = body["items"][-1]
        figures["outcome_filter_page"], _ = _timed(
            get({"limit": 25, "outcome_id": last["outcome_id"]}), repeat
        )
        figures["deep_page"], _ = _timed(
            get({"limit": 25, "offset": max(0, body["total"] - 50)}), repeat
        )
        answers = iter(item["answer_id"] for item in body["items"][:-1])

        def decide() -> None:
            answer = client.post(
                f"/v1/answers/{next(answers)}/review",
                json={"decision": "query", "message": "Send the evidence for this claim."},
                headers=headers,
            )
            assert answer.status_code == 200, answer.text

        figures["one_decision"], _ = _timed(decide, min(repeat, len(body["items"]) - 1))
    for figure in figures.values():
        del figure["median_cpu_seconds"]  # the client's, not the server's
    return figures


def _review_page() -> None:
    from ui.pages.review_queue import review_page

    review_page()


def _page_script(folder: Path, me: Principal, repeat: int) -> dict[str, Any]:
    """The Streamlit page's whole script run (AppTest): filters, the page, the decision form."""
    from streamlit.testing.v1 import AppTest

    os.environ["ASSURE_DATA_DIR"] = str(folder)
    app = AppTest.from_function(_review_page, default_timeout=120)
    app.session_state["assure_principal"] = me
    app.run()  # the first run warms imports and the engine cache; users pay it once per process
    figures, app = _timed(app.run, repeat)
    if app.exception:
        raise SystemExit(f"page failed: {app.exception[0].value}")
    return figures


def _estate(folder: Path, suppliers: int, share: float, repeat: int) -> dict[str, Any]:
    figures = {"suppliers": suppliers, **prepare(folder, suppliers, share)}
    engine = build_engine(load_settings({"ASSURE_DATA_DIR": str(folder)}))
    sessions = session_factory(engine)
    me, user = _assessor(sessions)
    figures["service"] = _service(sessions, me, repeat)
    figures["http"] = _http(folder, user, repeat)
    figures["page_script"] = _page_script(folder, me, repeat)
    return figures | {"_sessions": sessions, "_engine": engine, "_me": me}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--suppliers", type=int, default=10_000)
    parser.add_argument("--baseline-suppliers", type=int, default=500)
    parser.add_argument("--run-share", type=float, default=0.2)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as small, tempfile.TemporaryDirectory() as large:
        baseline = _estate(Path(small), args.baseline_suppliers, args.run_share, args.repeat)
        sessions, me = baseline.pop("_sessions"), baseline.pop("_me")

        def old() -> Any:
            with sessions() as session:
                return old_review_queue(session, me, date.today())[:25]

        baseline["old_full_build_first_page"], _ = _timed(old, max(1, min(args.repeat, 3)))
        baseline.pop("_engine").dispose()
        target = _estate(Path(large), args.suppliers, args.run_share, args.repeat)
        target.pop("_sessions"), target.pop("_me"), target.pop("_engine").dispose()
    worst = max(
        target[where][what]["median_seconds"]
        for where in ("service", "http")
        for what in ("first_page", "one_decision")
    )
    # The server's CPU is another process's over HTTP; only the service's is this process's.
    cpu_worst = max(
        target["service"][what]["median_cpu_seconds"] for what in ("first_page", "one_decision")
    )
    old_seconds = baseline["old_full_build_first_page"]["median_seconds"]
    new_seconds = baseline["service"]["first_page"]["median_seconds"]
    print(
        json.dumps(
            {
                "benchmark": "review_queue",
                "baseline_estate": baseline,
                "estate": target,
                "speedup_at_baseline_size": round(old_seconds / new_seconds, 1),
                "target_seconds": TARGET_SECONDS,
                "meets_target": worst < TARGET_SECONDS,
                "meets_target_in_cpu_seconds": cpu_worst < TARGET_SECONDS,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
