"""The mass-assignment probe plants a value the server would not have set by itself: a server
that sets the read-only `role` to its own default is not charged when the default is what the
description's enum or default would have had the probe send."""

from __future__ import annotations

import time
from typing import Any

import pytest

from checks.api.live_probes import mass_assignment
from checks.api.live_probes.client import ProbeClient, probe_book
from checks.api.live_probes.context import ProbeContext
from checks.api.model import OpenApiView
from checks.catalogue.api import LiveProbeOutcome
from checks.egress import EgressPolicy
from checks.findings import CheckFinding
from tests.peers.api_flaws import Mode, build_spec, serving_accounts, token_for

LOOPBACK = EgressPolicy.loopback_only()
TOKEN = token_for("alice")
# The server's own role is "member"; each description would once have had "member" planted.
DESCRIPTIONS = {
    "default-declared": {"roles": ("admin", "member"), "role_default": "member"},
    "default-undeclared": {"roles": ("admin", "member")},
    "default-declared-first": {"roles": ("member", "admin"), "role_default": "member"},
}


def _probe(mode: Mode, spec: dict[str, Any]) -> tuple[list[CheckFinding], LiveProbeOutcome]:
    client = ProbeClient(LOOPBACK, 2.0, time.monotonic() + 10, None, 65536)
    with serving_accounts(mode) as url:
        ctx = ProbeContext(OpenApiView(spec), url, client, probe_book(), TOKEN, "primary")
        return mass_assignment.probe(ctx)


@pytest.mark.parametrize("description", sorted(DESCRIPTIONS))
def test_a_server_setting_its_own_default_is_not_charged(description: str) -> None:
    findings, result = _probe("clean", build_spec(**DESCRIPTIONS[description]))
    assert result.ran
    assert findings == []
    # It did plant the role (as "admin"): it found it not taken.
    assert "planted: ['id', 'owner', 'role']" in result.notes


@pytest.mark.parametrize("description", sorted(DESCRIPTIONS))
def test_a_server_storing_the_role_sent_is_charged_with_the_value_it_did_not_choose(
    description: str,
) -> None:
    findings, result = _probe("flawed", build_spec(**DESCRIPTIONS[description]))
    [hit] = findings
    assert hit.evidence["taken"] == {"role": "admin"}
    assert hit.evidence["server_own"] == {"role": "member"}
    assert any(n.startswith("control write answered 201") for n in result.notes)


def test_a_role_whose_only_value_is_the_servers_own_is_not_planted() -> None:
    findings, result = _probe("flawed", build_spec(roles=("member",)))
    assert findings == []
    assert "role: no value the server would not set itself" in result.notes


def test_a_write_answered_with_json_too_deep_to_parse_is_read_back_not_a_crash() -> None:
    findings, result = _probe("deep", build_spec())
    # The hostile body is "not JSON" for that answer; the object is read from its Location.
    assert result.ran, result.skipped
    assert findings == []
    assert any(n.startswith("read back from ") for n in result.notes)
