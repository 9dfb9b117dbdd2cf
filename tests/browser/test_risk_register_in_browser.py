"""One journey through the risk register in Chromium, on the demo estate at the browser fixture's
size: a force assessor raises a scenario from a supplier's contradicted claim on a product the
force deploys, the force's SIRO accepts it for 90 days, and the register shows it accepted until
that day."""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.browser.conftest import CHROMIUM, Served, screenshot, sign_in
from tests.cli import assure
from tests.peers.processes import free_port, serving


@dataclass(frozen=True)
class Journey:
    served: Served
    product: str
    impact: str  # the impact name that makes the suggested likelihood a high risk


def _preconditions(env: dict[str, str], assessor_email: str, siro_email: str) -> tuple[str, str]:
    """Through the services, as the Deployments section would: the assessor's force deploys the
    first product with a contradicted claim. Returns its name and the impact at which the
    claim's suggested likelihood makes a high risk (accepted for at most 90 days)."""
    from sqlalchemy import select

    from frameworks.risk.likelihood import EvidenceKind
    from frameworks.risk.policy import risk_policy
    from kernel.clock import utcnow
    from kernel.settings import load_settings
    from posture.identity.accounts import principal_for
    from posture.portfolio.deployments import DEPLOYABLE, deploy_product
    from posture.risk.evidence import available_evidence, suggest_from
    from posture.storage.engine import build_engine, session_factory, transaction
    from posture.storage.models import Product, User

    engine = build_engine(load_settings(env))
    try:
        with transaction(session_factory(engine)) as session:
            people = {
                email: principal_for(
                    session, session.scalars(select(User).where(User.email == email)).one()
                )
                for email in (assessor_email, siro_email)
            }
            force = sorted(people[assessor_email].organisation_ids())[0]
            assert force in people[siro_email].organisation_ids(), "SIRO of another force"
            for product in session.scalars(select(Product).where(DEPLOYABLE).order_by(Product.id)):
                claims = [
                    view
                    for view in available_evidence(session, product.id, utcnow().date())
                    if view.kind is EvidenceKind.CONTRADICTED_CLAIM
                ]
                if claims:
                    break
            else:
                pytest.fail("the demo estate has no contradicted claim")
            deploy_product(session, people[assessor_email], force, product.id)
            matrix = risk_policy().matrix
            likelihood = suggest_from(claims[:1]).likelihood
            impact = next(
                level.name
                for level in matrix.impact_levels
                if matrix.level_of(likelihood, level.id).id == "high"
            )
            return product.name, impact
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def journey(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Journey]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSURE_")}
    env["ASSURE_DATA_DIR"] = str(tmp_path_factory.mktemp("risk-register") / "data")
    assert assure("db", "upgrade", env=env).returncode == 0
    seeded = assure(
        "demo", "seed", "--suppliers", "20", "--as-of", "2026-11-01", "--with-logins", "--json",
        env=env,
    )  # fmt: skip
    assert seeded.returncode == 0, seeded.stderr
    logins = {
        login["role"]: (login["email"], login["password"])
        for login in json.loads(seeded.stdout)["logins"]
    }
    assert "siro" in logins, "the demo seed gives no SIRO login"
    # One snapshot run, for the dashboards the national assessor opens.
    snapshot = assure("score", "--snapshot", "--as-of", "2026-11-01", env=env)
    assert snapshot.returncode == 0, snapshot.stderr
    product, impact = _preconditions(env, logins["force_assessor"][0], logins["siro"][0])
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "-m", "assure_cli.main", "serve", "--port", str(port), "--workers", "1"]
    with serving(argv, env, f"{url}/_stcore/health"):
        yield Journey(Served(url, logins), product, impact)


def _choose(page, label: str, option: str) -> None:  # type: ignore[no-untyped-def]
    page.get_by_label(label, exact=True).first.click()
    page.keyboard.type(option)  # narrows a long list, as a user would
    page.get_by_role("option", name=option).first.click()


