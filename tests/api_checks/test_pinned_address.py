"""A live run resolves the base URL's name once, and every request of the run (preflight,
schemathesis, probes) goes to that vetted address with the name kept in the Host header: a DNS
server that answers the allowed address first and a forbidden one after (DNS rebinding) never
gets a second question, and the forbidden server, on the same port, never sees a request."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from checks.api.check import run_api_check
from checks.api.live import LiveSettings
from checks.egress import EgressPolicy, EgressRefused
from checks.fetch import for_run, status_of
from tests.peers.dns_server import RebindingDns, serving_dns
from tests.peers.recording_http import RecordingServer, json_route, twin_ports

ALLOWED = "127.0.0.2"
NAME = "api.rebind.test"
QUICK = LiveSettings(max_examples=3, budget_seconds=20)


def _spec() -> dict[str, object]:
    ok = {"200": {"description": "ok", "content": {"application/json": {"schema": {}}}}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "Me", "version": "1"},
        "security": [{"bearer": []}],
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "paths": {"/v1/me": {"get": {"responses": ok}}, "/v1/settings": {"get": {"responses": ok}}},
    }


@pytest.fixture
def rebinding() -> Iterator[tuple[RecordingServer, RecordingServer, RebindingDns, EgressPolicy]]:
    routes = {path: json_route({"name": "alice"}) for path in ("/v1/me", "/v1/settings")}
    allowed = RecordingServer(ALLOWED, routes=routes)
    forbidden = RecordingServer("127.0.0.1", routes=dict(routes))
    resolver = RebindingDns(NAME, [ALLOWED, "127.0.0.1"])
    with twin_ports(allowed, forbidden), serving_dns(resolver):
        policy = EgressPolicy.from_cidrs((f"{ALLOWED}/32",), (f"127.0.0.1:{resolver.port}",))
        yield allowed, forbidden, resolver, policy


def test_the_whole_live_run_uses_the_one_address_resolved_for_it(rebinding, tmp_path: Path):
    allowed, forbidden, resolver, policy = rebinding
    spec = tmp_path / "openapi.json"
    spec.write_text(json.dumps(_spec()))
    report = run_api_check(
        str(spec), policy, f"http://{NAME}:{allowed.port}", ["token-alice"], QUICK
    )
    assert forbidden.requests == []
    assert len(resolver.queries_for("A")) == 1
    live = report.details["live"]
    # The preflight reached the API through the pinned address and proved the identity...
    assert [p["status"] for p in live["identity_proofs"]] == ["proven"]
    assert live["operations_tested"] == 2
    # ...and so did the probes after schemathesis, with nothing refused on the way.
    assert sum(outcome["requests"] for outcome in live["probes"]) > 0
    assert "API-LIVE-003" not in {f.code for f in report.findings}


def test_a_run_policy_answers_from_its_pin_and_refuses_other_hosts(rebinding) -> None:
    allowed, forbidden, resolver, policy = rebinding
    base = f"http://{NAME}:{allowed.port}"
    pinned = for_run(policy, base, None)
    for _ in range(3):
        assert status_of(f"{base}/v1/me", pinned, {}, 2.0) == 200
    assert len(resolver.queries_for("A")) == 1
    assert len(allowed.requests) == 3
    assert forbidden.requests == []
    with pytest.raises(EgressRefused, match="not the address vetted for this run"):
        status_of(f"http://other.rebind.test:{allowed.port}/", pinned, {}, 2.0)
    with pytest.raises(EgressRefused):  # another port on the same name is another target
        status_of(f"http://{NAME}:{allowed.port + 1}/", pinned, {}, 2.0)
