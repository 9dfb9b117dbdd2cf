"""The JWT probe claims only what its tokens can prove: a forgery under the old signature that
is accepted shows the signature is not verified; expiry is judged only with an expired token
the API itself signed, and without one the result says it was not tested."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from checks.api.live_probes import jwt_tokens
from checks.api.live_probes.client import ProbeClient, probe_book
from checks.api.live_probes.context import ProbeContext
from checks.api.live_probes.jwt_tokens import AUDIENCE_NOT_TESTED, NOT_TESTED, _garbled, _unpad
from checks.api.model import OpenApiView
from checks.catalogue.api import LiveProbeOutcome
from checks.egress import EgressPolicy
from tests.cli import assure
from tests.peers.api_flaws import Mode, build_spec, serving_accounts, token_for

LOOPBACK = EgressPolicy.loopback_only()
TOKEN = token_for("alice")
EXPIRED = token_for("alice", expires_in=-600)
# The same issuer's token for another of its APIs.
ELSEWHERE = token_for("alice", aud="property-store-api")


def _jwt(
    mode: Mode, expired: str | None = None, token: str = TOKEN, other: str | None = None
) -> tuple[set[str], LiveProbeOutcome]:
    client = ProbeClient(LOOPBACK, 2.0, time.monotonic() + 10, None, 65536)
    with serving_accounts(mode) as url:
        view = OpenApiView(build_spec())
        ctx = ProbeContext(view, url, client, probe_book(), token, "primary", expired, other)
        found, result = jwt_tokens.probe(ctx)
    return {f.code for f in found}, result


def test_without_a_signed_expired_token_expiry_is_said_untested_not_passed() -> None:
    codes, result = _jwt("flawed")
    assert codes == {"API-PROBE-003", "API-PROBE-004", "API-PROBE-011"}
    assert NOT_TESTED in result.notes
    clean_codes, clean = _jwt("clean")
    assert clean_codes == set()
    assert "claims changed, signature kept: 401" in clean.notes
    assert NOT_TESTED in clean.notes


def test_an_expired_token_the_api_signed_and_accepts_is_an_expiry_fault() -> None:
    codes, result = _jwt("flawed", EXPIRED)
    assert "API-PROBE-005" in codes
    assert AUDIENCE_NOT_TESTED in result.notes
    assert NOT_TESTED not in result.notes


def test_a_token_for_another_api_accepted_is_an_audience_fault() -> None:
    codes, result = _jwt("any-audience", other=ELSEWHERE)
    # Signature and expiry are checked, so only the audience test finds anything.
    assert codes == {"API-PROBE-006"}
    assert AUDIENCE_NOT_TESTED not in result.notes
    assert NOT_TESTED in result.notes
    without, untested = _jwt("any-audience")
    assert without == set()  # the fault is there; without the token nothing can show it
    assert AUDIENCE_NOT_TESTED in untested.notes


def test_a_token_for_another_api_the_api_refuses_passes_the_audience_test() -> None:
    codes, result = _jwt("clean", other=ELSEWHERE)
    assert codes == set()
    assert "other-audience token given: 401" in result.notes


@pytest.mark.parametrize(
    ("other", "why"),
    [
        (token_for("alice"), "also for this API's (accounts-api)"),
        (token_for("alice", aud=None), "names no audience"),
        (token_for("alice", aud="property-store-api", expires_in=-600), "has expired"),
        ("not-a-jwt", "not a signed JWT"),
    ],
    ids=["same-audience", "no-audience", "expired", "not-a-jwt"],
)
def test_a_token_that_cannot_show_the_audience_fault_is_not_sent(other: str, why: str) -> None:
    codes, result = _jwt("any-audience", other=other)
    assert codes == set()
    assert any(n.startswith("not tested: audience") and why in n for n in result.notes)


def test_an_expired_token_the_api_refuses_is_a_pass_of_the_expiry_test() -> None:
    codes, result = _jwt("clean", EXPIRED)
    assert codes == set()
    assert "expired token given: 401" in result.notes


def test_a_token_given_as_expired_that_has_not_expired_tests_nothing() -> None:
    codes, result = _jwt("flawed", token_for("alice", expires_in=600))
    assert "API-PROBE-005" not in codes
    assert any(
        n.startswith("not tested: expiry: the expired token given has not expired")
        for n in result.notes
    )


def test_a_token_just_past_its_exp_is_within_the_clock_skew_an_api_may_allow() -> None:
    leeway = probe_book().jwt.expiry_leeway_seconds
    assert leeway >= 60
    # The flawed API accepts any expired token: only the leeway keeps these from a finding.
    just_past = token_for("alice", expires_in=-30)
    codes, result = _jwt("flawed", just_past)
    assert "API-PROBE-005" not in codes
    assert any("within the clock skew" in n for n in result.notes)
    own_codes, _ = _jwt("flawed", token=just_past)
    assert "API-PROBE-005" not in own_codes
    long_past = token_for("alice", expires_in=-int(leeway) - 60)
    assert "API-PROBE-005" in _jwt("flawed", token=long_past)[0]


@pytest.mark.parametrize("size", [1, 2, 3, 31, 32, 33, 64, 65, 256])
def test_a_garbled_signature_decodes_to_other_bytes(size: int) -> None:
    for _ in range(20):
        raw = os.urandom(size)
        segment = jwt_tokens._pad_free(raw)
        # What the API verifies is the decoded bytes: a new string that decodes the same (a
        # changed unused low bit in the last character) would be the real signature again.
        garbled = _garbled(segment)
        assert _unpad(garbled) != raw
        assert len(_unpad(garbled)) == size


def test_an_undecodable_signature_is_still_replaced() -> None:
    assert _unpad(_garbled("")) != b""
    assert _garbled("!!!") != "!!!"


def test_the_cli_hands_the_signed_tokens_to_the_probe_and_never_prints_them(
    tmp_path: Path, sqlite_env: dict[str, str]
) -> None:
    spec = tmp_path / "openapi.json"
    spec.write_text(json.dumps(build_spec()))
    env = {**sqlite_env, "ASSURE_EGRESS_ALLOW": "127.0.0.0/8"}
    with serving_accounts("flawed") as url:
        result = assure(
            "check", "api", "--spec", str(spec), "--base-url", url, "--auth", TOKEN,
            "--expired-token", EXPIRED, "--other-audience-token", ELSEWHERE,
            "--max-examples", "2", "--budget", "60", "--json",
            env=env,
        )  # fmt: skip
    report = json.loads(result.stdout)
    assert "API-PROBE-005" in {f["code"] for f in report["findings"]}
    # The flawed API reads no signature, so the other-audience token gets in too.
    assert "API-PROBE-006" in {f["code"] for f in report["findings"]}
    for secret in (EXPIRED, EXPIRED.split(".")[2], TOKEN, ELSEWHERE, ELSEWHERE.split(".")[2]):
        assert secret not in result.stdout


def test_the_cli_refuses_an_expired_token_without_a_live_one(
    tmp_path: Path, sqlite_env: dict[str, str]
) -> None:
    spec = tmp_path / "openapi.json"
    spec.write_text(json.dumps(build_spec()))
    result = assure(
        "check", "api", "--spec", str(spec), "--base-url", "http://127.0.0.1:9",
        "--expired-token", EXPIRED, env=sqlite_env,
    )  # fmt: skip
    assert result.returncode != 0
    assert "--expired-token needs --auth" in result.stderr
