"""Probes another probe's answer already settles are not sent (checks/tls/implied.py), against real
peers on loopback: OpenSSL 4 (pyOpenSSL), the system OpenSSL 3 (stdlib ssl), `openssl s_server`
speaking TLS 1.0 to 1.2 with every suite, and a front that lies to one hello. Each such probe is
reported as implied and by which probe, every verdict is the one the check gives when it sends
every probe, and a lie told to one hello earns no credit through a probe it spared."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import pytest

from checks.catalogue.tls import SuiteClass
from checks.egress import EgressPolicy
from checks.report import CheckReport
from checks.tls.check import plan, run_tls_check
from checks.tls.implied import settles
from checks.tls.policy import Judge, judged_by
from checks.tls.probes import GroupProbe, SuiteProbe, VersionProbe, run_probes
from checks.tls.wire import Outcome
from tests.peers import servers
from tests.peers.certificates import make_certificate
from tests.peers.openssl_s_server import s_server
from tests.peers.raw_tls import ECDHE_RSA_AES128_CBC, Hello, RawPeer, contradicting

LOOPBACK = EgressPolicy.loopback_only()
X25519, P384, X25519MLKEM768 = 0x001D, 0x0018, 0x11EC
Peer = Callable[[tuple[Path, Path]], AbstractContextManager[int]]


@pytest.fixture(scope="module")
def ecdsa(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_certificate(tmp_path_factory.mktemp("certs"), "ecdsa")


@pytest.fixture(scope="module")
def rsa(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_certificate(tmp_path_factory.mktemp("certs"), "rsa2048")


@contextmanager
def _serving(handler: servers.Handler) -> Iterator[int]:
    with servers.serving(handler) as server:
        yield server.port


def _openssl_4(keys: tuple[Path, Path]) -> AbstractContextManager[int]:
    return _serving(servers.pyopenssl_handler(*keys))


def _openssl_4_classical(keys: tuple[Path, Path]) -> AbstractContextManager[int]:
    return _serving(servers.pyopenssl_handler(*keys, groups="X25519:P-256"))


def _openssl_3(keys: tuple[Path, Path]) -> AbstractContextManager[int]:
    return _serving(servers.stdlib_handler(*keys))


def _legacy_s_server(keys: tuple[Path, Path]) -> AbstractContextManager[int]:
    # TLS 1.0 to 1.2 and every suite: the version and CBC probes' answers imply suite classes.
    return s_server(*keys, "-cipher", "ALL:@SECLEVEL=0", "-no_tls1_3")


def _raw_tls_1_0_to_1_2(keys: tuple[Path, Path]) -> AbstractContextManager[int]:
    # Its TLS 1.1 answer names an ECDHE-CBC suite, as its TLS 1.2 answers do: taken as proof of
    # a suite class, it would leave no accepted TLS 1.2 hello for the safeguard probes to copy,
    # and they would ask in TLS 1.1 and 1.0 instead of TLS 1.2 and 1.1.
    return _serving(RawPeer(versions=(0x0301, 0x0302, 0x0303), honour_fallback_scsv=False))


def _checked(port: int, skip_implied: bool) -> tuple[CheckReport, int]:
    """The report, and how many connections the check made (through a proxy that counts)."""
    with servers.ConnectionLimitingProxy(port, limit=64) as proxy:
        report = run_tls_check(f"127.0.0.1:{proxy.port}", LOOPBACK, skip_implied=skip_implied)
        return report, proxy.relayed


def _verdicts(report: CheckReport) -> dict[str, Any]:
    """Everything the check concludes, without the words that say how."""
    details = report.details
    return {
        "groups": {g["name"]: g["support"] for g in details["groups"]},
        "versions": details["versions"],
        "clients": {c["client"]: (c["group"], c["inconclusive"]) for c in details["clients"]},
        "preference": details["preference"],
        "suites": {s["suite_class"]: s["support"] for s in details["tls12_suites"]},
        "forward_secrecy": details["forward_secrecy_tls12"],
        "aead": details["tls13_suites_aead"],
        "safeguards": {
            s["safeguard"]: (s["verdict"], s["protocol"]) for s in details["safeguards"]
        },
        "findings": sorted(f.code for f in report.findings),
        "subscores": report.subscores,
        "score": report.score,
    }


def _implied(report: CheckReport) -> dict[str, str]:
    return {entry["probe"]: entry["implied_by"] for entry in report.details["implied"]}


def _group(report: CheckReport, name: str) -> dict[str, Any]:
    return next(g for g in report.details["groups"] if g["name"] == name)


def test_a_probe_the_browser_s_answer_settles_is_not_sent_and_says_what_implied_it(
    ecdsa,
) -> None:
    with _openssl_4(ecdsa) as port:
        target = LOOPBACK.resolve("127.0.0.1", port)
        answers = run_probes(plan(), target)
        every = run_probes(plan(), target, skip_implied=False)
    hybrid = answers[GroupProbe(X25519MLKEM768)]
    # The record of a probe not sent: where its answer is, never an answer of its own.
    assert hybrid.outcome is Outcome.IMPLIED
    assert hybrid.implied_by is not None
    assert (hybrid.version, hybrid.selected_group, hybrid.cipher_suite) == (None, None, None)
    assert hybrid.attempts == 0
    proof = answers[hybrid.implied_by]
    assert proof.selected_group == X25519MLKEM768
    assert answers[VersionProbe(0x0304)].outcome is Outcome.IMPLIED
    assert Outcome.IMPLIED not in {a.outcome for a in every.values()}
    assert every[GroupProbe(X25519MLKEM768)].selected_group == X25519MLKEM768
    assert set(answers) == set(every) == set(plan())


def test_the_report_names_each_implied_probe_and_what_implied_it(ecdsa) -> None:
    with _openssl_4(ecdsa) as port:
        report, _ = _checked(port, skip_implied=True)
    implied = _implied(report)
    assert implied["the X25519MLKEM768 group probe"] == "the browser client's hello"
    assert implied["the TLSv1.3 probe"] in {
        "the browser client's hello",
        "the classical-first client's hello",
    }
    # ECDHE-ECDSA-AES128-SHA, the CBC probe's answer, is an ECDHE suite.
    assert implied["the ecdhe suite probe"] == "the cbc suite probe"
    entry = next(e for e in report.details["implied"] if e["probe"].startswith("the X25519MLKEM"))
    assert entry["answer"].startswith("server_hello TLSv1.3 X25519MLKEM768")
    hybrid = _group(report, "X25519MLKEM768")
    assert hybrid["support"] == "supported"
    assert hybrid["answer"].startswith("implied by the browser client's hello: ")
    ecdhe = next(s for s in report.details["tls12_suites"] if s["suite_class"] == "ecdhe")
    assert ecdhe["answer"] == "implied by the cbc suite probe: server_hello"
    assert ecdhe["suite"] == "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"


@pytest.mark.parametrize(
    "peer",
    [_openssl_4, _openssl_4_classical, _openssl_3, _legacy_s_server, _raw_tls_1_0_to_1_2],
    ids=["openssl-4", "openssl-4-classical", "openssl-3", "s_server-tls1.0-1.2", "raw-tls1.0-1.2"],
)
def test_skipping_implied_probes_changes_no_verdict_and_saves_connections(
    peer: Peer, ecdsa, rsa
) -> None:
    keys = rsa if peer is _legacy_s_server else ecdsa
    with peer(keys) as port:
        skipped, fewer = _checked(port, skip_implied=True)
        sent, every = _checked(port, skip_implied=False)
    assert _verdicts(skipped) == _verdicts(sent)
    assert sent.details["implied"] == []
    assert skipped.details["implied"]
    assert fewer < every
    for verdict in [*skipped.details["groups"], *skipped.details["tls12_suites"]]:
        if verdict["answer"].startswith("implied by "):
            assert verdict["support"] == "supported"


def _browser(hello: Hello) -> bool:
    return hello.tls13 and hello.groups == judged_by(Judge.PQ_FIRST).codes


def _classical_first(hello: Hello) -> bool:
    return hello.tls13 and hello.groups == judged_by(Judge.CLASSICAL_FIRST).codes


@pytest.mark.parametrize("skip_implied", [True, False], ids=["skipping", "every-probe"])
def test_a_group_named_to_the_browser_but_refused_alone_is_judged_the_same_either_way(
    ecdsa, skip_implied: bool
) -> None:
    # A hybrid-only OpenSSL 4 behind a front that answers the browser's hello once with a
    # HelloRetryRequest for ECDH-P384, which the browser offered: the group alone is refused.
    # A group named to a client that offered it is supported whether or not its own probe is
    # sent (verdicts.py), so sparing that probe gives the liar nothing it did not have.
    with (
        servers.serving(servers.pyopenssl_handler(*ecdsa, groups="X25519MLKEM768")) as real,
        servers.serving(contradicting(real.port, _browser, P384)) as front,
    ):
        report = run_tls_check(f"127.0.0.1:{front.port}", LOOPBACK, skip_implied=skip_implied)
    p384 = _group(report, "ECDH-P384")
    assert p384["support"] == "supported"
    assert ("the ECDH-P384 group probe" in _implied(report)) is skip_implied
    if not skip_implied:
        assert p384["answer"] == "picked for the browser client"


def test_a_group_named_only_to_the_classical_first_client_spares_no_probe(ecdsa) -> None:
    # The classical-first client's group can still be withdrawn by the full handshake, asked
    # after the probes (verdicts.py `_doubt`), so it implies nothing: the group's own probe is
    # sent, and its refusal stands.
    with (
        servers.serving(servers.pyopenssl_handler(*ecdsa, groups="X25519MLKEM768")) as real,
        servers.serving(contradicting(real.port, _classical_first, P384)) as front,
    ):
        report = run_tls_check(f"127.0.0.1:{front.port}", LOOPBACK)
    assert "the ECDH-P384 group probe" not in _implied(report)
    assert _group(report, "ECDH-P384")["support"] == "not-supported"
    classical = next(c for c in report.details["clients"] if c["client"] == "classical-first")
    assert (classical["group"], classical["inconclusive"]) == (None, True)


def test_only_another_suite_probe_s_answer_settles_a_suite_class() -> None:
    # The TLS 1.1 probe's answer names TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, a CBC and an ECDHE
    # suite; the CBC probe's names the same suite in TLS 1.2. Only the latter settles the ECDHE
    # class: it leaves an accepted TLS 1.2 hello for the safeguard probes to copy.
    with _raw_tls_1_0_to_1_2(None) as port:  # type: ignore[arg-type]
        target = LOOPBACK.resolve("127.0.0.1", port)
        answers = run_probes([VersionProbe(0x0302), SuiteProbe(SuiteClass.CBC)], target)
    tls11, cbc = answers[VersionProbe(0x0302)], answers[SuiteProbe(SuiteClass.CBC)]
    assert (tls11.version, cbc.version) == (0x0302, 0x0303)
    assert tls11.cipher_suite == cbc.cipher_suite == ECDHE_RSA_AES128_CBC
    assert settles(VersionProbe(0x0302), tls11) == []
    assert settles(SuiteProbe(SuiteClass.CBC), cbc) == [
        VersionProbe(0x0303),
        SuiteProbe(SuiteClass.ECDHE),
    ]
