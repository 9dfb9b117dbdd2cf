"""The daily automation on the demo estate at 2,000 and 10,000 suppliers, on the whole path an
operator or a worker takes: `assure schedule run NAME --json` as a process of its own, for the
expiry reminders, the findings' SLA breaches, the procurement listing re-check, the monitoring
re-checks falling due and the notification outbox; and beside them what one subject costs, a
new check run recorded and its findings tracked, which must not grow with the estate.

World, per size (prepared untimed, in this order; --keep keeps it in a folder and reuses it):

- the demo estate as `assure demo seed` makes it (seed 2026, 24 months up to the first of the
  month it is prepared in): the forces, national bodies and suppliers with their products,
  assessments and stored check runs, the demo force's CAF draft, its risk register (deployed
  and listed products, an acceptance) and its passports;
- every stored check run tracked as the worker tracks a run it records (`track_check_run`,
  in the order they finished, committed 500 at a time), so the tracked findings are those the
  runs leave open, resolved or reopened; the runs reach back months, so an open finding first
  seen longer ago than its severity's SLA is past its due date, and none has had its breach
  alerted yet;
- every product holds a Cyber Essentials certification renewing on a day spread evenly over
  the next year (about one in twelve within 30 days) and one in three an ISO 27001 spread over
  three years, so the expiry sweep has certifications to remind of beside whatever
  certificates, passports and assessments the demo estate has falling due;
- one product in four (--listed-share) listed on the demo's framework lot through the
  procurement services, so the listing re-check has --listed-share of the estate to judge;
- every endpoint, host or published file a product's checks looked at (the kinds monitoring
  re-checks) registered for weekly monitoring, a seventh of them due when prepared: a day's
  re-checks, as after a day without a worker (a kept estate reused a day later has more due;
  `world` says how many are due when it is measured).

`schedule run` always runs for the current moment (kernel.clock.utcnow: it takes no time), and
a second run in a period whose run succeeded is skipped as done. So each --repeat starts from a
fresh copy of the prepared data folder (copied untimed) and runs the schedules in a night's
order: procurement.recheck_listings, expiry.reminders, findings.sla_breaches, notify.deliver
(which puts the alerts the two sweeps raised in the outbox and sends a batch by e-mail to an
SMTP server on loopback) and monitoring.queue_due. That is the first run, with the work the
world holds; then the day's runs are forgotten (their schedule_runs rows deleted) and each is
run again ("again"): the same day with nothing new to find, the scan every daily run pays
(notify.deliver sends the outbox's next batch, if the first left any). Baselines in
the same runs, so process start-up is visible beside each figure: `assure schedule list --json`
and `schedule run notify.digest` on the fresh copy (nothing to digest). For each: wall and CPU
seconds of the process (median of the repeats), its peak RSS (the largest; read by a bare
launcher process in between, as a child of this one would report this one's peak) and what it
printed, lists of ids shown as their length.

Per subject, in this process on a fresh copy (--repeat runs after one untimed): a new check run
of one product, its newest TLS run repeated now, recorded as the worker records it
(`record_check_run`, `after_check_run`, `track_check_run`, committed): wall, CPU and the SQL
statements one run sends. The product is the same at every size (the first with a TLS run
that shows findings; the demo estate's first suppliers are the same whatever its size).

`growth` puts every path's figures at the smallest and largest size side by side with their
ratio; `slow` names the paths over 10 s at the largest size; `grows` the per-subject paths more
than 1.5x slower there by CPU, or sending more statements.

    python -m benchmarks.bench_schedules [--suppliers 2000 10000] [--repeat 3]
        [--listed-share 0.25] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from benchmarks.timing import (
    StatementCounter,
    estate_folder,
    growth_report,
    measure_sizes,
    p95,
    sizes_parser,
    timed_in_sessions,
)
from checks.report import CheckReport
from kernel.clock import utcnow
from kernel.settings import load_settings
from posture.audit import Actor
from posture.check_runs import record_check_run
from posture.demo.seed import seed_demo
from posture.findings.tracking import track_check_run
from posture.findings.views import counts_open
from posture.monitoring.changes import monitoring_policy
from posture.passport.watch import after_check_run
from posture.platform_keys import platform_keys
from posture.storage import migrate
from posture.storage.engine import build_engine, session_factory, transaction
from posture.storage.models import (
    Alert,
    CheckRun,
    Finding,
    LotApplication,
    MonitoredEndpoint,
    Passport,
    Product,
    ScheduleRun,
    TrackedFinding,
)
from posture.storage.models.enums import ListingState, PassportStatus, RunStatus
from supplier_portal.demo_caf_draft import start_caf_draft
from supplier_portal.demo_listing import list_products
from supplier_portal.demo_passports import seed_passports
from supplier_portal.demo_risk import seed_risk_register
from tests.notify.peers import smtp_server

SEED = 2026  # `assure demo seed`'s own
PREPARED = "prepared.json"
ESTATE = "estate"  # the prepared data folder; the measurements run on copies of it
WORK = "work"  # the copy each repeat runs on
TRACK_CHUNK = 500
LISTING_CHUNK = 200
# The subject is looked for among the first products, which every size holds alike.
SUBJECT_SCAN = 200
# The schedules a night runs, in the order their cron times put them.
DAILY = (
    "procurement.recheck_listings",
    "expiry.reminders",
    "findings.sla_breaches",
    "notify.deliver",
    "monitoring.queue_due",
)
BASELINE_SCHEDULE = "notify.digest"
PER_SUBJECT = ("per_subject.record_and_track_one_run",)
SLOW_SECONDS = 10.0
GROWTH_RATIO = 1.5
WORKER = Actor("benchmark worker")


# --- preparing the estate -----------------------------------------------------------------


def _track_every_run(sessions: sessionmaker[Session]) -> int:
    """Every stored run tracked in the order the runs finished, as the worker tracks each."""
    with sessions() as session:
        ids = session.scalars(
            select(CheckRun.id)
            .where(CheckRun.finished_at.is_not(None))
            .order_by(CheckRun.finished_at, CheckRun.id)
        ).all()
    for start in range(0, len(ids), TRACK_CHUNK):
        chunk = ids[start : start + TRACK_CHUNK]
        with transaction(sessions) as session:
            runs = {
                run.id: run
                for run in session.scalars(select(CheckRun).where(CheckRun.id.in_(chunk)))
            }
            for run_id in chunk:
                track_check_run(session, runs[run_id])
    return len(ids)


def _certifications(product_id: int, today: date) -> list[dict[str, str]]:
    """Cyber Essentials renews yearly: its day spread evenly over the next year by product (37
    and 365 share no factor); ISO 27001 over three years, for one product in three."""
    held = [
        {
            "scheme": "cyber_essentials",
            "expires": (today + timedelta(days=1 + product_id * 37 % 365)).isoformat(),
        }
    ]
    if product_id % 3 == 0:
        held.append(
            {
                "scheme": "iso27001",
                "expires": (today + timedelta(days=1 + product_id * 101 % 1095)).isoformat(),
            }
        )
    return held


def _give_certifications(sessions: sessionmaker[Session], today: date) -> int:
    with transaction(sessions) as session:
        ids = session.scalars(select(Product.id).order_by(Product.id)).all()
        session.execute(
            update(Product),
            [
                {"id": product_id, "certifications": _certifications(product_id, today)}
                for product_id in ids
            ],
        )
    return len(ids)


def _list_share(sessions: sessionmaker[Session], share: float, as_of: date) -> int:
    """Every 1/share-th product listed on the demo lot, through the procurement services."""
    if share <= 0:
        return 0
    step = max(1, round(1 / share))
    with sessions() as session:
        ids = session.scalars(select(Product.id).order_by(Product.id)).all()[::step]
    for start in range(0, len(ids), LISTING_CHUNK):
        with transaction(sessions) as session:
            list_products(session, list(ids[start : start + LISTING_CHUNK]), as_of)
    return len(ids)


def _monitor_endpoints(sessions: sessionmaker[Session], now: datetime) -> int:
    """Each (product, kind, target) the monitored kinds' runs looked at, weekly (the policy's
    interval), their next checks spread over the interval so one day's share is due now."""
    schedule_days = monitoring_policy().schedule_days
    with transaction(sessions) as session:
        newest = (
            select(
                CheckRun.id,
                CheckRun.organisation_id,
                CheckRun.product_id,
                CheckRun.kind,
                CheckRun.target,
                func.row_number()
                .over(
                    partition_by=(CheckRun.product_id, CheckRun.kind, CheckRun.target),
                    order_by=(CheckRun.finished_at.desc(), CheckRun.id.desc()),
                )
                .label("rank"),
            )
            .where(CheckRun.product_id.is_not(None), CheckRun.kind.in_(list(schedule_days)))
            .subquery()
        )
        rows = session.execute(
            select(newest.c.id, newest.c.organisation_id, newest.c.product_id, newest.c.kind,
                   newest.c.target)
            .where(newest.c.rank == 1)
            .order_by(newest.c.product_id, newest.c.kind, newest.c.target)
        ).all()  # fmt: skip
        endpoints = []
        for index, (run_id, organisation_id, product_id, kind, target) in enumerate(rows):
            interval = schedule_days[kind]
            # An hour ago for the day's share (index % interval == 0), a day later for each next.
            due = now - timedelta(hours=1) + timedelta(days=index % interval)
            endpoints.append(
                {
                    "organisation_id": organisation_id,
                    "product_id": product_id,
                    "kind": str(kind),
                    "target": target[:300],
                    "interval_days": interval,
                    "next_due_at": due,
                    "active": True,
                    "last_check_run_id": run_id,
                    "created_at": now,
                }
            )
        if endpoints:
            session.execute(MonitoredEndpoint.__table__.insert(), endpoints)
    return len(endpoints)


