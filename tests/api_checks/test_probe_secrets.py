"""No credential the user gave reaches stored evidence, even from an API that echoes its request
into its body or another header: the tokens, the expired token and a base URL's user:password
are redacted by value wherever they appear, in schemathesis's samples and the probes' alike."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from checks.api.check import run_api_check
from checks.api.evidence import SECRET_REDACTED
from checks.api.known_secrets import KnownSecrets
from checks.api.live import LiveSettings
from checks.api.live_probes.runner import run_probes
from checks.catalogue.api import IdentityProof, IdentityStatus
from checks.egress import EgressPolicy
from checks.report import CheckReport
from tests.peers.api_echo import ECHO_FORMS, build_spec, serving_echo

LOOPBACK = EgressPolicy.loopback_only()
TOKEN = "echo-alice-0123456789abcdef"
EXPIRED = "echo-expired-fedcba9876543210"
PASSWORD = "pw-s3cret-value"
PROVEN = [IdentityProof(identity="primary", status=IdentityStatus.PROVEN)]
SETTINGS = LiveSettings(max_examples=3, budget_seconds=60, expired_token=EXPIRED)


def _with_userinfo(url: str) -> str:
    return url.replace("http://", f"http://alice:{PASSWORD}@")


def _leaks(text: str) -> list[str]:
    pair = base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
    return [s for s in (TOKEN, EXPIRED, PASSWORD, pair, TOKEN[:12], TOKEN[-12:]) if s in text]


@pytest.fixture(scope="module")
def checked(tmp_path_factory: pytest.TempPathFactory) -> CheckReport:
    spec = tmp_path_factory.mktemp("echo") / "openapi.json"
    spec.write_text(json.dumps(build_spec()))
    with serving_echo() as url:
        return run_api_check(str(spec), LOOPBACK, _with_userinfo(url), [TOKEN], SETTINGS)


def test_an_echoing_api_puts_no_credential_in_the_report(checked: CheckReport) -> None:
    written = checked.model_dump_json()
    assert _leaks(written) == []
    codes = {f.code for f in checked.findings}
    # The echo was seen and kept as evidence: schemathesis's sample of the undeclared body and
    # the probes' debug page both carry it, redacted.
    assert "API-PROBE-007" in codes
    assert any(f.code.startswith("ST") for f in checked.findings)
    assert SECRET_REDACTED in json.dumps([f.evidence for f in checked.findings])
    assert "[redacted]@127.0.0.1" in written


def test_the_probes_own_evidence_is_scrubbed_with_the_userinfo_out_of_curl_lines() -> None:
    with serving_echo() as url:
        findings, report = run_probes(
            build_spec(), _with_userinfo(url), [TOKEN], PROVEN, LOOPBACK, SETTINGS
        )
    [page] = [f for f in findings if f.code == "API-PROBE-007"]
    assert "authorization" in page.evidence["excerpt"].lower()
    written = json.dumps([f.evidence for f in findings]) + repr(report)
    assert _leaks(written) == []
    assert "alice:" not in page.evidence["curl"]


@pytest.mark.parametrize(
    "text",
    [
        f"Bearer {TOKEN}",
        json.dumps({"echo": f"Bearer {TOKEN}"}),
        f"cut at the end: Bearer {TOKEN[:10]}",
        f"{TOKEN[-9:]} and the rest",
        f"curl http://alice:{PASSWORD}@example.org/v1",
        "Basic " + base64.b64encode(f"alice:{PASSWORD}".encode()).decode(),
    ],
    ids=["header", "json", "cut-tail", "cut-head", "userinfo", "basic"],
)
def test_a_secret_is_redacted_in_any_form_an_echo_gives_it(text: str) -> None:
    secrets = KnownSecrets.of([TOKEN, EXPIRED], f"http://alice:{PASSWORD}@example.org")
    scrubbed = secrets.text(text)
    assert _leaks(scrubbed) == []
    assert TOKEN[:8] not in scrubbed
    assert TOKEN[-8:] not in scrubbed
    assert SECRET_REDACTED in scrubbed


def test_ordinary_text_is_left_alone() -> None:
    secrets = KnownSecrets.of([TOKEN], "http://127.0.0.1:8080")
    text = "GET /v1/me answered HTTP 500: the echo service is down (alice)"
    assert secrets.text(text) == text
    assert KnownSecrets.of(["abc"]).values == ()  # too short to search for


def test_a_report_file_written_by_the_cli_has_no_credential(
    checked: CheckReport, tmp_path: Path
) -> None:
    path = tmp_path / "report.json"
    path.write_text(checked.model_dump_json())
    assert _leaks(path.read_text()) == []


# A token with the characters escapes change: `/` (JSON's `\\/`, kept by quote()), `+` and `=`.
SLASH_TOKEN = "sk_live/Ab+Cd3Ef4Gh5Ij6Kl7=="


def _every_form(secret: str) -> set[str]:
    """Each way an echo spells the secret: the peer's encodings, base64 (standard and URL-safe,
    padded or not) of it, of `secret:` and of `Bearer secret`, its two ends, and itself."""
    forms = {secret, secret[:12], secret[-12:]}
    forms |= {form(secret) for family in ECHO_FORMS.values() for form in family.values()}
    for data in (secret, f"{secret}:", f"Bearer {secret}"):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            text = encode(data.encode()).decode("ascii")
            forms |= {text, text.rstrip("=")}
    return forms


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key)
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


@pytest.fixture(scope="module")
def echoed_every_way(tmp_path_factory: pytest.TempPathFactory) -> CheckReport:
    spec = tmp_path_factory.mktemp("echo-forms") / "openapi.json"
    spec.write_text(json.dumps(build_spec()))
    with serving_echo() as url:
        # No user:password in the URL: the token itself is what every request carries.
        return run_api_check(str(spec), LOOPBACK, url, [SLASH_TOKEN], SETTINGS)


def test_no_encoding_of_any_secret_an_api_echoes_reaches_the_report(
    echoed_every_way: CheckReport,
) -> None:
    report = echoed_every_way
    # Each encoding was handed back and kept as evidence (so it could have leaked), redacted.
    excerpts = {
        sample["operation"]: sample["response_excerpt"]
        for f in report.findings
        for sample in f.evidence.get("samples", [])
    }
    for family in ECHO_FORMS:
        assert SECRET_REDACTED in excerpts[f"GET /v1/echo/{family}"], family
    written = report.model_dump_json()
    strings = [written, *_strings(report.model_dump(mode="json"))]
    for secret in (SLASH_TOKEN, EXPIRED, PASSWORD):
        for form in _every_form(secret):
            leaked = [text for text in strings if form.lower() in text.lower()]
            assert leaked == [], (secret, form, leaked[:1])


def _mixed(secret: str) -> str:
    """Every character escaped, a different way each time (decimal, hex, %xx, \\u)."""
    ways = (
        lambda c: f"&#{ord(c)};",
        lambda c: f"&#x{ord(c):x};",
        lambda c: f"%{ord(c):02x}",
        lambda c: f"\\u{ord(c):04X}",
    )
    return "".join(ways[i % 4](c) for i, c in enumerate(secret))


@pytest.mark.parametrize(
    "echo",
    [
        *(form for family in ECHO_FORMS.values() for form in family.values()),
        _mixed,
        lambda t: t.upper(),
        lambda t: f"{t[:5]}\r\n\t{t[5:17]}\\n  {t[17:]}",
        lambda t: base64.b64encode(f"user:{t}".encode()).decode(),
        lambda t: base64.b64encode(f"xy:{t}".encode()).decode(),
    ],
)
def test_a_secret_is_redacted_however_an_echo_escapes_it(echo: Any) -> None:
    secrets = KnownSecrets.of([SLASH_TOKEN])
    echoed = echo(SLASH_TOKEN)
    scrubbed = secrets.text(f"before {echoed} after")
    assert echoed not in scrubbed
    assert scrubbed.startswith("before ")
    assert scrubbed.endswith(" after")
    assert SECRET_REDACTED in scrubbed


def test_escaped_text_without_a_secret_is_left_as_it_was() -> None:
    secrets = KnownSecrets.of([SLASH_TOKEN, EXPIRED], f"http://alice:{PASSWORD}@example.org")
    text = "a \\/ b &amp; &#43; %2F %zz \\u00e9 \\ud83d\\ude00 &nosuch; 100% done\n  next"
    assert secrets.text(text) == text


def test_a_body_of_megabytes_full_of_escapes_is_scrubbed_in_bounded_time() -> None:
    secrets = KnownSecrets.of([SLASH_TOKEN, EXPIRED], f"http://alice:{PASSWORD}@h")
    body = '  {"a": "x\\/y &amp; %41 \\u00e9",\n' * 60_000 + ECHO_FORMS["json"]["php"](SLASH_TOKEN)
    started = time.monotonic()
    scrubbed = secrets.text(body)
    assert time.monotonic() - started < 5.0  # ~2 MB, one escape every few characters
    assert scrubbed.endswith(SECRET_REDACTED)
    assert len(scrubbed) == len(body) - len(ECHO_FORMS["json"]["php"](SLASH_TOKEN)) + 10
