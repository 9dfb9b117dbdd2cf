"""`assure check tls --json` on fixed loopback peers says what it said when the reports in
tests/data/tls_reports/ were recorded: the same findings, score, milestones and details, byte
for byte, apart from the clock (timestamps, days left, the sandbox's cost) and the port. Work on
start-up (lazy imports, a faster YAML loader, a cheaper sandbox child) must change no verdict.

The peers' certificates are built from fixed keys and dates, so the reports do not depend on
the day the test runs. After a deliberate change to what the check reports, record them again:
`ASSURE_RECORD_TLS_REPORTS=1 pytest tests/checks/test_tls_report_unchanged.py`, and review the
diff.
"""

from __future__ import annotations

import datetime
import difflib
import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from tests.cli import assure
from tests.peers import servers
from tests.peers.certificates import generate_key, issue, write_key, write_pem

RECORDED = Path(__file__).resolve().parents[1] / "data" / "tls_reports"
RECORD = os.environ.get("ASSURE_RECORD_TLS_REPORTS") == "1"
# A leaf valid from 2026 to 2126: no verdict about its dates changes while this test lives.
NOT_BEFORE = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
NOT_AFTER = datetime.datetime(2126, 1, 1, tzinfo=datetime.UTC)
CLOCK = "<clock>"
# Several clients' hellos answer the same question (TLS 1.3, a group): the first to arrive wins.
FIRST_CLIENT = re.compile(r"the [\w.-]+ client's hello")
HELLO_KIND = re.compile(r"^(server_hello|hello_retry) ")


def _certificate(folder: Path, secret: int | None = None) -> tuple[Path, Path]:
    """A leaf for a fixed P-256 key, or a fresh RSA 2048 one (the report names a key's type and
    size, never its bytes)."""
    key = (
        generate_key("rsa2048") if secret is None else ec.derive_private_key(secret, ec.SECP256R1())
    )
    certificate = issue(key, not_before=NOT_BEFORE, not_after=NOT_AFTER)
    return write_pem(folder / "cert.pem", certificate), write_key(folder / "key.pem", key)


def _pyopenssl(folder: Path) -> servers.Handler:
    return servers.pyopenssl_handler(*_certificate(folder, 0x5EED))


def _stdlib(folder: Path) -> servers.Handler:
    return servers.stdlib_handler(*_certificate(folder, 0x5EED))


def _server_order_dhe(folder: Path) -> servers.Handler:
    # The server's order decides (classical over hybrid); RSA key transport, DHE, CBC and a
    # weak suite are served in TLS 1.2.
    return servers.pyopenssl_handler(
        *_certificate(folder),
        groups="X25519:secp256r1/X25519MLKEM768",
        server_preference=True,
        ciphers="ECDHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES128-GCM-SHA256:AES128-SHA:DES-CBC3-SHA",
        dh_params=servers.ffdhe2048(folder),
    )


PEERS: dict[str, Callable[[Path], servers.Handler]] = {
    "pyopenssl": _pyopenssl,
    "stdlib": _stdlib,
    "server-order-dhe": _server_order_dhe,
}


def _without_clock(value: Any, replace: dict[str, str]) -> Any:
    """The report with what depends on the clock, the port and the machine's CA bundle path
    replaced by a marker."""
    if isinstance(value, dict):
        return {
            key: CLOCK
            if key in ("started_at", "finished_at", "days_left")
            else _without_clock(item, replace)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_without_clock(item, replace) for item in value]
    if isinstance(value, str):
        for old, new in replace.items():
            value = value.replace(old, new)
        return FIRST_CLIENT.sub("a client's hello", value)
    return value


def _in_canonical_order(report: dict[str, Any]) -> None:
    """Probes answer concurrently: the check lists groups (and the probes an answer implied)
    as their answers arrived, and credits an implied answer to whichever client's hello
    answered first (FIRST_CLIENT). Sorted here, so the comparison is of what was said."""
    details = report["details"]
    details["groups"].sort(key=lambda group: group["code"])
    details["implied"].sort(key=lambda implied: implied["probe"])
    for implied in details["implied"]:
        # The client that answered first got a ServerHello or a HelloRetryRequest, whichever
        # its own key shares drew; the version, group and suite are what was implied.
        if FIRST_CLIENT.fullmatch(implied["implied_by"]):
            implied["answer"] = HELLO_KIND.sub("a hello ", implied["answer"])
    for found in report["findings"]:
        for key in ARRIVAL_ORDERED:
            if isinstance(found["evidence"].get(key), list):
                found["evidence"][key].sort()


# Finding evidence listing groups in the order their probes answered (checks/tls/check.py).
ARRIVAL_ORDERED = ("groups", "groups_supported", "browser_offers")


def _normalised(report: dict[str, Any], port: int) -> str:
    details = report["details"]
    assert set(details.pop("sandbox")) >= {"seconds", "cpu_seconds"}
    _in_canonical_order(report)
    trust_store = (details.get("chain") or {}).get("trust_store") or "<none>"
    replace = {f"127.0.0.1:{port}": "127.0.0.1:PORT", trust_store: "<trust store>"}
    return json.dumps(_without_clock(report, replace), indent=2, sort_keys=True) + "\n"


@pytest.mark.parametrize("peer", list(PEERS))
def test_the_tls_report_on_a_fixed_peer_is_the_recorded_one(
    peer: str, tmp_path: Path, sqlite_env: dict[str, str]
) -> None:
    env = {**sqlite_env, "ASSURE_EGRESS_ALLOW": "127.0.0.1/32"}
    with servers.serving(PEERS[peer](tmp_path)) as server:
        done = assure("check", "tls", f"127.0.0.1:{server.port}", "--json", env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    assert report["status"] == "completed", done.stdout[-2000:]
    text = _normalised(report, server.port)
    recorded = RECORDED / f"{peer}.json"
    if RECORD:
        recorded.parent.mkdir(parents=True, exist_ok=True)
        recorded.write_text(text, "utf-8")
    expected = recorded.read_text("utf-8")
    diff = difflib.unified_diff(expected.splitlines(), text.splitlines(), "recorded", "now", n=4)
    assert text == expected, "\n".join(diff)