def _seed(
    sessions: sessionmaker[Session], suppliers: int, as_of: date, folder: Path
) -> dict[str, Any]:
    """The estate as `assure demo seed` makes it, but for its tracked findings (every run is
    tracked below) and the sweeps it runs once (what this benchmark measures)."""
    settings = load_settings({"ASSURE_DATA_DIR": str(folder)})
    with transaction(sessions) as session:
        seeded = seed_demo(session, suppliers, SEED, as_of, with_logins=True)
        emails = {login.role: login.email for login in seeded.logins}
        start_caf_draft(session, emails["force_assessor"])
        register = seed_risk_register(session, emails["force_assessor"], emails["siro"], as_of)
        passports = (
            seed_passports(
                session,
                emails["national_assessor"],
                emails["force_assessor"],
                platform_keys(settings),
                register["product_ids"],
            )
            if register is not None
            else None
        )
    return {
        "counts": seeded.counts,
        "demo_force_products": register["product_ids"] if register else [],
        "passports": len(passports["passports"]) if passports else 0,
    }


def prepare(folder: Path, suppliers: int, listed_share: float) -> dict[str, Any]:
    """The prepared data folder in `folder`/estate, made or (kept, made the same way) reused."""
    marker, estate = folder / PREPARED, folder / ESTATE
    wanted = {"suppliers": suppliers, "seed": SEED, "listed_share": listed_share}
    if marker.exists():
        kept = json.loads(marker.read_text())
        if kept["made_with"] == wanted:
            # A kept estate outlives releases: bring its schema up as `assure db upgrade` does.
            engine = build_engine(load_settings({"ASSURE_DATA_DIR": str(estate)}))
            migrate.upgrade(engine)
            engine.dispose()
            return kept | {"reused": True}
        raise SystemExit(f"{folder} holds an estate made with {kept['made_with']}; not {wanted}")
    shutil.rmtree(estate, ignore_errors=True)  # one left half made
    estate.mkdir(parents=True)
    now = utcnow()
    as_of = now.date().replace(day=1)  # `assure demo seed`'s default: this month
    engine = build_engine(load_settings({"ASSURE_DATA_DIR": str(estate)}))
    migrate.upgrade(engine)
    sessions = session_factory(engine)
    seconds: dict[str, float] = {}

    def step(name: str, started: float) -> None:
        seconds[name] = round(time.perf_counter() - started, 1)

    started = time.perf_counter()
    seeded = _seed(sessions, suppliers, as_of, estate)
    step("seed", started)
    started = time.perf_counter()
    runs_tracked = _track_every_run(sessions)
    step("track_every_run", started)
    started = time.perf_counter()
    certified = _give_certifications(sessions, now.date())
    step("certifications", started)
    started = time.perf_counter()
    listed = _list_share(sessions, listed_share, as_of)
    step("listings", started)
    started = time.perf_counter()
    monitored = _monitor_endpoints(sessions, now)
    step("monitored_endpoints", started)
    engine.dispose()
    prepared = {
        "made_with": wanted,
        "prepared_at": now.isoformat(timespec="seconds"),
        "as_of": as_of.isoformat(),
        "seconds": seconds,
        **seeded,
        "runs_tracked": runs_tracked,
        "products_certified": certified,
        "products_applied_to_lot": listed,
        "endpoints_monitored": monitored,
    }
    marker.write_text(json.dumps(prepared))
    return prepared | {"reused": False}


