"""A client of tls_clients.yaml this scanner's OpenSSL cannot build (a group it lacks, here the
pre-standard Kyber draft OpenSSL 4 dropped) against a real OpenSSL 4 server: that client's replay
is reported as not built, and the rest of the check runs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from checks.egress import EgressPolicy
from checks.report import ReportStatus
from checks.tls import policy
from checks.tls.check import run_tls_check
from tests.peers import servers
from tests.peers.certificates import make_certificate

LOOPBACK = EgressPolicy.loopback_only()


@pytest.fixture(scope="module")
def ecdsa(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_certificate(tmp_path_factory.mktemp("certs"), "ecdsa")


@pytest.fixture
def browser_with_kyber_draft(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """tls_clients.yaml as shipped, with the browser also listing X25519Kyber768Draft00 (in the
    algorithm catalogue with a TLS code, unknown to OpenSSL 4)."""
    read = policy._read

    def with_draft(name: str) -> Any:
        data = read(name)
        if name == "tls_clients.yaml":
            for client in data["clients"]:
                if client["id"] == "browser":
                    client["groups"] = [*client["groups"], "X25519Kyber768Draft00"]
        return data

    policy.tls_clients.cache_clear()
    monkeypatch.setattr(policy, "_read", with_draft)
    yield
    monkeypatch.undo()
    policy.tls_clients.cache_clear()


def test_a_client_the_local_openssl_cannot_build_is_reported_and_the_rest_runs(
    ecdsa, browser_with_kyber_draft
) -> None:
    with servers.serving(servers.pyopenssl_handler(*ecdsa)) as server:
        report = run_tls_check(f"127.0.0.1:{server.port}", LOOPBACK)
    assert report.status is ReportStatus.COMPLETED
    clients = {c["client"]: c for c in report.details["clients"]}
    browser = clients["browser"]
    assert (browser["group"], browser["inconclusive"]) == (None, True)
    assert "cannot build this client" in browser["answer"]
    assert "X25519Kyber768Draft00" in browser["answer"]
    # The classical-first client, the groups, the versions and the handshake are unaffected.
    assert clients["classical-first"]["group"] == "X25519MLKEM768"
    assert report.details["handshake"]["group"] == "X25519MLKEM768"
    assert report.details["versions"]["TLSv1.3"] is True
    supported = {g["name"] for g in report.details["groups"] if g["supported"]}
    assert {"X25519MLKEM768", "X25519"} <= supported
    inconclusive = next(f for f in report.findings if f.code == "TLS-PROBE-001")
    assert inconclusive.evidence["clients"] == ["browser"]
    assert "TLS-PROTO-001" not in {f.code for f in report.findings}
