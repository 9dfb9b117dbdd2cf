"""The TLS check behind a real connection-limiting proxy on loopback (tests/peers/servers.py): a
connection the limit resets is no answer about the group it asked for, so a group the server
takes is reported supported or inconclusive, never unsupported; and what was not seen is credited
nothing, so a peer that resets the probes it would fail never scores above one that answers
them."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from checks.egress import EgressPolicy
from checks.findings import finding_catalogue
from checks.readiness import key_exchange_score
from checks.report import ReportStatus
from checks.tls.check import run_tls_check
from tests.peers import servers
from tests.peers.certificates import make_certificate

LOOPBACK = EgressPolicy.loopback_only()
# What OpenSSL 4 takes with its default groups, probed one at a time without a proxy.
TAKEN = {
    "X25519MLKEM768",
    "SecP256r1MLKEM768",
    "X25519",
    "ECDH-P256",
    "ECDH-P384",
    "ECDH-P521",
    "X448",
    "FFDHE-2048",
    "FFDHE-3072",
}


@pytest.fixture(scope="module")
def ecdsa(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_certificate(tmp_path_factory.mktemp("certs"), "ecdsa")


def _behind(handler: servers.Handler, limit: int, total: int | None = None):  # type: ignore[no-untyped-def]
    with servers.limited(handler, limit, total) as proxy:
        # A long per-answer timeout: on a loaded machine a slow answer through a one-connection
        # proxy must not pass for the inconclusive answer a limit gives (it failed so at load 12).
        report = run_tls_check(f"127.0.0.1:{proxy.port}", LOOPBACK, timeout=10.0)
        return report, proxy


def _support(report) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {g["name"]: g["support"] for g in report.details["groups"]}


def _codes(report) -> set[str]:  # type: ignore[no-untyped-def]
    return {f.code for f in report.findings}


def test_the_proxy_resets_a_connection_over_its_limit(ecdsa) -> None:
    with servers.limited(servers.pyopenssl_handler(*ecdsa), limit=1) as proxy:
        address = ("127.0.0.1", proxy.port)
        # Under load the reset can come before the connect returns: either way it is a reset.
        with (
            socket.create_connection(address, timeout=2),
            pytest.raises(ConnectionResetError),
            socket.create_connection(address, timeout=2) as extra,
        ):
            extra.recv(1)
        assert (proxy.relayed, proxy.reset) == (1, 1)


@pytest.mark.parametrize("limit", [4, 2, 1])
def test_behind_a_connection_limit_every_group_the_server_takes_is_supported(
    ecdsa, limit: int
) -> None:
    report, proxy = _behind(servers.pyopenssl_handler(*ecdsa), limit)
    assert report.details["handshake"]["group"] == "X25519MLKEM768"
    assert "PQC-TLS-001" not in _codes(report)
    assert {g["name"] for g in report.details["groups"] if g["supported"]} == TAKEN
    support = _support(report)
    assert "inconclusive" not in support.values()
    assert "TLS-PROBE-001" not in _codes(report)
    assert report.details["versions"]["TLSv1.3"] is True
    assert report.subscores["key_exchange"] == 100
    assert proxy.relayed >= len(support)


def test_a_connection_quota_leaves_the_rest_inconclusive_not_unsupported(ecdsa) -> None:
    # Three connections in all: the browser's and the classical-first client's ClientHellos
    # and the TLS 1.1 probe get through; every later probe and the handshake are reset. The
    # TLS 1.3 probe waits for the clients' answers, and the browser's, in TLS 1.3, implies it.
    report, proxy = _behind(servers.pyopenssl_handler(*ecdsa), limit=4, total=3)
    assert proxy.relayed == 3
    assert "PQC-TLS-001" not in _codes(report)
    # A reset says nothing about TLS 1.2, which this server speaks.
    assert report.details["versions"]["TLSv1.2"] is None
    support = _support(report)
    assert support["X25519MLKEM768"] == "supported"  # the browser got it
    assert not [name for name in TAKEN if support[name] == "not-supported"]
    assert {name for name, said in support.items() if said == "inconclusive"} >= TAKEN - {
        "X25519MLKEM768"
    }
    inconclusive = next(f for f in report.findings if f.code == "TLS-PROBE-001")
    assert "X25519" in inconclusive.evidence["groups"]
    assert inconclusive.evidence["versions"] == ["TLSv1.2", "TLSv1.0"]
    assert report.details["versions"]["TLSv1.1"] is False
    assert report.details["versions"]["TLSv1.3"] is True
    # Whichever client's answer in TLS 1.3 came first.
    implied = {entry["probe"]: entry["implied_by"] for entry in report.details["implied"]}
    assert implied["the TLSv1.3 probe"] in {
        "the browser client's hello",
        "the classical-first client's hello",
    }
    assert "TLS-VER-002" not in _codes(report)
    group = next(g for g in report.details["groups"] if g["name"] == "X25519")
    assert group["supported"] is False
    assert group["answer"].startswith("inconclusive: closed")
    assert "(3 attempts)" in group["answer"]
    # Browsers get ML-KEM (seen), but a TLS 1.2 fallback to RSA key transport (which caps the
    # score) could not be ruled out, so the cap applies; no certificate was seen, and an unseen
    # one earns nothing (checks/tls/check.py).
    assert "rsa-key-transport" in inconclusive.evidence["suite_classes"]
    assert report.details["forward_secrecy_tls12"] is None
    assert report.subscores == {
        "key_exchange": key_exchange_score(True, False, False),
        "signatures_and_certificates": 0.0,
    }


def test_an_inconclusive_hybrid_group_is_credited_nothing(ecdsa) -> None:
    # A classical-only server (OpenSSL 3.0) behind a one-connection quota: the browser's hello
    # is answered (X25519), nothing else, so whether any hybrid group is taken is unknown. Not
    # "no hybrid" (that was not seen either), but nothing credited: the key exchange scores as
    # a server with no hybrid group would, and the inconclusive finding caps the post-quantum
    # outcome, so a peer that resets PQ-only hellos cannot pass for one that takes them.
    report, _ = _behind(servers.stdlib_handler(*ecdsa), limit=4, total=1)
    assert "PQC-TLS-001" not in _codes(report)
    support = _support(report)
    assert support["X25519"] == "supported"
    assert support["X25519MLKEM768"] == "inconclusive"
    assert "TLS-PROBE-001" in _codes(report)
    assert report.subscores["key_exchange"] == key_exchange_score(False, False, False)
    assert report.status is ReportStatus.COMPLETED
    assert report.score == key_exchange_score(False, False, False)
    links = finding_catalogue().links_of("TLS-PROBE-001")
    assert links is not None
    assert "C3.b" in links.outcomes_in("ptsbd", "1.0")


def test_a_limit_that_resets_everything_is_one_clear_finding(ecdsa) -> None:
    report, proxy = _behind(servers.pyopenssl_handler(*ecdsa), limit=4, total=0)
    assert _codes(report) == {"TLS-PROTO-002"}
    assert report.status is ReportStatus.NOT_ASSESSABLE
    # It gave up after one window's worth of resets instead of retrying every probe.
    assert proxy.reset <= 5