def _world(estate: Path) -> dict[str, Any]:
    """What the prepared estate holds for today's schedules, read now."""
    engine = build_engine(load_settings({"ASSURE_DATA_DIR": str(estate)}))
    now = utcnow()
    today = now.date()

    def count(session: Session, model: Any, *where: Any) -> int:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0

    with session_factory(engine)() as session:
        expiring = 0
        for (held,) in session.execute(select(Product.certifications)):
            expiring += sum(
                today <= date.fromisoformat(entry["expires"]) <= today + timedelta(days=30)
                for entry in held or ()
            )
        world = {
            "products": count(session, Product),
            "check_runs": count(session, CheckRun),
            "findings_in_runs": count(session, Finding),
            "tracked_findings": count(session, TrackedFinding),
            "tracked_counting_open": count(session, TrackedFinding, counts_open(today)),
            "open_past_due_not_alerted": count(
                session,
                TrackedFinding,
                counts_open(today),
                TrackedFinding.due_at < now,
                TrackedFinding.breach_alerted_at.is_(None),
            ),
            "certifications_expiring_within_30_days": expiring,
            "passports_issued": count(session, Passport, Passport.status == PassportStatus.ISSUED),
            "listings_listed": count(
                session, LotApplication, LotApplication.status == ListingState.LISTED.value
            ),
            "endpoints_monitored": count(session, MonitoredEndpoint),
            "endpoints_due_now": count(
                session, MonitoredEndpoint, MonitoredEndpoint.next_due_at <= now
            ),
            "alerts": count(session, Alert),
            "alerts_not_notified": count(session, Alert, Alert.notified_at.is_(None)),
        }
    engine.dispose()
    return world