def test_a_contradicted_claim_is_raised_accepted_and_shown_accepted(
    journey: Journey, browser_page, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    page, served = browser_page, journey.served
    sign_in(page, served, "force_assessor")
    page.get_by_role("link", name="Risk scenarios").click()
    expect(page.get_by_role("heading", name="Risk scenarios")).to_be_visible(timeout=30_000)
    _choose(page, "Subject", f"Deployed product: {journey.product}")
    page.get_by_label("Evidence about the product").click()
    # The product has dozens of pieces of evidence; typing narrows the list as a user would.
    page.keyboard.type("contradicted_claim")
    page.get_by_role("option", name=re.compile(r"^contradicted_claim: ")).first.click()
    page.keyboard.press("Escape")
    # The suggestion and why, before anything is submitted.
    expect(page.get_by_text("is contradicted by evidence").first).to_be_visible(timeout=30_000)
    _choose(page, "Threat", "Harvest now, decrypt later")
    page.get_by_label("Title", exact=True).fill("Harvest now, decrypt later on custody data")
    page.get_by_label("The threat", exact=True).fill("Recorded traffic decrypted later.")
    page.get_by_label("The vulnerability", exact=True).fill("Key exchange is not post-quantum.")
    _choose(page, "Current impact", journey.impact)
    page.get_by_role("button", name="Raise the scenario").click()
    expect(page.get_by_text("Scenario raised.")).to_be_visible(timeout=30_000)
    # The new scenario is the one shown, resting on the claim, which is still current.
    shown = page.get_by_role("combobox", name="Scenario", exact=True)
    expect(shown).to_have_value(re.compile("Harvest now, decrypt later on custody data$"))
    linked = page.locator("[role=gridcell]", has_text=re.compile(r"^current$"))
    expect(linked.first).to_be_attached(timeout=30_000)
    screenshot(page, tmp_path, "risk-scenario-raised")

    siro_page = page.context.browser.new_page(viewport={"width": 1400, "height": 1000})
    sign_in(siro_page, served, "siro")
    siro_page.get_by_role("link", name="Risk decisions").click()
    expect(siro_page.get_by_text("for at most 90 days")).to_be_visible(timeout=30_000)
    until = date.today() + timedelta(days=90)
    siro_page.get_by_label("Rationale (20 characters or more)").fill(
        "Traffic stays on the force network until the supplier ships hybrid key exchange."
    )
    day = siro_page.get_by_label(re.compile(r"^Accepted until"))
    # A date field of year, month and day segments: typing fills each in turn.
    day.locator("[role=spinbutton]").first.click()
    siro_page.keyboard.type(until.strftime("%Y%m%d"))
    siro_page.keyboard.press("Tab")
    siro_page.get_by_role("button", name="Accept the risk").click()
    expect(siro_page.get_by_text(f"Accepted until {until.isoformat()}.")).to_be_visible(
        timeout=30_000
    )

    siro_page.get_by_role("link", name="Risk register").click()
    expect(siro_page.get_by_role("heading", name="Risk register")).to_be_visible(timeout=30_000)
    expect(siro_page.get_by_test_id("stDataFrame").first).to_be_visible(timeout=30_000)
    row = siro_page.locator("[role=row]", has_text="Harvest now, decrypt later on custody data")
    expect(row.first).to_contain_text("accepted", timeout=30_000)
    expect(row.first).to_contain_text(until.isoformat(), timeout=30_000)
    text_alternative = siro_page.get_by_text("Heatmap as text:")
    expect(text_alternative).to_contain_text(f"{journey.impact} impact (High): ")
    screenshot(siro_page, tmp_path, "risk-register-accepted")


def test_a_force_imports_its_portfolio_and_a_national_assessor_sees_the_concentration(
    journey: Journey, browser_page, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    page, served = browser_page, journey.served
    sign_in(page, served, "force_assessor")
    page.get_by_role("link", name="Risk register").click()
    expect(page.get_by_role("heading", name="Risk register")).to_be_visible(timeout=30_000)
    page.get_by_text("Our portfolio as a spreadsheet").click()
    # An asset list with one bad row: nothing is imported, and the row is named.
    bad = tmp_path / "assets.csv"
    bad.write_text(
        "Product,Criticality,Contract end,Sub suppliers\n"
        f'"{journey.product}",Mission critical,31/03/2028,Acme Hosting; Tiny Ltd\n'
        "No Such Product,administrative,2028-01-01,\n",
        encoding="utf-8",
    )
    page.locator("input[type=file]").set_input_files(str(bad))
    # The upload reaches the app before the click does.
    expect(page.get_by_text("assets.csv", exact=True)).to_be_visible(timeout=30_000)
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.get_by_text("Nothing was imported: 1 row(s) have problems.")).to_be_visible(
        timeout=30_000
    )
    expect(
        page.locator("[role=gridcell]", has_text="'No Such Product' not found").first
    ).to_be_attached(timeout=30_000)
    good = tmp_path / "assets-fixed.csv"
    good.write_text("\n".join(bad.read_text(encoding="utf-8").splitlines()[:2]) + "\n")
    page.locator("input[type=file]").set_input_files(str(good))
    expect(page.get_by_text("assets-fixed.csv", exact=True)).to_be_visible(timeout=30_000)
    # The upload's own run has finished once the last import's refusal is gone: a click before
    # then can be lost in that run.
    refusal = page.get_by_text("Nothing was imported: 1 row(s) have problems.")
    expect(refusal).to_have_count(0, timeout=30_000)
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.get_by_text(re.compile(r"^Imported 1 row\(s\)"))).to_be_visible(timeout=30_000)
    row = page.locator("[role=row]", has_text=journey.product)
    expect(row.first).to_contain_text("Mission critical", timeout=30_000)
    screenshot(page, tmp_path, "portfolio-imported")
    # The section stays open with an empty uploader, and the same file imports again,
    # changing nothing.
    expect(page.get_by_text("assets-fixed.csv", exact=True)).to_have_count(0)
    page.locator("input[type=file]").set_input_files(str(good))
    expect(page.get_by_text("assets-fixed.csv", exact=True)).to_be_visible(timeout=30_000)
    expect(page.get_by_text(re.compile(r"^Imported 1 row\(s\)"))).to_have_count(0, timeout=30_000)
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.get_by_text("0 changed, 1 unchanged")).to_be_visible(timeout=30_000)

    national = page.context.browser.new_page(viewport={"width": 1400, "height": 1000})
    sign_in(national, served, "national_assessor")
    national.get_by_role("link", name="Posture dashboards").click()
    national.get_by_role("tab", name="Concentration").click()
    expect(national.get_by_text(re.compile(r"^The \d+ heaviest products$"))).to_be_visible(
        timeout=30_000
    )
    expect(national.get_by_text("Fourth parties (sub-suppliers)")).to_be_visible()
    screenshot(national, tmp_path, "concentration")


