"""Protocol safeguards against real peers on loopback: OpenSSL 4 (pyOpenSSL), the system
OpenSSL 3 (`openssl s_server`), and a tiny hand-written TLS 1.2 server (tests/peers/raw_tls.py)
for what no maintained stack will do any more: select DEFLATE, omit renegotiation_info, accept a
fallback signalled with TLS_FALLBACK_SCSV, send an export-size or cut-short DH prime. Each is
asked with one ClientHello and read from the server's first flight; nothing is renegotiated."""

from __future__ import annotations

from pathlib import Path

import pytest

from checks.egress import EgressPolicy
from checks.tls.check import plan, run_tls_check
from checks.tls.probes import run_probes
from checks.tls.wire import Outcome
from tests.peers import servers
from tests.peers.certificates import make_certificate
from tests.peers.dh_params import OAKLEY_GROUP_1, OAKLEY_GROUP_2, dh_params_file
from tests.peers.openssl_s_server import s_server
from tests.peers.raw_tls import DHE_RSA_AES128_GCM, RawPeer

LOOPBACK = EgressPolicy.loopback_only()
SAFEGUARD_CODES = {"TLS-RENEG-001", "TLS-SCSV-001", "TLS-COMP-001", "TLS-DH-001", "TLS-DH-002"}
ALL_LEGACY = ("-cipher", "ALL:@SECLEVEL=0", "-no_tls1_3")  # TLS 1.0 to 1.2, every suite


