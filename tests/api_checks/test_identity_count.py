"""More identities than the check can use, or a check request past its limits, is refused with a
sentence before anything is sent or written: never a traceback, never the token echoed back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from checks.api.check import run_api_check
from checks.api.live import LiveSettings
from checks.egress import EgressPolicy
from checks.sandbox.request import SandboxedCheck
from kernel.errors import ValidationFailed
from tests.cli import assure
from tests.peers.apis import build_spec
from tests.peers.recording_http import RecordingServer, recording

TOKENS = ["token-alice", "token-bob", "token-carol-secret"]


def test_a_third_identity_is_refused_in_a_sentence_without_the_tokens() -> None:
    with pytest.raises(ValidationFailed) as refused:
        SandboxedCheck(kind="api", base_url="http://127.0.0.1:9", tokens=tuple(TOKENS))
    message = str(refused.value)
    assert "at most two identities" in message
    assert "--auth" in message
    assert not any(token in message for token in TOKENS)


def test_a_third_identity_sends_nothing_in_process(tmp_path: Path) -> None:
    spec = tmp_path / "openapi.json"
    spec.write_text(json.dumps(build_spec(False)))
    with (
        recording(RecordingServer("127.0.0.1")) as server,
        pytest.raises(ValidationFailed, match="at most 2"),
    ):
        run_api_check(
            str(spec),
            EgressPolicy.loopback_only(),
            f"http://127.0.0.1:{server.port}",
            TOKENS,
            LiveSettings(max_examples=1, budget_seconds=5),
        )
    assert server.requests == []


def test_the_cli_refuses_an_overlong_base_url_in_one_line(tmp_path: Path, sqlite_env) -> None:
    spec, sarif = tmp_path / "openapi.json", tmp_path / "out.sarif"
    spec.write_text(json.dumps(build_spec(False)))
    long_url = "http://127.0.0.1:9/" + "a" * 2100
    result = assure(
        "check", "api", "--spec", str(spec), "--base-url", long_url,
        "--auth", "token-carol-secret", "--sarif", str(sarif), env=sqlite_env,
    )  # fmt: skip
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "base URL" in result.stderr
    assert "2000 characters" in result.stderr
    assert "token-carol-secret" not in result.stderr + result.stdout
    assert not sarif.exists()
