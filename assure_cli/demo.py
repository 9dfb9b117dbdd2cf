"""assure demo: a deterministic demo estate."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime

import typer

from assure_cli.context import friendly_errors, open_database, print_json
from posture.demo.seed import seed_demo
from posture.demo.snapshots import take_demo_snapshots
from posture.platform_keys import platform_keys
from posture.storage.engine import transaction
from supplier_portal.automation import run_demo_schedules
from supplier_portal.demo_caf_draft import start_caf_draft
from supplier_portal.demo_challenges import seed_challenges
from supplier_portal.demo_findings import seed_findings
from supplier_portal.demo_passports import seed_passports
from supplier_portal.demo_procurement import seed_procurement
from supplier_portal.demo_risk import seed_risk_register

app = typer.Typer(help="Fill an empty database with a demo estate.", no_args_is_help=True)


def _first_of_this_month() -> date:
    return datetime.now(UTC).date().replace(day=1)


@app.command()
@friendly_errors
def seed(
    suppliers: int = typer.Option(200, min=0, help="How many synthetic suppliers to create."),
    seed: int = typer.Option(2026, help="Random seed: the same seed gives the same estate."),
    as_of: datetime | None = typer.Option(
        None, formats=["%Y-%m-%d"], help="End of the 24-month history (default: this month)."
    ),
    with_logins: bool = typer.Option(
        False, help="Give one user per role a random password, printed once."
    ),
    json_output: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Seed the 43 forces, national bodies and N suppliers with 24 months of assessments."""
    end = as_of.date() if as_of else _first_of_this_month()
    started = time.perf_counter()
    with open_database() as db:
        with transaction(db.sessions) as session:
            result = seed_demo(session, suppliers, seed, end, with_logins)
            force = next((x for x in result.logins if x.role == "force_assessor"), None)
            # The force assessor's CAF 4.0 draft, its answers inferred from PTSbD to confirm.
            caf_draft = start_caf_draft(session, force.email) if force is not None else None
            siro = next((x for x in result.logins if x.role == "siro"), None)
            # The same force's risk register, with a second force's rating to compare against.
            risk_register = (
                seed_risk_register(session, force.email, siro.email, end)
                if force is not None and siro is not None
                else None
            )
            national = next((x for x in result.logins if x.role == "national_assessor"), None)
            # Passports for the force's deployed products, relied on, one suspended.
            passports = (
                seed_passports(
                    session,
                    national.email,
                    force.email,
                    platform_keys(db.settings),
                    risk_register["product_ids"],
                )
                if risk_register is not None and national is not None and force is not None
                else None
            )
            officer = next((x for x in result.logins if x.role == "procurement_officer"), None)
            # A framework with two lots, listings decided on their gates, a shortlist saved twice.
            procurement = seed_procurement(session, officer.email, end) if officer else None
            manager = next((x for x in result.logins if x.role == "challenge_manager"), None)
            judge = next((x for x in result.logins if x.role == "challenge_judge"), None)
            # A closed challenge judged but for the judge's last entry, and one open to enter.
            challenges = (
                seed_challenges(session, manager.email, judge.email)
                if manager is not None and judge is not None and suppliers >= 4
                else None
            )
            supplier = next((x for x in result.logins if x.role == "supplier_admin"), None)
            # Tracked findings for the demo supplier and the force's products, one disputed.
            findings = (
                seed_findings(session, supplier.email, risk_register["product_ids"])
                if supplier is not None and risk_register is not None
                else None
            )
        snapshots = None
        if result.logins:
            with transaction(db.sessions) as session:
                # Two snapshots months apart: trends and band changes show at first sign-in.
                snapshots = take_demo_snapshots(session, end)
        # The daily sweeps, run once as a worker would, so the Schedules page has outcomes and
        # the inboxes their reminders (only for an estate people sign in to).
        schedules = run_demo_schedules(db.settings, db.sessions) if result.logins else None
    elapsed = round(time.perf_counter() - started, 2)
    if json_output:
        print_json(
            {
                "counts": result.counts,
                "seconds": elapsed,
                "as_of": end,
                "logins": [login.__dict__ for login in result.logins],
                "caf_draft_assessment_id": caf_draft,
                "risk_register": risk_register,
                "passports": passports,
                "findings": findings,
                "procurement": procurement,
                "challenges": challenges,
                "snapshots": snapshots,
                "schedules": schedules,
                "journey_product_id": (
                    risk_register["journey_product_id"] if risk_register is not None else None
                ),
            }
        )
        return
    typer.echo(f"seeded demo estate as of {end} in {elapsed}s:")
    for name, count in result.counts.items():
        typer.echo(f"  {name:<14}{count:>9,}")
    if caf_draft is not None:
        typer.echo(f"the force assessor has a CAF 4.0 draft ({caf_draft}) with inferred answers")
    if risk_register is not None:
        typer.echo(
            f"the force's risk register has {len(risk_register['scenario_ids'])} scenarios on "
            f"{len(risk_register['product_ids'])} deployed products, one accepted by its SIRO"
        )
        portfolio = risk_register["portfolio"]
        typer.echo(
            f"its portfolio record was imported ({portfolio['imported_rows']} rows) and "
            f"{portfolio['other_force_deployments']} other forces' deployments of the same "
            "products show on the dashboards' concentration tab"
        )
    if passports is not None:
        typer.echo(
            f"{len(passports['passports'])} passports issued on the national assessor's "
            f"acceptance; the force relies on {len(passports['relied_on_by_demo_force'])} and "
            f"{passports['other_forces_relying']} other forces on the first"
            + (
                f"; {passports['suspended_passport']} is suspended"
                if passports["suspended_passport"]
                else ""
            )
        )
    if findings is not None:
        typer.echo(
            f"{findings['findings_tracked']} findings tracked from {findings['runs_tracked']} "
            "check runs; the supplier disputes one, for the national assessor to decide"
        )
    if snapshots is not None:
        typer.echo(
            "posture snapshots taken on "
            + " and ".join(f"{day} ({count:,} subjects)" for day, count in snapshots.items())
        )
    if procurement is not None:
        typer.echo(
            "the procurement officer's framework has "
            + ", ".join(
                f"a lot with {lot['listings']} of {lot['applications']} applicants listed"
                for lot in procurement["lots"].values()
            )
            + f", and a shortlist saved in {len(procurement['shortlist_versions'])} versions"
        )
    if challenges is not None:
        closed = challenges["closed"]
        typer.echo(
            f"a closed challenge has {closed['entries']} entries judged by two judges each (the "
            "demo judge declared a conflict with one entrant first), "
            f"{challenges['unscored']} score left for the demo judge; another is open to enter"
        )
    if schedules is not None:
        typer.echo(
            "ran once as a worker would: "
            + ", ".join(f"{name} ({outcome['status']})" for name, outcome in schedules.items())
        )
    if result.logins:
        typer.echo("one-time passwords (shown only now):")
        for login in result.logins:
            typer.echo(f"  {login.role:<20}{login.email:<55}{login.password}")
    else:
        typer.echo("demo users have no passwords; use --with-logins to get one per role")
