"""A real `assure serve` (app and one worker) on a seeded, snapshotted SQLite estate, and
Debian's Chromium driven by Playwright. Screenshots go to $ASSURE_SCREENSHOTS when set."""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.browser.accessibility import wait_until_idle
from tests.cli import assure
from tests.peers.processes import free_port, serving

CHROMIUM = Path("/usr/bin/chromium")
ADMIN = ("admin@example.police.uk", "correct horse battery staple")
LISTED = 3


@dataclass(frozen=True)
class Served:
    url: str
    logins: dict[str, tuple[str, str]]  # role -> (email, password)
    # Each user's TOTP secret once enrolled, and the newest time step they have used: a code
    # works once, so the next sign-in must use a later step.
    totp: dict[str, str] = field(default_factory=dict)
    used_steps: dict[str, int] = field(default_factory=dict)
    # The server's environment, for a test that sets up through the services as users would.
    env: dict[str, str] = field(default_factory=dict)

    def next_code(self, email: str) -> str:
        import pyotp

        while True:
            now = int(time.time() // 30)
            for step in (now, now + 1):
                if step > self.used_steps.get(email, 0):
                    self.used_steps[email] = step
                    return pyotp.TOTP(self.totp[email]).at(step * 30)
            time.sleep(1)


def _prepare(env: dict[str, str]) -> dict[str, tuple[str, str]]:
    assert assure("db", "upgrade", env=env).returncode == 0
    # Fixed dates keep the estate, and the band changes between the demo's two snapshots (taken
    # on 2026-09-01 and 2026-11-01), the same every day.
    seeded = assure(
        "demo",
        "seed",
        "--suppliers",
        "20",
        "--as-of",
        "2026-11-01",
        "--with-logins",
        "--json",
        env=env,
    )
    assert seeded.returncode == 0, seeded.stderr
    logins = {
        login["role"]: (login["email"], login["password"])
        for login in json.loads(seeded.stdout)["logins"]
    }
    email, password = ADMIN
    created = assure(
        "admin",
        "create",
        "--email",
        email,
        "--name",
        "Admin",
        "--password-stdin",
        env=env,
        input_text=password + "\n",
    )
    assert created.returncode == 0, created.stderr
    _list_products_on_a_lot(env, logins["procurement_officer"][0], LISTED)
    return logins | {"platform_admin": ADMIN}


def _list_products_on_a_lot(env: dict[str, str], officer_email: str, count: int) -> None:
    """A framework lot with `count` listed products, made through the services as the officer
    and each product's supplier admin would make them on the listings page."""
    from sqlalchemy import select

    from kernel.settings import load_settings
    from posture.identity.accounts import principal_for
    from posture.storage.engine import build_engine, session_factory, transaction
    from posture.storage.models import Membership, Product, User
    from posture.storage.models.enums import Role
    from supplier_portal.procurement import lots
    from supplier_portal.procurement.gates import Gates

    engine = build_engine(load_settings(env))
    try:
        with transaction(session_factory(engine)) as session:
            officer_user = session.scalars(select(User).where(User.email == officer_email)).one()
            officer = principal_for(session, officer_user)
            home = sorted(officer.organisation_ids())[0]
            framework = lots.create_framework(session, officer, home, "Digital evidence")
            lot = lots.add_lot(
                session, officer, framework.id, "dems", "Evidence management", Gates()
            )
            products = session.scalars(select(Product).order_by(Product.id).limit(count)).all()
            for product in products:
                admin_user = session.scalars(
                    select(User)
                    .join(Membership, Membership.user_id == User.id)
                    .where(
                        Membership.organisation_id == product.organisation_id,
                        Membership.role == Role.SUPPLIER_ADMIN,
                    )
                    .limit(1)
                ).one()
                application = lots.apply_product(
                    session, principal_for(session, admin_user), lot.id, product.id
                )
                for status in ("under_review", "listed"):
                    lots.transition(session, officer, application.id, status)
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One served estate for all browser tests in a worker: seeding and scoring take a while."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSURE_")}
    env["ASSURE_DATA_DIR"] = str(tmp_path_factory.mktemp("served") / "data")
    env["ASSURE_EGRESS_ALLOW"] = "127.0.0.0/8"
    logins = _prepare(env)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "-m", "assure_cli.main", "serve", "--port", str(port), "--workers", "1"]
    with serving(argv, env, f"{url}/_stcore/health"):
        yield Served(url, logins, env=env)


@pytest.fixture(scope="session")
def chromium():  # type: ignore[no-untyped-def]
    """One Chromium per worker; each test gets a context of its own (no shared cookies)."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def browser_page(chromium):  # type: ignore[no-untyped-def]
    before = list(chromium.contexts)
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    try:
        yield context.new_page()
    finally:
        # With it, whatever pages the test opened itself (browser.new_page makes a context).
        for opened in chromium.contexts:
            if opened not in before:
                opened.close()


def sign_in(page, served: Served, role: str) -> None:  # type: ignore[no-untyped-def]
    """Sign in as the seeded user for `role`."""
    from playwright.sync_api import expect

    page.goto(served.url)
    expect(page.get_by_text("Sign in to PoliceTech Assure")).to_be_visible(timeout=30_000)
    submit_sign_in(page, served, role)


def submit_sign_in(page, served: Served, role: str, timeout: int = 30_000) -> None:  # type: ignore[no-untyped-def]
    """On the sign-in page: the password, then enrolment or a code where the role needs it."""
    from playwright.sync_api import expect

    email, password = served.logins[role]
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    signed_in = page.get_by_text(f"Signed in as {email}")
    enrol = page.get_by_text("Set up two-step verification")
    verify = page.get_by_text("Two-step verification", exact=True)
    expect(signed_in.or_(enrol).or_(verify)).to_be_visible(timeout=timeout)
    # A click while the page is still rerunning can land on what the rerun draws there instead
    # ("Start again" sits under "Confirm"): act once it is quiet.
    wait_until_idle(page)
    if enrol.is_visible():
        served.totp[email] = page.locator("[data-testid='stCode'] code").first.inner_text()
        page.get_by_label("Code from the app").fill(served.next_code(email))
        page.get_by_role("button", name="Confirm").click()
        saved = page.get_by_role("button", name="I have saved my recovery codes")
        expect(saved).to_be_visible(timeout=timeout)
        saved.click()
    elif verify.is_visible():
        page.get_by_label("Code").fill(served.next_code(email))
        page.get_by_role("button", name="Verify").click()
    expect(signed_in).to_be_visible(timeout=timeout)


def screenshot(page, folder: Path, name: str) -> Path:  # type: ignore[no-untyped-def]
    page.wait_for_timeout(1_000)  # let data grids paint before the capture
    shot = folder / f"{name}.png"
    page.screenshot(path=str(shot), full_page=True)
    keep = os.environ.get("ASSURE_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(keep) / shot.name)
    return shot
