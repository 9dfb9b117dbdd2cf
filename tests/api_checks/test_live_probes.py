"""The live probes (checks/api/live_probes) against an accounts API with five planted faults and
its clean twin, served by uvicorn on loopback; and against peers that hang, drip, lie or give
tokens nothing can be built from."""

from __future__ import annotations

import json
import socket
import time
from typing import Any

import pytest

from checks.api.check import run_api_check
from checks.api.live import LiveSettings
from checks.api.live_probes import rate_limit
from checks.api.live_probes.bodies import NoInstance, instance
from checks.api.live_probes.client import ProbeClient, probe_book, requests_per_second
from checks.api.live_probes.context import ProbeContext
from checks.api.live_probes.jwt_tokens import parsed
from checks.api.live_probes.runner import ProbeReport, run_probes
from checks.api.model import OpenApiView
from checks.catalogue.api import IdentityProof, IdentityStatus
from checks.egress import EgressPolicy
from checks.findings import CheckFinding, Severity
from checks.report import CheckReport
from tests.peers.api_flaws import Mode, build_spec, serving_accounts, token_for
from tests.peers.servers import garbage_handler, serving, stall_handler

LOOPBACK = EgressPolicy.loopback_only()
PROVEN = [IdentityProof(identity="primary", status=IdentityStatus.PROVEN)]
REFUSED = [IdentityProof(identity="primary", status=IdentityStatus.REFUSED)]
TOKEN = token_for("alice")
QUICK = LiveSettings(max_examples=5, budget_seconds=12)
LOW = {Severity.LOW, Severity.INFO}

Probed = tuple[list[CheckFinding], ProbeReport]


def _probe(
    mode: Mode,
    token: str = TOKEN,
    proofs: list[IdentityProof] = PROVEN,
    settings: LiveSettings | None = None,
) -> Probed:
    with serving_accounts(mode) as url:
        return run_probes(build_spec(), url, [token], proofs, LOOPBACK, settings or LiveSettings())


def _outcome(report: ProbeReport, probe: str) -> Any:
    return next(o for o in report.outcomes if o.probe == probe)


@pytest.fixture(scope="module")
def flawed() -> Probed:
    return _probe("flawed")


@pytest.fixture(scope="module")
def clean() -> Probed:
    return _probe("clean")


@pytest.mark.parametrize(
    ("code", "probe"),
    [
        ("API-PROBE-001", "cors"),
        ("API-PROBE-003", "jwt"),
        ("API-PROBE-004", "jwt"),
        ("API-PROBE-011", "jwt"),
        ("API-PROBE-007", "debug_pages"),
        ("API-PROBE-008", "rate_limit"),
        ("API-PROBE-009", "mass_assignment"),
    ],
    ids=[
        "cors-reflected-with-credentials",
        "jwt-alg-none",
        "jwt-signature-not-verified",
        "jwt-claims-changed",
        "traceback",
        "no-rate-limit",
        "mass-assignment",
    ],
)
def test_each_planted_fault_is_found_with_its_request_as_evidence(
    flawed: Probed, code: str, probe: str
) -> None:
    findings, report = flawed
    matches = [f for f in findings if f.code == code]
    assert matches, f"{code} not found"
    evidence = matches[0].evidence
    assert evidence["request"]["url"].startswith("http://127.0.0.1:")
    assert isinstance(evidence["status"], int)
    assert evidence["curl"].startswith(f"curl -X {evidence['request']['method']} ")
    assert code in _outcome(report, probe).findings


def test_no_credential_or_forgery_of_it_reaches_the_evidence(flawed: Probed) -> None:
    findings, report = flawed
    written = json.dumps([f.evidence for f in findings]) + repr(report.outcomes)
    _, payload, signature = TOKEN.split(".")
    for part in (TOKEN, payload, signature):
        assert part not in written
    assert "[redacted: identity token" in written


def test_the_mass_assignment_evidence_names_the_property_taken(flawed: Probed) -> None:
    [hit] = [f for f in flawed[0] if f.code == "API-PROBE-009"]
    assert hit.evidence["taken"] == {"role": "admin"}
    assert '"role": "admin"' in hit.evidence["request"]["body"]