# --- measuring ----------------------------------------------------------------------------


def _fresh_copy(folder: Path) -> Path:
    work = folder / WORK
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(folder / ESTATE, work)
    return work


def _subject(session: Session) -> CheckRun:
    """The newest TLS run of the first product whose newest TLS run succeeded with findings."""
    products = session.scalars(select(Product.id).order_by(Product.id).limit(SUBJECT_SCAN)).all()
    for product_id in products:
        run = session.scalars(
            select(CheckRun)
            .where(CheckRun.product_id == product_id, CheckRun.kind == "tls")
            .order_by(CheckRun.finished_at.desc(), CheckRun.id.desc())
            .limit(1)
        ).first()
        if run is None or run.status != RunStatus.SUCCEEDED:
            continue
        if session.scalar(select(func.count()).where(Finding.check_run_id == run.id)):
            return run
    raise SystemExit(f"none of the first {SUBJECT_SCAN} products has a TLS run with findings")


def _per_subject(work: Path, repeat: int, counter: StatementCounter) -> dict[str, Any]:
    engine = build_engine(load_settings({"ASSURE_DATA_DIR": str(work)}))
    sessions = session_factory(engine)
    with sessions() as session:
        template = _subject(session)
        report = CheckReport.model_validate(template.result)
        organisation_id, product_id = template.organisation_id, template.product_id
        subject = {
            "product_id": product_id,
            "organisation_id": organisation_id,
            "kind": str(template.kind),
            "target": template.target,
            "findings_in_run": len(report.findings),
            "tracked_findings_of_product": session.scalar(
                select(func.count()).where(TrackedFinding.product_id == product_id)
            ),
        }

    def record_and_track(session: Session, _: Any) -> Any:
        now = utcnow()
        fresh = report.model_copy(
            update={"started_at": now - timedelta(seconds=5), "finished_at": now}
        )
        run = record_check_run(session, WORKER, fresh, organisation_id, product_id)
        after_check_run(session, run)
        tracked = track_check_run(session, run)
        session.commit()
        return tracked

    def outcome(_: Session, tracked: Any) -> dict[str, int]:
        return {
            name: len(getattr(tracked, name))
            for name in ("opened", "seen", "reopened", "resolved", "held")
        }

    figures, tracked = timed_in_sessions(sessions, record_and_track, repeat, counter, after=outcome)
    engine.dispose()
    return {"subject": subject, "record_and_track_one_run": figures, "last_run_tracked": tracked}


