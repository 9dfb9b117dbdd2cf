"""The CORS probe grades an origin allowed with credentials by what a browser would send by
itself: a cookie session (declared, or set by the API though the description says bearer only)
makes a reflected origin critical; an API that takes only a bearer header a foreign page cannot
attach is reported low."""

from __future__ import annotations

import time

import pytest

from checks.api.live import LiveSettings
from checks.api.live_probes import cors
from checks.api.live_probes.client import ProbeClient, probe_book
from checks.api.live_probes.context import ProbeContext
from checks.api.live_probes.cors import ambient_schemes
from checks.api.live_probes.runner import run_probes
from checks.api.model import OpenApiView
from checks.catalogue.api import IdentityProof, IdentityStatus
from checks.egress import EgressPolicy
from checks.findings import Severity
from tests.peers.api_flaws import Cookie, Mode, build_spec, serving_accounts, token_for

LOOPBACK = EgressPolicy.loopback_only()
TOKEN = token_for("alice")


def _cors(mode: Mode, cookie: Cookie) -> tuple[set[str], set[Severity], tuple[str, ...]]:
    client = ProbeClient(LOOPBACK, 2.0, time.monotonic() + 10, None, 65536)
    with serving_accounts(mode, cookie) as url:
        view = OpenApiView(build_spec(cookie))
        found, result = cors.probe(ProbeContext(view, url, client, probe_book(), TOKEN, "primary"))
    assert result.ran
    return {f.code for f in found}, {f.severity for f in found}, result.notes


@pytest.mark.parametrize(
    ("mode", "cookie", "code", "severity"),
    [
        ("flawed", "declared", "API-PROBE-001", Severity.CRITICAL),
        ("flawed", "undeclared", "API-PROBE-001", Severity.CRITICAL),
        ("flawed", "none", "API-PROBE-010", Severity.LOW),
        ("wildcard", "declared", "API-PROBE-002", Severity.HIGH),
        ("wildcard", "none", "API-PROBE-010", Severity.LOW),
    ],
    ids=[
        "reflected-cookie-session",
        "reflected-cookie-the-description-hides",
        "reflected-bearer-only",
        "wildcard-cookie-session",
        "wildcard-bearer-only",
    ],
)
def test_an_origin_allowed_with_credentials_is_graded_by_what_a_browser_sends_itself(
    mode: Mode, cookie: Cookie, code: str, severity: Severity
) -> None:
    codes, severities, notes = _cors(mode, cookie)
    assert (codes, severities) == ({code}, {severity})
    assert notes  # the outcome says which credentials it judged by


def test_the_clean_twin_with_a_cookie_session_raises_nothing() -> None:
    codes, _, notes = _cors("clean", "declared")
    assert codes == set()
    assert "credentials a browser sends by itself: session" in notes


def _whole_run(mode: Mode, cookie: Cookie) -> dict[str, Severity]:
    """The CORS findings of a whole probe run (every probe, as the check runs them)."""
    proven = [IdentityProof(identity="primary", status=IdentityStatus.PROVEN)]
    settings = LiveSettings(max_examples=3, budget_seconds=60)
    with serving_accounts(mode, cookie) as url:
        found, report = run_probes(build_spec(cookie), url, [TOKEN], proven, LOOPBACK, settings)
    [outcome] = [o for o in report.outcomes if o.probe == cors.PROBE]
    assert outcome.ran
    assert outcome.findings == tuple(sorted({f.code for f in found if f.code in CORS_CODES}))
    return {f.code: f.severity for f in found if f.code in CORS_CODES}


CORS_CODES = ("API-PROBE-001", "API-PROBE-002", "API-PROBE-010")


def test_a_session_cookie_set_only_at_a_write_makes_a_reflected_origin_critical() -> None:
    # The description says bearer only, and the probed GET sets no cookie: only another
    # answer of the run (the write the mass-assignment probe sends) shows the cookie session.
    assert _cors("flawed", "login")[0] == {"API-PROBE-010"}
    assert _whole_run("flawed", "login") == {"API-PROBE-001": Severity.CRITICAL}


def test_an_api_that_varies_on_the_probes_dummy_cookie_reads_cookies() -> None:
    codes, severities, notes = _cors("flawed", "vary")
    assert (codes, severities) == ({"API-PROBE-001"}, {Severity.CRITICAL})
    assert any("Vary: Cookie" in n for n in notes)


def test_a_bearer_only_api_that_shows_no_cookie_anywhere_stays_low() -> None:
    assert _whole_run("flawed", "none") == {"API-PROBE-010": Severity.LOW}


@pytest.mark.parametrize(
    ("schemes", "ambient"),
    [
        ({}, None),
        ({"b": {"type": "http", "scheme": "bearer"}}, []),
        ({"b": {"type": "http", "scheme": "Bearer"}, "k": {"type": "apiKey", "in": "header"}}, []),
        ({"o": {"type": "oauth2"}, "i": {"type": "openIdConnect"}}, []),
        ({"b": {"type": "http", "scheme": "basic"}}, ["b"]),
        ({"c": {"type": "apiKey", "in": "cookie", "name": "sid"}}, ["c"]),
        ({"m": {"type": "mutualTLS"}}, ["m"]),
        ({"x": {"type": "somethingNew"}}, ["x"]),
    ],
    ids=["none", "bearer", "bearer-and-header-key", "oauth", "basic", "cookie", "mtls", "unknown"],
)
def test_which_schemes_a_browser_sends_by_itself(
    schemes: dict[str, object], ambient: list[str] | None
) -> None:
    document = {"components": {"securitySchemes": schemes}} if schemes else {}
    assert ambient_schemes(OpenApiView(document)) == ambient
