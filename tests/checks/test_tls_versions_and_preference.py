"""TLS versions and group preference against real servers on loopback (OpenSSL 4 via pyOpenSSL,
the system OpenSSL 3.0 via stdlib ssl): a server restricted to post-quantum groups still speaks
TLS 1.3, and a server that follows the client's order is told apart from one that keeps every
client on a classical group."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from checks.egress import EgressPolicy
from checks.readiness import KeyExchangePoints, readiness_policy
from checks.tls.check import run_tls_check
from tests.peers import servers
from tests.peers.certificates import make_certificate

LOOPBACK = EgressPolicy.loopback_only()


@pytest.fixture(scope="module")
def ecdsa(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_certificate(tmp_path_factory.mktemp("certs"), "ecdsa")


def _check(handler: servers.Handler):  # type: ignore[no-untyped-def]
    with servers.serving(handler) as server:
        return run_tls_check(f"127.0.0.1:{server.port}", LOOPBACK)


def _codes(report) -> set[str]:  # type: ignore[no-untyped-def]
    return {f.code for f in report.findings}


def _gets(report) -> dict[str, str | None]:  # type: ignore[no-untyped-def]
    return {c["client"]: c["group"] for c in report.details["clients"]}


@pytest.mark.parametrize("group", ["X25519MLKEM768", "SecP384r1MLKEM1024", "MLKEM768"])
def test_a_server_restricted_to_post_quantum_groups_speaks_tls_1_3(ecdsa, group: str) -> None:
    report = _check(servers.pyopenssl_handler(*ecdsa, groups=group))
    assert report.details["handshake"]["protocol"] == "TLSv1.3"
    assert report.details["versions"]["TLSv1.3"] is True
    # TLS 1.2 has no post-quantum group and this server no classical one: it cannot speak it.
    assert report.details["versions"]["TLSv1.2"] is False
    assert "TLS-VER-002" not in _codes(report)


def test_a_classical_only_server_on_openssl_3_speaks_tls_1_3_and_1_2(ecdsa) -> None:
    report = _check(servers.stdlib_handler(*ecdsa))
    assert report.details["versions"] == {
        "TLSv1.3": True,
        "TLSv1.2": True,
        "TLSv1.1": False,
        "TLSv1.0": False,
    }
    assert report.details["preference"] == "classical-even-when-pq-first"
    assert _gets(report) == {"browser": "X25519", "classical-first": "X25519"}
    assert "PQC-TLS-001" in _codes(report)
    assert report.subscores["key_exchange"] == 0


def test_a_server_that_prefers_hybrid_gives_it_even_to_a_classical_first_client(ecdsa) -> None:
    report = _check(servers.pyopenssl_handler(*ecdsa))  # OpenSSL 4's default groups
    assert _gets(report) == {"browser": "X25519MLKEM768", "classical-first": "X25519MLKEM768"}
    assert report.details["preference"] == "pq-even-when-classical-first"
    assert not _codes(report) & {"PQC-TLS-002", "PQC-TLS-005"}
    assert report.subscores["key_exchange"] == 100


def test_a_server_following_the_clients_order_gives_browsers_ml_kem(ecdsa) -> None:
    # One tuple: within it OpenSSL follows the client's order.
    report = _check(servers.pyopenssl_handler(*ecdsa, groups="X25519:X25519MLKEM768"))
    assert report.details["handshake"]["group"].lower() == "x25519"
    assert "PQC-TLS-002" not in _codes(report)
    # The middle tier: below a server that gives ML-KEM to every client, above one that keeps
    # browsers on classical, as readiness.yaml scores it.
    tiers = readiness_policy().key_exchange
    assert report.subscores["key_exchange"] == tiers.pq_follows_client
    assert tiers.pq_supported < tiers.pq_follows_client < tiers.pq_preferred
    assert _gets(report) == {"browser": "X25519MLKEM768", "classical-first": "X25519"}
    assert report.details["preference"] == "pq-when-offered-first"
    assert "PQC-TLS-005" in _codes(report)


@pytest.mark.parametrize(
    ("groups", "server_preference"),
    [("X25519/X25519MLKEM768", False), ("X25519:X25519MLKEM768", True)],
    ids=["classical-tuple-first", "server-order-within-a-tuple"],
)
def test_a_server_enforcing_classical_keeps_browsers_on_it(
    ecdsa, groups: str, server_preference: bool
) -> None:
    handler = servers.pyopenssl_handler(*ecdsa, groups=groups, server_preference=server_preference)
    report = _check(handler)
    assert "X25519MLKEM768" in {g["name"] for g in report.details["groups"] if g["supported"]}
    assert _gets(report) == {"browser": "X25519", "classical-first": "X25519"}
    assert report.details["preference"] == "classical-even-when-pq-first"
    assert "PQC-TLS-002" in _codes(report)
    assert "PQC-TLS-005" not in _codes(report)
    assert report.subscores["key_exchange"] == 70


def test_a_server_no_browser_can_reach_is_judged_by_the_classical_first_client(ecdsa) -> None:
    report = _check(servers.pyopenssl_handler(*ecdsa, groups="SecP384r1MLKEM1024"))
    browser = next(c for c in report.details["clients"] if c["client"] == "browser")
    assert (browser["group"], browser["inconclusive"]) == (None, False)
    assert browser["answer"].startswith("alert")
    assert _gets(report)["classical-first"] == "SecP384r1MLKEM1024"
    assert report.details["preference"] == "pq-even-when-classical-first"
    assert report.subscores["key_exchange"] == 100
    # No browser can connect: the advice is the group browsers offer, not the order.
    assert "PQC-TLS-006" in _codes(report)


@pytest.mark.parametrize("hybrid", ["SecP384r1MLKEM1024", "MLKEM1024"])
def test_a_server_with_only_hybrids_browsers_do_not_offer_is_told_to_add_one(
    ecdsa, hybrid: str
) -> None:
    # The browser gets X25519 because it offers no group the server takes post-quantum, not
    # because of the server's order: "put hybrids first" would change nothing.
    report = _check(servers.pyopenssl_handler(*ecdsa, groups=f"X25519:{hybrid}"))
    assert _gets(report)["browser"] == "X25519"
    assert "PQC-TLS-002" not in _codes(report)
    advice = next(f for f in report.findings if f.code == "PQC-TLS-006")
    assert advice.severity == "medium"
    assert advice.evidence["browser_offers"] == ["X25519MLKEM768"]
    assert "X25519MLKEM768" in advice.advice
    assert report.subscores["key_exchange"] == readiness_policy().key_exchange.pq_supported


def test_a_readiness_table_ranking_following_the_client_above_preferring_pq_is_refused() -> None:
    shipped = readiness_policy().key_exchange.model_dump()
    with pytest.raises(ValidationError, match="pq_preferred >= pq_follows_client"):
        KeyExchangePoints.model_validate({**shipped, "pq_follows_client": 100, "pq_preferred": 90})
