"""The JWKS check by URL: a key set published over HTTP by a real server on loopback, fetched
through the egress policy inside the sandbox, as `assure check jwks URL` runs it."""

from __future__ import annotations

import json

from tests.cli import assure
from tests.peers.jwks import real_jwk
from tests.peers.recording_http import RecordingServer, json_route, recording


def test_a_published_jwks_with_a_leaked_key_and_a_garbage_ml_dsa_key(
    sqlite_env: dict[str, str],
) -> None:
    leaked = real_jwk("ecdsa", "signing-2026", private=True)
    garbage = {"kty": "AKP", "kid": "pq", "alg": "ML-DSA-65", "pub": "YWJj"}  # 3 bytes
    keys = {"keys": [real_jwk("rsa2048", "rsa"), leaked, garbage]}
    server = RecordingServer("127.0.0.1", routes={"/.well-known/jwks.json": json_route(keys)})
    env = {**sqlite_env, "ASSURE_EGRESS_ALLOW": "127.0.0.0/8"}
    with recording(server):
        url = f"http://127.0.0.1:{server.port}/.well-known/jwks.json"
        result = assure("check", "jwks", url, "--json", "--fail-on", "critical", env=env)
    assert server.requests == ["GET /.well-known/jwks.json b''"]
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    findings = {f["code"]: f for f in report["findings"]}
    assert findings["JWKS-006"]["severity"] == "critical"
    assert findings["JWKS-006"]["evidence"]["keys"] == [{"key": "signing-2026", "members": ["d"]}]
    assert findings["JWKS-007"]["evidence"]["keys"][0]["key"] == "pq"
    assert "JWKS-003" not in findings, "a 3-byte key is not a post-quantum key"
    by_kid = {key["kid"]: key for key in report["details"]["keys"]}
    assert by_kid["pq"]["class"] == "unknown"
    assert by_kid["signing-2026"]["algorithm"] == "ECDSA-P256"
    assert report["subscores"]["signatures_and_certificates"] == 0
    assert leaked["d"] not in result.stdout
