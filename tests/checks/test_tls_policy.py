"""The TLS check's data (tls_probing.yaml, tls_clients.yaml, tls_cipher_suites.yaml) is read
through a schema that refuses what would make a probe meaningless, and TLS runs stored before
the inconclusive state, the clients and the preference existed still read and export."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from checks.catalogue.tls import SuiteClass, Support, TlsGroup, TlsResult
from checks.cbom_export import build_cbom
from checks.report import CheckReport, ReportStatus
from checks.tls.check import plan
from checks.tls.handshake import client_hello
from checks.tls.policy import (
    CipherSuite,
    ProbeLimits,
    TlsClient,
    TlsClients,
    cipher_suites,
    probe_limits,
    tls_clients,
)
from checks.tls.probes import ClientProbe, GroupProbe, SuiteProbe, VersionProbe
from checks.tls.wire import LEGACY_SUITES, TLS12_SUITES, TLS13_SUITES
from tests.checks.written_details import TLS

BROWSER: dict[str, Any] = {
    "id": "browser",
    "label": "Browser",
    "source": "release notes",
    "judge": "pq_first",
    "groups": ["X25519MLKEM768", "X25519"],
    "key_shares": ["X25519MLKEM768", "X25519"],
}


def test_the_shipped_limits_bound_concurrency_and_retries() -> None:
    limits = probe_limits()
    assert 1 <= limits.concurrent_connections <= 8
    assert limits.retries >= 1


@pytest.mark.parametrize(
    "change",
    [{"concurrent_connections": 0}, {"retries": -1}, {"budget_timeouts": 0}, {"extra": 1}],
)
def test_limits_that_would_make_probing_meaningless_are_refused(change: dict[str, int]) -> None:
    shipped = probe_limits().model_dump()
    with pytest.raises(ValidationError):
        ProbeLimits.model_validate({**shipped, **change})


def test_every_shipped_client_hello_is_built_by_the_local_openssl() -> None:
    for client in tls_clients():
        hello = client_hello(client, "portal.example")
        assert hello[:1] == b"\x16"  # a handshake record
        assert b"portal.example" in hello


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"key_shares": ["ECDH-P256"]}, "not among its groups"),
        ({"groups": ["X25519MLKEM768", "Ed25519"]}, "no TLS group code"),
        ({"groups": ["X25519", "X25519"], "key_shares": ["X25519"]}, "listed twice"),
        ({"groups": ["NotAGroup"], "key_shares": ["NotAGroup"]}, "not in the algorithm catalogue"),
    ],
)
def test_a_client_that_could_not_be_replayed_is_refused(
    change: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        TlsClient.model_validate({**BROWSER, **change})


def test_the_preference_needs_one_pq_first_and_one_classical_first_client() -> None:
    with pytest.raises(ValidationError, match="exactly one client judges"):
        TlsClients.model_validate({"clients": [BROWSER, {**BROWSER, "id": "another"}]})


def test_every_suite_the_probes_offer_is_named_for_the_cbom() -> None:
    named = {suite.code for suite in cipher_suites().suites}
    assert set(TLS13_SUITES + TLS12_SUITES + LEGACY_SUITES) <= named
    with pytest.raises(ValidationError, match="not an id of the algorithm catalogue"):
        CipherSuite(code=0x1301, name="x", openssl="x", algorithms=("AES128GCM",))


def test_the_clients_go_first_then_versions_then_suites_then_groups() -> None:
    kinds = [type(probe) for probe in plan()]
    clients, suites = len(tls_clients()), len(SuiteClass)
    assert kinds[:clients] == [ClientProbe] * clients
    # TLS 1.2's version probe is the suite probes together.
    assert [p.version for p in plan() if isinstance(p, VersionProbe)] == [0x0304, 0x0302, 0x0301]
    assert kinds[clients : clients + 3] == [VersionProbe] * 3
    assert kinds[clients + 3 : clients + 3 + suites] == [SuiteProbe] * suites
    assert set(kinds[clients + 3 + suites :]) == {GroupProbe}


def test_a_tls_run_stored_before_inconclusive_answers_existed_still_reads() -> None:
    older = {key: value for key, value in TLS.items() if key not in ("clients", "preference")}
    older["groups"] = [
        {key: value for key, value in group.items() if key != "support"} for group in TLS["groups"]
    ]
    result = TlsResult.model_validate(older)
    assert [g.support for g in result.groups] == [Support.SUPPORTED, Support.NOT_SUPPORTED]
    assert (result.clients, result.preference) == ((), None)
    report = CheckReport(
        kind="tls",
        target="portal.example:443",
        started_at=datetime(2026, 10, 1, 9, tzinfo=UTC),
        finished_at=datetime(2026, 10, 1, 9, 0, 3, tzinfo=UTC),
        status=ReportStatus.COMPLETED,
        details=older,
    )
    components = build_cbom([report], "portal")["components"]
    assert "algorithm:X25519MLKEM768" in {c["bom-ref"] for c in components}


def test_a_group_payload_whose_supported_contradicts_its_support_is_refused() -> None:
    group = dict(TLS["groups"][1])  # X25519, not supported
    with pytest.raises(ValidationError, match="contradicts"):
        TlsGroup.model_validate({**group, "supported": True})
    with pytest.raises(ValidationError, match="contradicts"):
        TlsGroup.model_validate({**TLS["groups"][0], "support": "inconclusive"})
    # `supported` follows `support`, and is still written where readers expect it.
    seen = TlsGroup.model_validate({**group, "support": "supported", "supported": True})
    assert seen.supported is True
    assert TlsGroup.model_validate(group).model_dump(mode="json")["supported"] is False
    older = {key: value for key, value in TLS["groups"][0].items() if key != "support"}
    assert TlsGroup.model_validate(older).support is Support.SUPPORTED