def _env(work: Path, smtp_port: int) -> dict[str, str]:
    """The process's settings: the copy's data folder and the loopback SMTP server; no other
    ASSURE_* setting of this shell."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSURE_")}
    return env | {
        "ASSURE_DATA_DIR": str(work),
        "ASSURE_SMTP_HOST": "127.0.0.1",
        "ASSURE_SMTP_PORT": str(smtp_port),
        "ASSURE_SMTP_STARTTLS": "false",
        "ASSURE_SMTP_FROM": "assure@bench.police.example",
        "ASSURE_EGRESS_ALLOW": "127.0.0.0/8",
    }


# Started between this process and `assure`, it times the process and reads its usage itself:
# Linux carries a parent's peak RSS into its child's ru_maxrss across fork and exec, so a child
# of this process (which has seeded an estate) would report this process's peak, not its own.
# The launcher is a bare interpreter, smaller than any `assure` process.
LAUNCHER = """
import json, os, subprocess, sys, time
started = time.perf_counter()
child = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(child.pid, 0)
wall = time.perf_counter() - started
with open(sys.argv[1], "w") as out:
    json.dump([wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss], out)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def _process(args: list[str], env: dict[str, str]) -> dict[str, Any]:
    """One `assure` process: wall and CPU seconds, peak RSS, and the JSON it printed."""
    # Files, not pipes: a process that prints more than a pipe holds would wait on us forever.
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.TemporaryDirectory() as scratch,
    ):
        usage_file = Path(scratch) / "usage.json"
        argv = [sys.executable, "-I", "-S", "-c", LAUNCHER, str(usage_file)]
        argv += [sys.executable, "-m", "assure_cli.main", *args]
        returncode = subprocess.run(argv, env=env, stdout=out, stderr=err, check=False).returncode
        out.seek(0)
        err.seek(0)
        output, errors = out.read().decode(), err.read().decode()
        if returncode != 0 or not usage_file.exists():
            raise SystemExit(f"assure {' '.join(args)} failed ({returncode}): {errors[-2000:]}")
        wall, cpu, max_rss_kib = json.loads(usage_file.read_text())
    printed = json.loads(output)
    if "ran" in printed and (not printed["ran"] or printed["status"] != "succeeded"):
        raise SystemExit(f"assure {' '.join(args)} did not run: {output[-2000:]}")
    return {
        "wall_seconds": wall,
        "cpu_seconds": cpu,
        "peak_rss_mib": max_rss_kib / 1024,
        "printed": _shown(printed.get("summary", printed)),
    }


def _shown(value: Any) -> Any:
    """What a process printed, its lists of ids as their length."""
    if isinstance(value, dict):
        return {key: _shown(item) for key, item in value.items()}
    if isinstance(value, list):
        return len(value)
    return value


def _schedule(name: str, env: dict[str, str]) -> dict[str, Any]:
    return _process(["schedule", "run", name, "--json"], env)


def _forget_runs(work: Path, names: tuple[str, ...]) -> None:
    """The day's runs of `names` deleted, so running them again runs them (same period)."""
    engine = build_engine(load_settings({"ASSURE_DATA_DIR": str(work)}))
    with transaction(session_factory(engine)) as session:
        session.execute(delete(ScheduleRun).where(ScheduleRun.name.in_(names)))
    engine.dispose()


def _one_night(folder: Path, smtp_port: int) -> dict[str, dict[str, Any]]:
    """A fresh copy; the baselines, each daily schedule in order, then each again."""
    work = _fresh_copy(folder)
    env = _env(work, smtp_port)
    seen = {
        "baseline.schedule_list": _process(["schedule", "list", "--json"], env),
        f"baseline.{BASELINE_SCHEDULE}": _schedule(BASELINE_SCHEDULE, env),
    }
    for name in DAILY:
        seen[name] = _schedule(name, env)
    _forget_runs(work, DAILY)
    for name in DAILY:
        seen[f"{name}.again"] = _schedule(name, env)
    return seen


