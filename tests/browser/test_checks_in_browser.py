"""Browser: a supplier queues a PQC check of a loopback TLS server and sees the result."""

from __future__ import annotations

from pathlib import Path

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