def test_the_clean_twin_raises_nothing_above_low_and_every_probe_ran(clean: Probed) -> None:
    findings, report = clean
    assert [f.code for f in findings if f.severity not in LOW] == []
    assert {o.probe: o.ran for o in report.outcomes} == {
        "cors": True,
        "jwt": True,
        "mass_assignment": True,
        "debug_pages": True,
        "rate_limit": True,
    }
    jwt = _outcome(report, "jwt")
    assert len([n for n in jwt.notes if n.endswith(": 401")]) == 4  # every forgery refused


def test_every_origin_with_credentials_is_a_broken_policy() -> None:
    findings, _ = _probe("wildcard")
    assert {f.code for f in findings} == {"API-PROBE-002"}
    assert findings[0].evidence["allow_origin"] == "*"


def test_an_api_answering_without_a_credential_is_not_charged_with_token_faults() -> None:
    findings, report = _probe("open")
    assert not [f for f in findings if f.code in {"API-PROBE-003", "API-PROBE-004"}]
    jwt = _outcome(report, "jwt")
    assert not jwt.ran
    assert "without any credential" in (jwt.skipped or "")


def test_a_token_that_is_not_a_jwt_skips_the_jwt_probe_and_says_why() -> None:
    _, report = _probe("clean", token="opaque-token-of-a-test-account")
    jwt = _outcome(report, "jwt")
    assert (jwt.ran, jwt.requests, jwt.skipped) == (
        False,
        0,
        "the identity's token is not a signed JWT",
    )


def test_without_a_proven_identity_no_probe_sends_the_token() -> None:
    _, report = _probe("flawed", proofs=REFUSED)
    by_probe = {o.probe: o for o in report.outcomes}
    assert by_probe["jwt"].skipped == "no identity was proven"
    assert by_probe["mass_assignment"].skipped == "no identity was proven"
    assert by_probe["cors"].skipped == "no GET operation with nothing to fill in"


def test_a_token_that_the_api_refuses_is_not_built_upon() -> None:
    stale = token_for("alice", expires_in=-60)
    findings, report = _probe("clean", token=stale)
    assert not [f for f in findings if f.code.startswith("API-PROBE-00") and f.severity not in LOW]
    assert _outcome(report, "jwt").skipped == "the identity's own token did not get 2xx on it"


@pytest.mark.parametrize(
    "token",
    [
        "a.b.c",
        "e30.e30.sig",  # {} as header: no alg
        "eyJhbGciOiJub25lIn0.e30.",  # already alg none: nothing to forge
        "W10.e30.sig",  # a JSON array, not an object
        "eyJhbGciOiJIUzI1NiJ9." + "A" * 20000 + ".sig",  # huge
        "only.two",
    ],
    ids=["not-base64-json", "no-alg", "alg-none", "array-header", "huge", "two-parts"],
)
def test_a_hostile_token_is_not_taken_apart(token: str) -> None:
    assert parsed(token, 16384) is None


@pytest.mark.parametrize(
    ("setting", "per_second"),
    [("200/s", 200.0), ("10/m", 10 / 60), ("5/2s", 2.5), (None, None), ("fast", 1.0), ("0/s", 1.0)],
)
def test_the_users_rate_limit_is_read_as_requests_a_second(
    setting: str | None, per_second: float | None
) -> None:
    assert requests_per_second(setting) == per_second


def test_the_probes_keep_to_the_users_rate() -> None:
    started = time.monotonic()
    _, report = _probe("clean", settings=LiveSettings(rate_limit="40/s"))
    elapsed = time.monotonic() - started
    assert report.requests >= 40
    assert elapsed >= (report.requests - 1) / 40


def test_a_rate_too_low_for_a_burst_skips_it_rather_than_exceed_it() -> None:
    client = ProbeClient(LOOPBACK, 1.0, time.monotonic() + 5, requests_per_second("1/s"), 4096)
    with serving_accounts("flawed") as url:
        ctx = ProbeContext(OpenApiView(build_spec()), url, client, probe_book(), TOKEN, "primary")
        findings, burst = rate_limit.probe(ctx)
    assert (findings, burst.ran, client.sent) == ([], False, 0)
    assert "5 requests in 5s, fewer than the 10 a burst needs" in (burst.skipped or "")


