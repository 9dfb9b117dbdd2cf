"""Browser: a supplier queues a PQC check of a loopback TLS server and sees the result; a
refresh while it runs keeps them signed in; the downloads all arrive whichever is clicked first
(issue 25: the attestation ZIP failed when clicked just after the CBOM); the page passes axe."""

from __future__ import annotations

import io
import json
import time
import zipfile
from pathlib import Path

from tests.browser.accessibility import assert_accessible, wait_until_idle
from tests.browser.conftest import Served, screenshot, sign_in
from tests.peers.certificates import make_certificate
from tests.peers.servers import LoopbackServer, pyopenssl_handler


def test_a_supplier_runs_a_tls_check_and_sees_the_result(
    served: Served, browser_page, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page = browser_page
    cert, key = make_certificate(tmp_path, "mldsa65")
    with LoopbackServer(pyopenssl_handler(cert, key)) as server:
        sign_in(page, served, "supplier_admin")
        page.get_by_role("link", name="Product checks").click()
        expect(page.get_by_role("heading", name="Product checks")).to_be_visible(timeout=30_000)
        page.get_by_label("Endpoint (host:port)").fill(f"127.0.0.1:{server.port}")
        page.get_by_label("Endpoint (host:port)").press("Enter")
        page.get_by_role("button", name="Run check").click()
        expect(page.get_by_text("TLS check queued as job")).to_be_visible(timeout=30_000)
        # The worker process runs the job; the page's polling fragment notices it finish.
        expect(page.get_by_text("Results on record")).to_be_visible(timeout=60_000)
        # A re-render may briefly hold the old and the new copy of the heading.
        expect(page.get_by_text("Latest run").first).to_be_visible()
        expect(page.get_by_role("button", name="Download SARIF")).to_be_visible()
    assert screenshot(page, tmp_path, "product-check").stat().st_size > 10_000


def test_a_refresh_mid_check_keeps_the_session_and_both_downloads_arrive_back_to_back(
    served: Served, browser_page, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page = browser_page
    email = served.logins["supplier_admin"][0]
    cert, key = make_certificate(tmp_path, "mldsa65")
    with LoopbackServer(pyopenssl_handler(cert, key)) as server:
        sign_in(page, served, "supplier_admin")
        page.get_by_role("link", name="Product checks").click()
        expect(page.get_by_role("heading", name="Product checks")).to_be_visible(timeout=30_000)
        endpoint = page.get_by_label("Endpoint (host:port)")
        # Refused at the form, and nothing queued: the cloud metadata address.
        endpoint.fill("169.254.169.254:80")
        endpoint.press("Enter")
        page.get_by_role("button", name="Run check").click()
        expect(page.get_by_text("link-local (including cloud metadata)")).to_be_visible(
            timeout=30_000
        )
        expect(page.get_by_text("check queued as job")).to_have_count(0)
        endpoint.fill(f"127.0.0.1:{server.port}")
        endpoint.press("Enter")
        page.get_by_role("button", name="Run check").click()
        expect(page.get_by_text("TLS check queued as job")).to_be_visible(timeout=30_000)
        # Mid-journey: the check is queued or running. A refresh keeps the session.
        _wait_for_session_cookie(page)
        page.reload()
        expect(page.get_by_text(f"Signed in as {email}")).to_be_visible(timeout=30_000)
        expect(page.get_by_role("heading", name="Product checks")).to_be_visible(timeout=30_000)
        expect(page.get_by_text("Sign in to PoliceTech Assure")).to_have_count(0)
        expect(page.get_by_text("Results on record")).to_be_visible(timeout=90_000)
    cbom = page.get_by_role("button", name="Download CBOM")
    bundle = page.get_by_role("button", name="Download signed attestation bundle (ZIP)")
    # A rerun may briefly hold the old and the new copy of a button.
    expect(cbom).to_have_count(1, timeout=30_000)
    expect(bundle).to_have_count(1, timeout=30_000)
    wait_until_idle(page)
    assert_accessible(page)
    downloads = []
    page.on("download", lambda download: downloads.append(download))
    cbom.click()
    bundle.click()  # at once, as the user did
    deadline = time.monotonic() + 30
    while len(downloads) < 2 and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert len(downloads) == 2, [d.suggested_filename for d in downloads]
    assert all(d.failure() is None for d in downloads)
    cbom_file = _saved(downloads, ".cdx.json", tmp_path)
    zip_file = _saved(downloads, "-attested.zip", tmp_path)
    assert json.loads(cbom_file.read_bytes())["bomFormat"] == "CycloneDX"
    with zipfile.ZipFile(io.BytesIO(zip_file.read_bytes())) as archive:
        names = set(archive.namelist())
        cbom_name = cbom_file.name
        # The ZIP signs the very CBOM that was downloaded beside it.
        assert archive.read(cbom_name) == cbom_file.read_bytes()
        assert json.loads(archive.read(f"{cbom_name}.sig.json"))
    stem = cbom_name.removesuffix(".cdx.json")
    assert {f"{stem}.json", f"{stem}.sarif", f"{stem}.junit.xml", "VERIFY.txt"} <= names
    assert screenshot(page, tmp_path, "product-check-downloads").stat().st_size > 10_000


def _saved(downloads, suffix: str, folder: Path) -> Path:  # type: ignore[no-untyped-def]
    (download,) = [d for d in downloads if d.suggested_filename.endswith(suffix)]
    target = folder / download.suggested_filename
    download.save_as(str(target))
    return target


def _wait_for_session_cookie(page) -> None:  # type: ignore[no-untyped-def]
    # The page hands the session to its cookie once a signed-in page has drawn.
    for _ in range(100):
        if any(c["name"] == "assure_session" for c in page.context.cookies()):
            return
        page.wait_for_timeout(200)
    raise AssertionError("the browser was given no session cookie")