@pytest.fixture(scope="module")
def rsa(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_certificate(tmp_path_factory.mktemp("certs"), "rsa2048")


@pytest.fixture(scope="module")
def dh_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("dh")


def _check(handler: servers.Handler, timeout: float = 3.0):  # type: ignore[no-untyped-def]
    with servers.serving(handler) as server:
        return run_tls_check(f"127.0.0.1:{server.port}", LOOPBACK, timeout=timeout)


def _on_s_server(rsa: tuple[Path, Path], *options: str):  # type: ignore[no-untyped-def]
    with s_server(*rsa, *options) as port:
        return run_tls_check(f"127.0.0.1:{port}", LOOPBACK)


def _verdicts(report) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {s["safeguard"]: s["verdict"] for s in report.details["safeguards"]}


def _codes(report) -> set[str]:  # type: ignore[no-untyped-def]
    return {f.code for f in report.findings}


def _found(report, code: str):  # type: ignore[no-untyped-def]
    return next(f for f in report.findings if f.code == code)


def test_openssl_4_with_ffdhe2048_has_every_safeguard(rsa, dh_folder) -> None:
    handler = servers.pyopenssl_handler(*rsa, dh_params=servers.ffdhe2048(dh_folder))
    report = _check(handler)
    assert _verdicts(report) == dict.fromkeys(
        ["secure-renegotiation", "fallback-scsv", "no-compression", "dh-parameters"], "in-place"
    )
    dh = next(s for s in report.details["safeguards"] if s["safeguard"] == "dh-parameters")
    assert dh["dh_bits"] == 2048
    fallback = next(s for s in report.details["safeguards"] if s["safeguard"] == "fallback-scsv")
    assert (fallback["protocol"], fallback["answer"]) == (
        "TLSv1.2",
        "alert 86 inappropriate_fallback",
    )
    assert not _codes(report) & (SAFEGUARD_CODES | {"TLS-PROBE-001"})


def test_s_server_with_a_1024_bit_prime_is_a_high_finding(rsa, dh_folder) -> None:
    params = dh_params_file(dh_folder, OAKLEY_GROUP_2)
    cipher = "DHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0"
    report = _on_s_server(rsa, "-cipher", cipher, "-dhparam", str(params))
    assert _verdicts(report)["dh-parameters"] == "missing"
    weak = _found(report, "TLS-DH-001")
    assert (weak.severity, weak.evidence["bits"]) == ("high", 1024)
    assert "TLS-DH-002" not in _codes(report)


def test_s_server_with_ffdhe2048_has_no_dh_finding(rsa, dh_folder) -> None:
    params = servers.ffdhe2048(dh_folder)
    report = _on_s_server(rsa, "-cipher", "DHE-RSA-AES128-GCM-SHA256", "-dhparam", str(params))
    dh = next(s for s in report.details["safeguards"] if s["safeguard"] == "dh-parameters")
    assert (dh["verdict"], dh["dh_bits"]) == ("in-place", 2048)
    assert not _codes(report) & SAFEGUARD_CODES


def test_an_export_size_prime_is_critical() -> None:
    # No maintained stack serves a 768-bit prime any more; the hand-written peer does.
    peer = RawPeer(suites=(DHE_RSA_AES128_GCM,), dh_prime=OAKLEY_GROUP_1.to_bytes(96, "big"))
    report = _check(peer)
    broken = _found(report, "TLS-DH-002")
    assert (broken.severity, broken.evidence["bits"]) == ("critical", 768)
    assert report.details["versions"]["TLSv1.2"] is True


@pytest.mark.parametrize(
    ("peer", "why"),
    [
        (RawPeer(suites=(DHE_RSA_AES128_GCM,), dh_prime=b"\xff" * 256, cut_key_exchange=True), ""),
        (RawPeer(suites=(DHE_RSA_AES128_GCM,)), "closed before its key exchange"),
        (RawPeer(suites=(DHE_RSA_AES128_GCM,), linger=2.0), "before its key exchange"),
    ],
    ids=["cut-short-prime", "closes-after-server-hello", "stalls-after-server-hello"],
)
def test_a_dh_prime_not_read_whole_is_inconclusive_not_a_finding(peer: RawPeer, why: str) -> None:
    report = _check(peer, timeout=0.5)
    dh = next(s for s in report.details["safeguards"] if s["safeguard"] == "dh-parameters")
    assert (dh["verdict"], dh["dh_bits"]) == ("inconclusive", None)
    assert why in dh["answer"]
    assert not _codes(report) & {"TLS-DH-001", "TLS-DH-002"}
    assert "dh-parameters" in _found(report, "TLS-PROBE-001").evidence["safeguards"]


def test_openssl_3_speaking_tls_1_0_to_1_2_refuses_a_fallback_to_1_1(rsa) -> None:
    report = _on_s_server(rsa, *ALL_LEGACY)
    assert report.details["versions"]["TLSv1.0"] is True
    fallback = next(s for s in report.details["safeguards"] if s["safeguard"] == "fallback-scsv")
    assert (fallback["verdict"], fallback["protocol"]) == ("in-place", "TLSv1.1")
    assert not _codes(report) & SAFEGUARD_CODES


def test_a_server_accepting_a_signalled_fallback_is_a_finding() -> None:
    peer = RawPeer(versions=(0x0301, 0x0302, 0x0303), honour_fallback_scsv=False)
    report = _check(peer)
    downgrade = _found(report, "TLS-SCSV-001")
    assert downgrade.severity == "medium"
    assert downgrade.evidence["protocol"] == "TLSv1.1"
    assert _verdicts(report)["secure-renegotiation"] == "in-place"


def test_a_fallback_refused_with_another_alert_is_inconclusive_not_credited() -> None:
    peer = RawPeer(versions=(0x0302, 0x0303), fallback_alert=40)  # handshake_failure
    report = _check(peer)
    fallback = next(s for s in report.details["safeguards"] if s["safeguard"] == "fallback-scsv")
    assert (fallback["verdict"], fallback["answer"]) == ("inconclusive", "refused: alert 40")
    assert "TLS-SCSV-001" not in _codes(report)
    assert "fallback-scsv" in _found(report, "TLS-PROBE-001").evidence["safeguards"]


def test_one_version_only_has_no_fallback_to_protect(rsa) -> None:
    report = _on_s_server(rsa, "-tls1_3")
    verdicts = _verdicts(report)
    assert verdicts == dict.fromkeys(verdicts, "not-applicable")
    fallback = next(s for s in report.details["safeguards"] if s["safeguard"] == "fallback-scsv")
    assert fallback["answer"] == "only TLSv1.3 is spoken: nothing to fall back to"
    assert not _codes(report) & (SAFEGUARD_CODES | {"TLS-PROBE-001"})


def test_a_server_without_secure_renegotiation_is_a_finding() -> None:
    report = _check(RawPeer(secure_renegotiation=False))
    missing = _found(report, "TLS-RENEG-001")
    assert (missing.severity, missing.evidence["protocol"]) == ("medium", "TLSv1.2")
    assert _verdicts(report)["no-compression"] == "in-place"


@pytest.mark.parametrize(
    ("peer", "method"),
    [(RawPeer(deflate=True), 1), (RawPeer(compression_method=0x40), 0x40)],
    ids=["deflate", "a-method-never-offered"],
)
def test_a_server_selecting_compression_is_crime_exposed(peer: RawPeer, method: int) -> None:
    report = _check(peer)
    crime = _found(report, "TLS-COMP-001")
    assert crime.severity == "high"
    assert crime.evidence["answer"] == f"compression method {method} selected"


def test_a_connection_limit_leaves_safeguards_inconclusive_not_missing(rsa) -> None:
    # Relayed connections run out after the main probes: the safeguard probes are reset. The
    # main probes take one connection each but those another's answer implied.
    peer = RawPeer(secure_renegotiation=False, deflate=True)
    with servers.serving(peer) as server:
        answers = run_probes(plan(), LOOPBACK.resolve("127.0.0.1", server.port))
    main = sum(a.attempts for a in answers.values() if a.outcome is not Outcome.IMPLIED)
    assert main < len(plan())
    with servers.limited(peer, 4, total=main) as proxy:
        report = run_tls_check(f"127.0.0.1:{proxy.port}", LOOPBACK)
    verdicts = _verdicts(report)
    assert "missing" not in verdicts.values()
    assert not _codes(report) & SAFEGUARD_CODES
    unknown = _found(report, "TLS-PROBE-001").evidence["safeguards"]
    assert {"secure-renegotiation", "no-compression"} <= set(unknown)


@pytest.mark.parametrize(
    ("prime_bytes", "verdict"), [(256, "inconclusive"), (128, "missing")], ids=["2048", "1024"]
)
def test_a_dh_prime_is_not_credited_while_the_server_s_own_prime_is_unread(
    prime_bytes: int, verdict: str
) -> None:
    # The hello listing FFDHE groups gets a prime; the one listing none, which shows the
    # server's own configured prime (where a weak one would be), is never answered. A prime
    # already too small is a finding whatever the other hello did: the unread one is no larger
    # a comfort.
    peer = RawPeer(
        suites=(DHE_RSA_AES128_GCM,), dh_prime=b"\xff" * prime_bytes, stall_unless_ffdhe=2.0
    )
    report = _check(peer, timeout=0.5)
    dh = next(s for s in report.details["safeguards"] if s["safeguard"] == "dh-parameters")
    assert dh["verdict"] == verdict
    assert f"{prime_bytes * 8}-bit prime" in dh["answer"]
    if verdict == "inconclusive":
        assert dh["dh_bits"] is None
        assert "timeout" in dh["answer"]
        assert not _codes(report) & {"TLS-DH-001", "TLS-DH-002"}
        assert "dh-parameters" in _found(report, "TLS-PROBE-001").evidence["safeguards"]
    else:
        assert _found(report, "TLS-DH-001").evidence["bits"] == 1024


@pytest.mark.parametrize(
    "body", [b"", b"\x01\x00", b"\x0c" + b"\x11" * 12], ids=["no-body", "one-byte", "verify-data"]
)
def test_renegotiation_info_that_is_not_empty_in_an_initial_handshake_is_missing(
    body: bytes,
) -> None:
    # RFC 5746 3.6: a client aborts on anything but an empty renegotiated_connection, so a
    # server sending one protects no client; judged unknown, garbling it would hide the finding.
    report = _check(RawPeer(renegotiation_body=body))
    missing = _found(report, "TLS-RENEG-001")
    assert "not empty in an initial handshake" in missing.evidence["answer"]
    assert _verdicts(report)["secure-renegotiation"] == "missing"
    assert _verdicts(report)["no-compression"] == "in-place"


def test_a_safeguard_probe_that_loses_one_answer_is_retried_not_left_unknown() -> None:
    # The first renegotiation hello goes unanswered past the timeout; its retry is answered.
    # The follow-up round has room for the configured retries, as the main probes do.
    report = _check(RawPeer(stall_first_renegotiation=1.0), timeout=0.5)
    reneg = next(
        s for s in report.details["safeguards"] if s["safeguard"] == "secure-renegotiation"
    )
    assert (reneg["verdict"], reneg["answer"]) == ("in-place", "renegotiation_info answered")
    assert "TLS-PROBE-001" not in _codes(report)
