"""The guide's nginx TLS settings (deploy/nginx/assure.conf), served by OpenSSL 4 on loopback and
graded by the whole `assure check tls` command: hybrid ML-KEM negotiated and preferred, no high
finding. The same harness, given a copy of the file that drops ML-KEM, ranks it last or lets a
weak suite in, reports the problem, so the first test can fail."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.deploy import proxy_tls
from tests.deploy.nginx_conf import PROXY_CONF, ConfSyntaxError, parse
from tests.deploy.proxy_tls import ProxyTls, UnmodelledTls

SEVERE = ("high", "critical")
# Not the proxy's doing: the test CA's ECDSA certificate is quantum-vulnerable, as every
# certificate browsers accept today is.
CERTIFICATE_NOTE = "CERT-004"


def problems(report: dict[str, Any]) -> list[str]:
    """What stops a proxy report from meeting the guide's promise, one line each; none when met."""
    found = []
    if report["status"] != "completed":
        found.append(f"status {report['status']}")
    details = report["details"]
    if details["handshake"].get("group") != "X25519MLKEM768":
        found.append(f"full handshake on {details['handshake'].get('group')}")
    for client in details["clients"]:
        if client["group"] != "X25519MLKEM768":
            found.append(f"{client['client']} client gets {client['group']}")
    if report["subscores"]["key_exchange"] != 100:
        found.append(f"key exchange sub-score {report['subscores']['key_exchange']}")
    for finding in report["findings"]:
        if finding["severity"] not in ("info", "low") or (
            finding["severity"] == "low" and finding["code"] != CERTIFICATE_NOTE
        ):
            found.append(f"{finding['code']} ({finding['severity']}): {finding['title']}")
    return found


def _edited(replace: str, by: str) -> str:
    text = PROXY_CONF.read_text()
    count = text.count(replace)
    assert count == 1, f"the shipped file holds {replace!r} {count} times, not once"
    return text.replace(replace, by)


def test_the_shipped_proxy_negotiates_x25519mlkem768_with_no_high_finding(tmp_path: Path) -> None:
    report = proxy_tls.grade(PROXY_CONF.read_text(), tmp_path)
    assert problems(report) == []
    assert not [f for f in report["findings"] if f["severity"] in SEVERE]
    assert report["details"]["versions"] == {
        "TLSv1.3": True,
        "TLSv1.2": True,
        "TLSv1.1": False,
        "TLSv1.0": False,
    }
    tls12 = {s["suite_class"]: s["support"] for s in report["details"]["tls12_suites"]}
    assert {c for c, support in tls12.items() if support == "supported"} == {"ecdhe"}
    assert report["details"]["forward_secrecy_tls12"] is True


@pytest.mark.parametrize(
    ("replace", "by", "code"),
    [
        ("X25519MLKEM768/X25519:", "X25519:", "PQC-TLS-001"),
        ("X25519MLKEM768/X25519:", "X25519/X25519MLKEM768:", "PQC-TLS-002"),
        ("ssl_ciphers ", "ssl_ciphers AES128-GCM-SHA256:", "TLS-SUITE-002"),
        ("ssl_ciphers ", "ssl_ciphers ECDHE-ECDSA-NULL-SHA:@SECLEVEL=0:", "TLS-SUITE-004"),
    ],
    ids=["ml-kem-dropped", "ml-kem-ranked-last", "rsa-key-transport-added", "null-cipher-added"],
)
def test_a_weakened_copy_of_the_file_is_reported(
    tmp_path: Path, replace: str, by: str, code: str
) -> None:
    report = proxy_tls.grade(_edited(replace, by), tmp_path)
    assert any(line.startswith(code) for line in problems(report)), problems(report)


def test_groups_in_one_tuple_let_a_classical_first_client_stay_classical(tmp_path: Path) -> None:
    """Why the file ends the first tuple after X25519MLKEM768: without `/`, OpenSSL 3.5+ avoids
    a HelloRetryRequest and gives a client that sent only an X25519 share X25519."""
    report = proxy_tls.grade(_edited("X25519MLKEM768/X25519:", "X25519MLKEM768:X25519:"), tmp_path)
    assert "classical-first client gets x25519" in [p.lower() for p in problems(report)]


@pytest.mark.parametrize(
    ("edit", "why"),
    [
        (("ssl_session_tickets off;", "ssl_session_tickets off;\nssl_conf_command A B;"), "not"),
        (
            (
                "server_name api.assure.example.police.uk;",
                "server_name api.assure.example.police.uk;\n    ssl_protocols TLSv1.3;",
            ),
            "http level",
        ),
        (("ssl_ecdh_curve ", "# ssl_ecdh_curve "), "must say"),
        (("TLSv1.2 TLSv1.3;", "SSLv3 TLSv1.2 TLSv1.3;"), "cannot be served"),
        (("ssl_session_tickets off;", "ssl_session_tickets off;\nssl_ciphers HIGH;"), "twice"),
        (("ssl_prefer_server_ciphers on;", "ssl_prefer_server_ciphers yes;"), "on or off"),
    ],
    ids=[
        "unknown-tls-directive",
        "tls-in-a-server",
        "groups-missing",
        "sslv3",
        "twice",
        "bad-flag",
    ],
)
def test_tls_settings_the_test_cannot_serve_faithfully_stop_it(
    edit: tuple[str, str], why: str
) -> None:
    with pytest.raises(UnmodelledTls, match=why):
        ProxyTls.from_config(parse(_edited(*edit)))


def test_groups_openssl_does_not_know_stop_the_test() -> None:
    tls = ProxyTls.from_config(parse(_edited("X25519MLKEM768/", "X25519Kyber1024/")))
    with pytest.raises(UnmodelledTls, match="refuses the groups"):
        tls.context()


@pytest.mark.parametrize(
    "text",
    [
        'ssl_ciphers "HIGH;',
        "server { listen 443;",
        "server { listen 443; }}",
        "ssl_ciphers HIGH",
        "{",
    ],
    ids=["open-quote", "open-block", "extra-brace", "no-semicolon", "bare-brace"],
)
def test_a_broken_configuration_is_a_syntax_error(text: str) -> None:
    with pytest.raises(ConfSyntaxError):
        parse(text)