def _summarise(nights: list[dict[str, dict[str, Any]]]) -> dict[str, Any]:
    """Each path over the repeats: median and p95 wall, median CPU, the largest peak RSS, and
    what the last run printed (every run starts from the same copy, so they print the same but
    for ids and times)."""
    figures: dict[str, Any] = {}
    for path in nights[0]:
        runs = [night[path] for night in nights]
        walls = [run["wall_seconds"] for run in runs]
        figures[path] = {
            "median_seconds": round(statistics.median(walls), 3),
            "p95_seconds": round(p95(walls), 3),
            "median_cpu_seconds": round(statistics.median(r["cpu_seconds"] for r in runs), 3),
            "peak_rss_mib": round(max(run["peak_rss_mib"] for run in runs), 1),
            "printed": runs[-1]["printed"],
        }
    start_up = figures[f"baseline.{BASELINE_SCHEDULE}"]["median_seconds"]
    for path, figure in figures.items():
        if not path.startswith("baseline."):
            figure["over_baseline_seconds"] = round(figure["median_seconds"] - start_up, 3)
    return figures


def measure(suppliers: int, args: argparse.Namespace, counter: StatementCounter) -> dict[str, Any]:
    with estate_folder(args.keep, f"schedules-{suppliers}") as folder:
        prepared = prepare(folder, suppliers, args.listed_share)
        world = _world(folder / ESTATE)
        per_subject = _per_subject(_fresh_copy(folder), args.repeat, counter)
        with smtp_server() as (mailbox, port):
            nights = [_one_night(folder, port) for _ in range(args.repeat)]
            received = len(mailbox.messages)
        shutil.rmtree(folder / WORK, ignore_errors=True)
    return {
        "suppliers": suppliers,
        "prepare": prepared,
        "world": world,
        "per_subject": per_subject,
        "process": _summarise(nights),
        "emails_received_by_loopback_smtp": received,
    }


def _growth(estates: list[dict[str, Any]]) -> dict[str, Any]:
    if len(estates) < 2:
        return {}
    first, last = estates[0], estates[-1]
    sizes = [first["suppliers"], last["suppliers"]]
    growth: dict[str, Any] = {}
    for name in PER_SUBJECT:
        small = first["per_subject"][name.split(".", 1)[1]]
        large = last["per_subject"][name.split(".", 1)[1]]
        growth[name] = _side_by_side(sizes, small, large) | {
            "statements": [small["statements"], large["statements"]]
        }
    for path, large in last["process"].items():
        small = first["process"][path]
        growth[f"process.{path}"] = _side_by_side(sizes, small, large) | {
            "peak_rss_mib": [small["peak_rss_mib"], large["peak_rss_mib"]]
        }
    return growth


def _side_by_side(sizes: list[int], small: dict[str, Any], large: dict[str, Any]) -> dict[str, Any]:
    return {
        "suppliers": sizes,
        "median_seconds": [small["median_seconds"], large["median_seconds"]],
        "ratio": round(large["median_seconds"] / max(small["median_seconds"], 1e-6), 2),
        "median_cpu_seconds": [small["median_cpu_seconds"], large["median_cpu_seconds"]],
        "cpu_ratio": round(large["median_cpu_seconds"] / max(small["median_cpu_seconds"], 1e-6), 2),
    }


def _slow(largest: dict[str, Any]) -> list[str]:
    timed = {f"process.{path}": figure for path, figure in largest["process"].items()}
    timed |= {name: largest["per_subject"][name.split(".", 1)[1]] for name in PER_SUBJECT}
    return sorted(path for path, figure in timed.items() if figure["median_seconds"] > SLOW_SECONDS)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = sizes_parser(__doc__)
    parser.set_defaults(repeat=3)
    parser.add_argument(
        "--listed-share", type=float, default=0.25, help="share of products listed on the lot"
    )
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if not 0 <= args.listed_share <= 1:
        parser.error("--listed-share is a share, 0 to 1")
    estates = measure_sizes(args.suppliers, lambda size, counter: measure(size, args, counter))
    return growth_report(
        "schedules",
        estates,
        _growth(estates),
        GROWTH_RATIO,
        judged=PER_SUBJECT,
        repeat=args.repeat,
        measured_at=datetime.now(UTC).isoformat(timespec="seconds"),
        slow_seconds=SLOW_SECONDS,
        slow=_slow(estates[-1]),
    )


if __name__ == "__main__":
    main()
