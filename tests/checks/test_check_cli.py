"""`assure check`: real loopback servers, JSON output, CBOM output, exit codes, egress refusals."""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assure_cli.check import build_app
from checks.catalogue import CheckKind
from tests.checks.report_formats import assert_valid_sarif, junit_suite
from tests.cli import assure
from tests.peers import servers
from tests.peers.certificates import make_certificate
from tests.peers.jwks import real_jwk

CBOMS = Path(__file__).resolve().parents[1] / "data" / "cbom"


@pytest.fixture
def loopback_env(sqlite_env: dict[str, str]) -> dict[str, str]:
    return {**sqlite_env, "ASSURE_EGRESS_ALLOW": "127.0.0.0/8,::1/128"}


def test_check_tls_json_and_cbom(tmp_path: Path, loopback_env: dict[str, str]) -> None:
    cert, key = make_certificate(tmp_path, "ecdsa")
    out = tmp_path / "found.cbom.json"
    with servers.serving(servers.pyopenssl_handler(cert, key)) as server:
        result = assure(
            "check",
            "tls",
            f"127.0.0.1:{server.port}",
            "--json",
            "--cbom",
            str(out),
            env=loopback_env,
        )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["kind"] == "tls"
    assert report["subscores"]["key_exchange"] == 100
    assert any(f["code"] == "PQC-TLS-004" for f in report["findings"])
    reimported = assure("check", "cbom", str(out), "--json", env=loopback_env)
    assert json.loads(reimported.stdout)["status"] == "completed"


def test_fail_on_makes_findings_fail_a_pipeline(tmp_path: Path, loopback_env) -> None:
    cert, key = make_certificate(tmp_path, "ecdsa")
    with servers.serving(servers.stdlib_handler(cert, key)) as server:
        result = assure(
            "check", "tls", f"127.0.0.1:{server.port}", "--fail-on", "high", env=loopback_env
        )
    assert result.returncode == 1
    assert "PQC-TLS-001" in result.stdout


def test_loopback_is_refused_without_an_egress_allowance(sqlite_env: dict[str, str]) -> None:
    result = assure("check", "tls", "127.0.0.1:443", env=sqlite_env)
    assert result.returncode == 2
    assert "refused by the egress policy" in result.stderr
    assert "Traceback" not in result.stderr


class _JwksHandler(BaseHTTPRequestHandler):
    body = json.dumps({"keys": [real_jwk("mldsa44", "pq")]}).encode()

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def jwks_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _JwksHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()


def test_check_jwks_by_url_through_the_egress_policy(
    jwks_server: int, loopback_env, sqlite_env
) -> None:
    url = f"http://localhost:{jwks_server}/.well-known/jwks.json"
    result = assure("check", "jwks", url, "--json", env=loopback_env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["details"]["keys"][0]["class"] == "quantum-safe"
    refused = assure("check", "jwks", url, env=sqlite_env)
    assert refused.returncode == 2
    assert "egress policy" in refused.stderr


def test_check_cbom_and_cert_files(tmp_path: Path, loopback_env) -> None:
    cbom = assure("check", "cbom", str(CBOMS / "cbomkit_kafka-cbom.json"), env=loopback_env)
    assert cbom.returncode == 0
    assert "CBOM-001" in cbom.stdout
    cert, _ = make_certificate(tmp_path, "mldsa65")
    checked = assure("check", "cert", str(cert), "--json", env=loopback_env)
    assert json.loads(checked.stdout)["score"] == 100
    missing = assure("check", "cert", str(tmp_path / "nope.pem"), env=loopback_env)
    assert missing.returncode == 2
    assert "cannot read" in missing.stderr


def test_every_check_command_writes_sarif_and_junit(tmp_path: Path, sqlite_env) -> None:
    cert, _ = make_certificate(tmp_path, "rsa2048")
    sarif, junit = tmp_path / "cert.sarif", tmp_path / "cert.xml"
    options = ["--sarif", str(sarif), "--junit", str(junit)]
    result = assure("check", "cert", str(cert), *options, env=sqlite_env)
    assert result.returncode == 0, result.stderr
    assert f"SARIF written to {sarif}" in result.stdout
    results = assert_valid_sarif(json.loads(sarif.read_text()))
    assert {r["ruleId"] for r in results} == {"CERT-004"}
    uri = results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == str(cert)  # the file as given, so code scanning finds it in the repository
    suite = junit_suite(junit.read_text())
    case = suite.find("testcase[@classname='cert.CERT-004']")
    assert case is not None
    assert case.find("failure") is None  # quantum-vulnerable is low: reported, not failed
    for kind in CheckKind:
        usage = CliRunner().invoke(build_app(), [kind, "--help"], env={"COLUMNS": "200"}).output
        assert "--sarif" in usage, kind
        assert "--junit" in usage, kind


def test_attest_sign_and_verify_round_trip(tmp_path: Path, sqlite_env) -> None:
    report = tmp_path / "report.json"
    report.write_text('{"score": 88}')
    assert assure("attest", "sign", str(report), env=sqlite_env).returncode == 0
    signature = tmp_path / "report.json.sig.json"
    assert assure("attest", "verify", str(report), str(signature), env=sqlite_env).returncode == 0
    report.write_text('{"score": 99}')
    tampered = assure("attest", "verify", str(report), str(signature), env=sqlite_env)
    assert tampered.returncode == 1
    assert "does not match" in tampered.stderr


def test_a_recorded_check_feeds_the_posture_score(tmp_path: Path, loopback_env) -> None:
    assert assure("db", "upgrade", env=loopback_env).returncode == 0
    seeded = assure("demo", "seed", "--suppliers", "2", "--as-of", "2026-11-01", env=loopback_env)
    assert seeded.returncode == 0
    cert, key = make_certificate(tmp_path, "ecdsa")
    with servers.serving(servers.stdlib_handler(cert, key)) as server:
        result = assure(
            "check", "tls", f"127.0.0.1:{server.port}", "--record", "product:1", env=loopback_env
        )
    assert result.returncode == 0, result.stderr
    # The demo estate holds check runs of its own; this one is recorded after them.
    recorded = re.search(r"recorded as check run (\d+)", result.stdout)
    assert recorded is not None, result.stdout
    run_id = int(recorded.group(1))
    explained = json.loads(
        assure("score", "explain", "product:1", "--json", env=loopback_env).stdout
    )
    c3b = next(o for o in explained["outcomes"] if o["outcome"] == "C3.b")
    assert c3b["status"] == "not achieved"
    assert (
        c3b.get("contradicted_by", {}).get("check_run_id") == run_id
        or c3b.get("corroborated_by_check_run") == run_id
    )
    unknown = assure("check", "cert", str(cert), "--record", "product:999", env=loopback_env)
    assert unknown.returncode == 2
    assert "no product 999" in unknown.stderr
