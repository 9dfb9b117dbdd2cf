"""The TLS check's chain part against real OpenSSL 4 servers on loopback that send exactly the
chain they are given and staple real (or hostile) OCSP responses, judged against a test CA
bundle (hostile inputs no real server sends: test_tls_chain_judgement.py)."""

from __future__ import annotations

import datetime
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509 import ocsp
from OpenSSL import SSL

from checks.catalogue.tls_chain import OcspStaple
from checks.egress import EgressPolicy
from checks.report import CheckReport
from checks.sandbox.request import SandboxedCheck
from checks.sandbox.run import run_sandboxed
from checks.tls.chain_store import SYSTEM_BUNDLE, load_trust_anchors
from checks.tls.check import run_tls_check
from kernel.errors import ConfigError
from tests.peers import der_edits, servers
from tests.peers import tls_chains as pki
from tests.peers.certificates import make_certificate, write_pem

LOOPBACK = EgressPolicy.loopback_only()
NOW = datetime.datetime.now(datetime.UTC)


@pytest.fixture(scope="module")
def ca() -> pki.Pki:
    return pki.pki()


@pytest.fixture(scope="module")
def bundle(ca: pki.Pki, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ca.bundle(tmp_path_factory.mktemp("trust"))


def _check(
    served: pki.Issued,
    sent_after_leaf: list[x509.Certificate],
    bundle: Path,
    stapled: bytes = b"",
    host: str = "127.0.0.1",
) -> CheckReport:
    with pki.serving_chain(served, sent_after_leaf, stapled) as server:
        return run_tls_check(f"{host}:{server.port}", LOOPBACK, timeout=3, trust_store=bundle)


def _chain_codes(report: CheckReport) -> set[str]:
    return {f.code for f in report.findings if f.code.startswith("TLS-CHAIN")}


def _good_staple(ca: pki.Pki) -> bytes:
    return pki.staple(ca.leaf.certificate, ca.intermediate)


# Real peers


def test_a_trusted_chain_for_the_right_name_with_a_good_staple_has_no_chain_finding(
    ca: pki.Pki, bundle: Path
) -> None:
    report = _check(ca.leaf, [ca.intermediate.certificate], bundle, _good_staple(ca))
    chain = report.details["chain"]
    assert _chain_codes(report) == set()
    assert chain["trusted"] is True
    assert chain["name_matches"] is True
    assert chain["server_name"] is None  # an address: matched against the IP SANs
    assert chain["in_order"] is True
    assert chain["complete"] is True
    assert chain["ocsp"] == "good"
    assert len(chain["path"]) == 3
    assert report.subscores["signatures_and_certificates"] == 50  # ECDSA P-256, classical


def test_a_dns_name_is_sent_and_matched(ca: pki.Pki, bundle: Path) -> None:
    report = _check(ca.leaf, [ca.intermediate.certificate], bundle, _good_staple(ca), "localhost")
    assert report.details["chain"]["server_name"] == "localhost"
    assert report.details["chain"]["name_matches"] is True
    assert _chain_codes(report) == set()


def test_a_trusted_chain_for_another_name_is_a_mismatch_not_untrusted(
    ca: pki.Pki, bundle: Path
) -> None:
    other = pki.leaf(ca.intermediate, names=("portal.example.test",))
    report = _check(other, [ca.intermediate.certificate], bundle)
    chain = report.details["chain"]
    assert chain["trusted"] is True
    assert chain["name_matches"] is False
    assert chain["names"] == ["portal.example.test"]
    assert _chain_codes(report) == {"TLS-CHAIN-002", "TLS-CHAIN-006"}
    assert report.subscores["signatures_and_certificates"] == 0


def test_a_self_signed_leaf_is_reported_once_as_self_signed(ca: pki.Pki, bundle: Path) -> None:
    alone = pki.leaf(None)
    report = _check(alone, [], bundle)
    chain = report.details["chain"]
    assert chain["self_signed_leaf"] is True
    assert chain["trusted"] is False
    assert chain["name_matches"] is True
    assert chain["complete"] is True
    assert _chain_codes(report) == {"TLS-CHAIN-003", "TLS-CHAIN-006"}
    assert report.subscores["signatures_and_certificates"] == 0


def test_a_self_signed_leaf_the_operator_trusts_is_no_fault(tmp_path: Path) -> None:
    alone = pki.leaf(None, ocsp_url=None)
    pinned = write_pem(tmp_path / "pinned.pem", alone.certificate)
    report = _check(alone, [], pinned)
    assert report.details["chain"]["trusted"] is True
    assert _chain_codes(report) == set()


def test_a_leaf_sent_without_its_intermediate_is_incomplete_and_untrusted(
    ca: pki.Pki, bundle: Path
) -> None:
    report = _check(ca.leaf, [], bundle)
    chain = report.details["chain"]
    assert chain["trusted"] is False
    assert chain["complete"] is False
    assert chain["missing_issuer"] == "CN=Assure Test Intermediate,O=Assure Test PKI"
    assert _chain_codes(report) == {"TLS-CHAIN-001", "TLS-CHAIN-004", "TLS-CHAIN-006"}


def test_a_misordered_chain_still_validates_but_is_reported(ca: pki.Pki, bundle: Path) -> None:
    sent = [ca.root.certificate, ca.intermediate.certificate]  # root before intermediate
    report = _check(ca.leaf, sent, bundle, _good_staple(ca))
    chain = report.details["chain"]
    assert chain["trusted"] is True
    assert chain["in_order"] is False
    assert chain["unrelated"] == 0
    assert _chain_codes(report) == {"TLS-CHAIN-005"}
    assert report.subscores["signatures_and_certificates"] == 50  # order caps nothing


def test_an_expired_intermediate_breaks_trust(bundle: Path, ca: pki.Pki) -> None:
    expired = pki.ca("Expired Intermediate", ca.root, not_after=NOW - pki.DAY)
    served = pki.leaf(expired)
    report = _check(served, [expired.certificate], bundle)
    chain = report.details["chain"]
    assert chain["trusted"] is False
    assert chain["complete"] is True  # everything was sent; it is just out of date
    assert "CERT-001" not in {f.code for f in report.findings}  # the leaf itself is valid
    assert _chain_codes(report) == {"TLS-CHAIN-001", "TLS-CHAIN-006"}


def test_a_revoked_staple_is_critical_and_zeroes_the_certificate_score(
    ca: pki.Pki, bundle: Path
) -> None:
    revoked = pki.staple(ca.leaf.certificate, ca.intermediate, ocsp.OCSPCertStatus.REVOKED)
    report = _check(ca.leaf, [ca.intermediate.certificate], bundle, revoked)
    assert report.details["chain"]["ocsp"] == "revoked"
    assert "key_compromise" in report.details["chain"]["ocsp_detail"]
    assert _chain_codes(report) == {"TLS-CHAIN-007"}
    found = next(f for f in report.findings if f.code == "TLS-CHAIN-007")
    assert found.severity == "critical"
    assert report.subscores["signatures_and_certificates"] == 0


@pytest.mark.parametrize(
    ("make", "status"),
    [
        (
            lambda ca: pki.staple(ca.leaf.certificate, ca.intermediate, signer=pki.ca("Forger")),
            OcspStaple.UNVERIFIED,
        ),
        (
            lambda ca: pki.staple(
                ca.leaf.certificate,
                ca.intermediate,
                this_update=NOW - 10 * pki.DAY,
                next_update=NOW - 3 * pki.DAY,
            ),
            OcspStaple.OUT_OF_WINDOW,
        ),
        (
            lambda ca: pki.staple(
                ca.leaf.certificate, ca.intermediate, ocsp.OCSPCertStatus.UNKNOWN
            ),
            OcspStaple.UNKNOWN,
        ),
    ],
    ids=["forged-signature", "stale", "unknown"],
)
def test_a_staple_that_cannot_be_relied_on_is_reported_and_not_credited(
    ca: pki.Pki, bundle: Path, make, status
) -> None:
    report = _check(ca.leaf, [ca.intermediate.certificate], bundle, make(ca))
    assert report.details["chain"]["ocsp"] == status
    assert _chain_codes(report) == {"TLS-CHAIN-008"}
    assert report.subscores["signatures_and_certificates"] == 50  # trust intact, no cap


@pytest.mark.parametrize(
    ("make", "status"),
    [
        (lambda ca: der_edits.enveloped_garbage(), OcspStaple.MALFORMED),
        (
            lambda ca: pki.staple(pki.leaf(ca.intermediate).certificate, ca.intermediate),
            OcspStaple.OTHER_CERTIFICATE,
        ),
    ],
    ids=["garbage", "another-certificate"],
)
def test_a_staple_openssl_3_passes_on_unchecked_is_reported(
    ca: pki.Pki, bundle: Path, tmp_path: Path, make, status
) -> None:
    sent = [ca.intermediate.certificate]
    with pki.s_server_stapling(tmp_path, ca.leaf, sent, make(ca)) as port:
        report = run_tls_check(f"127.0.0.1:{port}", LOOPBACK, timeout=3, trust_store=bundle)
    chain = report.details["chain"]
    assert (chain["ocsp"], chain["trusted"], chain["name_matches"]) == (status, True, True)
    assert _chain_codes(report) == {"TLS-CHAIN-008"}


def test_an_oversized_staple_is_unusable_and_the_chain_is_judged_without_it(
    ca: pki.Pki, bundle: Path, tmp_path: Path
) -> None:
    # TLS 1.2 lets a CertificateStatus exceed 64 KiB; OpenSSL's client refuses it itself. The
    # handshake is tried once more without asking for a staple, and the chain is judged.
    huge = der_edits.enveloped_garbage(b"A" * 100_000)
    sent = [ca.intermediate.certificate]
    with pki.s_server_stapling(tmp_path, ca.leaf, sent, huge, "-no_tls1_3") as port:
        report = run_tls_check(f"127.0.0.1:{port}", LOOPBACK, timeout=3, trust_store=bundle)
    chain = report.details["chain"]
    assert (chain["trusted"], chain["name_matches"], chain["ocsp"]) == (True, True, "malformed")
    assert "excessive message size" in chain["ocsp_detail"]
    assert _chain_codes(report) == {"TLS-CHAIN-008"}
    assert report.subscores["signatures_and_certificates"] == 50


def test_a_bad_chain_behind_an_oversized_staple_still_scores_nothing(
    bundle: Path, tmp_path: Path
) -> None:
    alone = pki.leaf(None)
    huge = der_edits.enveloped_garbage(b"A" * 100_000)
    with pki.s_server_stapling(tmp_path, alone, [], huge, "-no_tls1_3") as port:
        report = run_tls_check(f"127.0.0.1:{port}", LOOPBACK, timeout=3, trust_store=bundle)
    assert {"TLS-CHAIN-003", "TLS-CHAIN-008"} <= _chain_codes(report)
    assert report.subscores["signatures_and_certificates"] == 0


def test_no_staple_is_noted_when_the_leaf_names_a_responder(ca: pki.Pki, bundle: Path) -> None:
    report = _check(ca.leaf, [ca.intermediate.certificate], bundle)
    assert report.details["chain"]["ocsp"] == "absent"
    assert report.details["chain"]["ocsp_responder_named"] is True
    assert _chain_codes(report) == {"TLS-CHAIN-006"}


def test_a_stalled_peer_gives_no_chain_and_no_chain_finding(bundle: Path) -> None:
    with servers.serving(servers.stall_handler) as server:
        report = run_tls_check(
            f"127.0.0.1:{server.port}", LOOPBACK, timeout=0.5, trust_store=bundle
        )
    assert report.details.get("chain") is None
    assert _chain_codes(report) == set()


def test_an_unreadable_trust_store_stops_the_check_before_any_connection(tmp_path: Path) -> None:
    (tmp_path / "empty.pem").write_text("no certificates here\n")
    with pytest.raises(ConfigError, match="holds no readable certificate"):
        run_tls_check("127.0.0.1:9", LOOPBACK, trust_store=tmp_path / "empty.pem")
    with pytest.raises(ConfigError, match="cannot read"):
        run_tls_check("127.0.0.1:9", LOOPBACK, trust_store=tmp_path / "missing.pem")


def test_the_setting_names_the_trust_store_a_sandboxed_check_runs_with(
    ca: pki.Pki, bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Set in the parent's environment only: the child starts with a bare environment, so the
    # setting reaches it in the order the parent writes.
    monkeypatch.setenv("ASSURE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ASSURE_TLS_TRUST_STORE", str(bundle))
    with pki.serving_chain(ca.leaf, [ca.intermediate.certificate], _good_staple(ca)) as server:
        check = SandboxedCheck(kind="tls", target=f"127.0.0.1:{server.port}")
        report = run_sandboxed(check, LOOPBACK)
    assert report.details["chain"]["trust_store"] == str(bundle)
    assert report.details["chain"]["trusted"] is True
    monkeypatch.delenv("ASSURE_TLS_TRUST_STORE")
    with pki.serving_chain(ca.leaf, [ca.intermediate.certificate], _good_staple(ca)) as server:
        check = SandboxedCheck(kind="tls", target=f"127.0.0.1:{server.port}")
        report = run_sandboxed(check, LOOPBACK)
    assert report.details["chain"]["trusted"] is False  # the test CA is in no public bundle


def test_the_default_trust_store_is_the_system_bundle_else_certifi() -> None:
    import certifi

    store = load_trust_anchors()
    expected = SYSTEM_BUNDLE if SYSTEM_BUNDLE.is_file() else Path(certifi.where())
    assert store.source == str(expected)
    assert len(store.anchors) > 50


# Peers that break the handshake, or send what does not parse


@pytest.mark.parametrize("version", [SSL.TLS1_3_VERSION, SSL.TLS1_2_VERSION], ids=["1.3", "1.2"])
def test_a_mutual_tls_endpoint_is_judged_on_the_chain_it_sent(
    ca: pki.Pki, bundle: Path, version: int
) -> None:
    # In TLS 1.3 the server's Certificate precedes its demand for ours; in TLS 1.2 it precedes
    # CertificateRequest, and the handshake then fails: the chain was read all the same.
    handler = pki.mutual_tls_handler(ca.leaf, [ca.intermediate.certificate], version)
    with servers.serving(handler) as server:
        report = run_tls_check(f"127.0.0.1:{server.port}", LOOPBACK, timeout=3, trust_store=bundle)
    chain = report.details["chain"]
    assert (chain["trusted"], chain["name_matches"], chain["presented"]) == (True, True, 2)
    assert _chain_codes(report) == {"TLS-CHAIN-006"}
    assert report.subscores["signatures_and_certificates"] == 50
    assert len(report.details["certificates"]) == 2


def test_a_mutual_tls_endpoint_cannot_hide_a_self_signed_certificate(bundle: Path) -> None:
    handler = pki.mutual_tls_handler(pki.leaf(None), [], SSL.TLS1_2_VERSION)
    with servers.serving(handler) as server:
        report = run_tls_check(f"127.0.0.1:{server.port}", LOOPBACK, timeout=3, trust_store=bundle)
    assert report.details["handshake"]["ok"] is False
    assert "TLS-CHAIN-003" in _chain_codes(report)
    assert report.subscores["signatures_and_certificates"] == 0


def test_a_handshake_that_fails_before_any_certificate_scores_the_certificate_nothing(
    bundle: Path, tmp_path: Path
) -> None:
    # Only X448, which the probes ask about and the full handshake does not offer: the server
    # answers the probes and refuses the handshake before sending a certificate.
    cert, key = make_certificate(tmp_path, "ecdsa")
    with servers.serving(servers.pyopenssl_handler(cert, key, groups="X448")) as server:
        report = run_tls_check(f"127.0.0.1:{server.port}", LOOPBACK, timeout=3, trust_store=bundle)
    assert report.details["handshake"]["ok"] is False
    assert report.details["chain"]["presented"] == 0
    assert _chain_codes(report) == {"TLS-CHAIN-009"}
    unread = next(f for f in report.findings if f.code == "TLS-CHAIN-009")
    assert "before any certificate arrived" in unread.evidence["reason"]
    assert report.subscores["signatures_and_certificates"] == 0.0


def test_a_leaf_that_fails_only_when_read_is_unread_and_scores_nothing(
    ca: pki.Pki, bundle: Path
) -> None:
    # OpenSSL and cryptography load it; its subject raises on first read. The intermediate
    # behind it is not judged as if it were the leaf.
    broken = pki.Issued(der_edits.with_unreadable_subject(ca.leaf, ca.intermediate), ca.leaf.key)
    report = _check(broken, [ca.intermediate.certificate], bundle, _good_staple(ca))
    chain = report.details["chain"]
    assert (chain["presented"], chain["unreadable"], chain["considered"]) == (2, 2, 0)
    assert _chain_codes(report) == {"TLS-CHAIN-009", "TLS-CHAIN-005"}
    assert report.details["certificates"] == []
    assert not {f.code for f in report.findings if f.code.startswith("CERT-")}
    assert report.subscores["signatures_and_certificates"] == 0


def test_an_intermediate_that_fails_only_when_read_is_left_out_and_counted(
    ca: pki.Pki, bundle: Path
) -> None:
    broken = der_edits.with_unreadable_subject(ca.intermediate, ca.root)
    report = _check(ca.leaf, [broken], bundle, _good_staple(ca))
    chain = report.details["chain"]
    assert (chain["presented"], chain["unreadable"], chain["trusted"]) == (2, 1, False)
    assert _chain_codes(report) >= {"TLS-CHAIN-001", "TLS-CHAIN-004", "TLS-CHAIN-005"}
    assert report.subscores["signatures_and_certificates"] == 0


def test_a_validly_signed_revocation_with_an_odd_reason_is_revoked(
    ca: pki.Pki, bundle: Path
) -> None:
    revoked = pki.staple(ca.leaf.certificate, ca.intermediate, ocsp.OCSPCertStatus.REVOKED)
    odd = der_edits.with_reason_code(revoked, 7, ca.intermediate)
    report = _check(ca.leaf, [ca.intermediate.certificate], bundle, odd)
    assert report.details["chain"]["ocsp"] == "revoked"
    assert "a reason that does not parse" in report.details["chain"]["ocsp_detail"]
    assert _chain_codes(report) == {"TLS-CHAIN-007"}
    assert report.subscores["signatures_and_certificates"] == 0


@pytest.mark.parametrize("shape", ["stale", "after-a-good-single-response"])
def test_a_revocation_cannot_be_hidden_by_staleness_or_a_good_response(
    ca: pki.Pki, bundle: Path, shape: str
) -> None:
    if shape == "stale":
        stapled = pki.staple(
            ca.leaf.certificate,
            ca.intermediate,
            ocsp.OCSPCertStatus.REVOKED,
            this_update=NOW - 10 * pki.DAY,
            next_update=NOW - 3 * pki.DAY,
        )
    else:
        good = _good_staple(ca)
        revoked = pki.staple(ca.leaf.certificate, ca.intermediate, ocsp.OCSPCertStatus.REVOKED)
        stapled = der_edits.with_singles(good, [revoked], ca.intermediate)
    report = _check(ca.leaf, [ca.intermediate.certificate], bundle, stapled)
    assert report.details["chain"]["ocsp"] == "revoked"
    assert _chain_codes(report) == {"TLS-CHAIN-007"}
    assert report.subscores["signatures_and_certificates"] == 0


def test_a_peer_that_stalls_after_its_certificate_is_judged_on_it_in_bounded_time(
    ca: pki.Pki, bundle: Path
) -> None:
    handler = pki.stall_after_certificate_handler(pki.leaf(None), [])
    started = time.monotonic()
    with servers.serving(handler) as server:
        report = run_tls_check(f"127.0.0.1:{server.port}", LOOPBACK, timeout=1, trust_store=bundle)
    assert time.monotonic() - started < 60
    assert report.details["handshake"]["ok"] is False
    assert report.details["chain"]["self_signed_leaf"] is True
    assert "TLS-CHAIN-003" in _chain_codes(report)
    assert report.subscores["signatures_and_certificates"] == 0
