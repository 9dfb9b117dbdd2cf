"""A real `assure serve` (app and one worker) on a seeded, snapshotted SQLite estate, and
Debian's Chromium driven by Playwright. Screenshots go to $ASSURE_SCREENSHOTS when set."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.cli import assure

CHROMIUM = Path("/usr/bin/chromium")
ADMIN = ("admin@example.police.uk", "correct horse battery staple")


@dataclass(frozen=True)
class Served:
    url: str
    logins: dict[str, tuple[str, str]]  # role -> (email, password)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _prepare(env: dict[str, str]) -> dict[str, tuple[str, str]]:
    assert assure("db", "upgrade", env=env).returncode == 0
    seeded = assure("demo", "seed", "--suppliers", "20", "--with-logins", "--json", env=env)
    assert seeded.returncode == 0, seeded.stderr
    logins = {
        login["role"]: (login["email"], login["password"])
        for login in json.loads(seeded.stdout)["logins"]
    }
    for args in (("score", "--snapshot", "--as-of", "2026-10-01"), ("score", "--snapshot")):
        assert assure(*args, env=env).returncode == 0, args
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
    return logins | {"platform_admin": ADMIN}


@pytest.fixture
def served(sqlite_env: dict[str, str]) -> Iterator[Served]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    env = {**sqlite_env, "ASSURE_EGRESS_ALLOW": "127.0.0.0/8"}
    logins = _prepare(env)
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "assure_cli.main", "serve", "--port", str(port), "--workers", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):  # noqa: S310
                    break
            except OSError:
                time.sleep(0.5)
        yield Served(url, logins)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


@pytest.fixture
def browser_page(tmp_path: Path):  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            yield browser.new_page(viewport={"width": 1400, "height": 1000})
        finally:
            browser.close()


def sign_in(page, served: Served, role: str) -> float:  # type: ignore[no-untyped-def]
    """Sign in as the seeded user for `role`; returns the seconds the sign-in page took to load."""
    from playwright.sync_api import expect

    email, password = served.logins[role]
    started = time.monotonic()
    page.goto(served.url)
    expect(page.get_by_text("Sign in to PoliceTech Assure")).to_be_visible(timeout=30_000)
    first_load = time.monotonic() - started
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text(f"Signed in as {email}")).to_be_visible(timeout=30_000)
    return first_load


def screenshot(page, folder: Path, name: str) -> Path:  # type: ignore[no-untyped-def]
    page.wait_for_timeout(1_000)  # let data grids paint before the capture
    shot = folder / f"{name}.png"
    page.screenshot(path=str(shot), full_page=True)
    keep = os.environ.get("ASSURE_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(keep) / shot.name)
    return shot