def test_a_hanging_api_stops_the_probes_at_their_deadline() -> None:
    settings = LiveSettings(budget_seconds=4, request_timeout=0.5)
    started = time.monotonic()
    with serving(stall_handler) as server:
        url = f"http://127.0.0.1:{server.port}"
        findings, report = run_probes(build_spec(), url, [TOKEN], PROVEN, LOOPBACK, settings)
    assert time.monotonic() - started < 4
    assert findings == []
    assert not any(o.ran for o in report.outcomes)
    assert report.errors  # the requests that got nothing are said


def _drip(sock: socket.socket) -> None:
    sock.recv(4096)
    sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\nTraceback (most")
    for _ in range(40):
        time.sleep(0.1)
        sock.sendall(b" ")


def test_a_dripping_api_is_read_no_longer_than_the_request_timeout() -> None:
    settings = LiveSettings(budget_seconds=6, request_timeout=0.5)
    started = time.monotonic()
    with serving(_drip) as server:
        url = f"http://127.0.0.1:{server.port}"
        findings, report = run_probes(build_spec(), url, [TOKEN], PROVEN, LOOPBACK, settings)
    # Without the wall-clock cap each request would read for 4s, past the 1.5s deadline.
    assert time.monotonic() - started < 1.5 + 2 * 0.5 + 1
    assert report.requests >= 1
    assert not [f for f in findings if f.code == "API-PROBE-007"]


@pytest.fixture(scope="module")
def flawed_checked(tmp_path_factory: pytest.TempPathFactory) -> CheckReport:
    spec = tmp_path_factory.mktemp("accounts") / "openapi.json"
    spec.write_text(json.dumps(build_spec()))
    with serving_accounts("flawed") as url:
        return run_api_check(str(spec), LOOPBACK, url, [TOKEN], QUICK)


def test_the_full_check_fails_the_gates_of_forgeable_tokens_and_credentialed_cors(
    flawed_checked: CheckReport,
) -> None:
    gates = set(flawed_checked.details["gate_failed"])
    assert {"API-PROBE-001", "API-PROBE-003", "API-PROBE-004"} <= gates
    assert flawed_checked.details["verdict"] == "fail"
    probes = flawed_checked.details["live"]["probes"]
    assert [p["probe"] for p in probes] == [
        "cors",
        "jwt",
        "mass_assignment",
        "debug_pages",
        "rate_limit",
    ]
    found = {f.code for f in flawed_checked.findings}
    assert {"API-PROBE-007", "API-PROBE-008", "API-PROBE-009"} <= found
    assert all(f.outcome_ids for f in flawed_checked.findings if f.code.startswith("API-PROBE"))


def test_an_api_answering_400_to_everything_is_charged_with_nothing() -> None:
    with serving(garbage_handler) as server:
        url = f"http://127.0.0.1:{server.port}"
        findings, report = run_probes(build_spec(), url, [TOKEN], PROVEN, LOOPBACK, LiveSettings())
    assert findings == []
    by_probe = {o.probe: o for o in report.outcomes}
    assert "did not get 2xx" in (by_probe["jwt"].skipped or "")
    assert "a burst of errors shows nothing" in (by_probe["rate_limit"].skipped or "")
    assert by_probe["mass_assignment"].notes[-1] == "control write answered 400"


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "string", "pattern": "^[A-Z]{3}$"},  # what would match is not guessed
        {"$ref": "#/components/schemas/Loop"},  # refers to itself for ever
        {"type": "string", "minLength": 10, "maxLength": 2},  # contradicts itself
        {"$ref": "https://elsewhere.example/schema.json"},  # not followed
    ],
    ids=["pattern", "self-reference", "contradiction", "remote-ref"],
)
def test_no_body_is_made_up_for_a_schema_that_cannot_be_met(schema: dict[str, Any]) -> None:
    loop = {
        "type": "object",
        "required": ["next"],
        "properties": {"next": {"$ref": "#/components/schemas/Loop"}},
    }
    view = OpenApiView({"components": {"schemas": {"Loop": loop}}})
    with pytest.raises(NoInstance):
        instance(view, schema, 6)