def test_a_force_downloads_a_passport_verifies_it_and_a_changed_copy_fails(
    journey: Journey, browser_page, tmp_path: Path
) -> None:
    """The demo's passports: the force assessor picks a valid one, downloads the signed file and
    verifies it on the page; a copy with one byte changed is refused; the national assessor sees
    the assessments reliance saved."""
    from playwright.sync_api import expect

    page, served = browser_page, journey.served
    sign_in(page, served, "force_assessor")
    page.get_by_role("link", name="Passports").click()
    expect(page.get_by_role("heading", name="Assurance passports")).to_be_visible(timeout=30_000)
    page.get_by_label("Passport", exact=True).first.click()
    page.get_by_role("option", name=re.compile(r"\(valid\)$")).first.click()
    with page.expect_download(timeout=30_000) as downloading:
        page.get_by_role("button", name="Download the signed passport (JSON)").click()
    signed = tmp_path / "passport.json"
    downloading.value.save_as(signed)
    assert json.loads(signed.read_bytes())["passport"]["number"].startswith("PP-")

    upload = page.locator("input[type=file]")
    upload.set_input_files(str(signed))
    expect(page.get_by_text(re.compile(r"^Valid: PP-"))).to_be_visible(timeout=30_000)
    screenshot(page, tmp_path, "passport-verified")
    changed = tmp_path / "changed.json"
    changed.write_bytes(signed.read_bytes().replace(b'"band":"', b'"band":"A', 1))
    upload.set_input_files(str(changed))
    refused = "Not valid: this is not a passport exactly as the platform signed it"
    expect(page.get_by_text(refused)).to_be_visible(timeout=30_000)
    expect(page.get_by_text(re.compile("the signature does not hold"))).to_be_visible()

    national = page.context.browser.new_page(viewport={"width": 1400, "height": 1000})
    sign_in(national, served, "national_assessor")
    national.get_by_role("link", name="Passports").click()
    avoided = national.get_by_test_id("stMetric").filter(has_text="Assessments avoided")
    expect(avoided).to_contain_text(re.compile(r"Assessments avoided\s*\d{2,}"), timeout=30_000)
    screenshot(national, tmp_path, "passports-national")
