"""The live API check reaches the supplier's sandbox and nothing else, whatever the
description says: only 127.0.0.2 is allowed, and a server on 127.0.0.1 plays the forbidden
target (cloud metadata, an internal service) and must record no request at all."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from checks.api.live import LiveSettings, run_live
from checks.egress import EgressPolicy
from checks.report import CheckReport, ReportStatus
from checks.sandbox.request import SandboxedCheck
from checks.sandbox.run import run_sandboxed
from kernel.settings import Settings
from posture.check_requests import CheckRequest, file_fields
from posture.storage.models import CheckRun
from posture.storage.models.enums import RunStatus
from tests.cli import assure
from tests.identity.world import World
from tests.peers.dns_server import RebindingDns, serving_dns
from tests.peers.recording_http import (
    RecordingServer,
    json_route,
    redirect_route,
    twin_ports,
)
from tests.peers.workers import running_worker, submit_as_supplier, wait_for_jobs
from tests.sandbox.hostile_specs import every_way_out, item_api, sandbox_documents

ALLOWED = "127.0.0.2"
ONLY_SANDBOX = EgressPolicy.from_cidrs((f"{ALLOWED}/32",))
QUICK = LiveSettings(max_examples=5, budget_seconds=10)
SECRET = {"secret": "metadata-token-that-must-never-leave"}


@pytest.fixture
def peers() -> Iterator[tuple[RecordingServer, RecordingServer]]:
    sandbox = RecordingServer(ALLOWED, serve_items=True)
    forbidden = RecordingServer(
        "127.0.0.1", routes={p: json_route(SECRET) for p in ("/param", "/body", "/other.json")}
    )
    with twin_ports(sandbox, forbidden):
        base = f"http://{ALLOWED}:{sandbox.port}"
        sandbox.routes.update({p: json_route(d) for p, d in sandbox_documents(base).items()})
        yield sandbox, forbidden


def _urls(sandbox: RecordingServer, forbidden: RecordingServer) -> tuple[str, str]:
    return f"http://{ALLOWED}:{sandbox.port}", f"http://127.0.0.1:{forbidden.port}"


def _check(base_url: str | None) -> SandboxedCheck:
    return SandboxedCheck(
        kind="api", file_name="openapi.json", base_url=base_url, live=asdict(QUICK)
    )


def _run(spec: dict, base_url: str | None, policy: EgressPolicy = ONLY_SANDBOX) -> CheckReport:
    return run_sandboxed(_check(base_url), policy, json.dumps(spec).encode())


def _items_requests(server: RecordingServer) -> list[str]:
    return [r for r in server.requests if r.split()[1].startswith("/items")]


def test_every_way_out_of_a_description_stays_inside_the_sandbox(peers) -> None:
    sandbox, forbidden = peers
    sandbox_url, forbidden_url = _urls(sandbox, forbidden)
    report = _run(every_way_out(sandbox_url, forbidden_url), sandbox_url)
    assert forbidden.requests == []
    assert report.status is ReportStatus.COMPLETED
    assert report.details["live"]["operations_tested"] >= 1
    fetched = {r.split()[1] for r in sandbox.requests if r.startswith("GET /docs/")}
    assert fetched == {"/docs/item.json", "/docs/name.json"}
    assert _items_requests(sandbox), "the live run never reached the sandbox API"
    not_followed = " ".join(report.details["live"]["not_followed"])
    assert "externalValue" in not_followed
    assert "operationRef" in not_followed
    assert SECRET["secret"] not in " ".join(sandbox.requests)


def test_a_ref_that_redirects_to_a_forbidden_address_is_not_followed(peers) -> None:
    sandbox, forbidden = peers
    sandbox_url, forbidden_url = _urls(sandbox, forbidden)
    sandbox.routes["/docs/moved.json"] = redirect_route(f"{forbidden_url}/other.json")
    report = _run(item_api({"$ref": f"{sandbox_url}/docs/moved.json"}), sandbox_url)
    assert forbidden.requests == []
    assert report.status is ReportStatus.NOT_ASSESSABLE
    assert "302" in json.dumps([f.evidence for f in report.findings])


def test_a_nested_ref_to_a_forbidden_address_is_refused(peers) -> None:
    sandbox, forbidden = peers
    sandbox_url, forbidden_url = _urls(sandbox, forbidden)
    sandbox.routes["/docs/outer.json"] = json_route({"$ref": f"{forbidden_url}/other.json"})
    report = _run(item_api({"$ref": f"{sandbox_url}/docs/outer.json"}), sandbox_url)
    assert forbidden.requests == []
    assert report.status is ReportStatus.NOT_ASSESSABLE
    assert "egress policy" in json.dumps([f.evidence for f in report.findings])
    assert [r for r in sandbox.requests if r.startswith("GET /docs/outer.json")]


def test_schemathesis_itself_cannot_reach_past_its_guard(peers, tmp_path: Path) -> None:
    """Without the bundling step, the description goes to schemathesis as written: it tries
    the forbidden address itself, and the guard in its process refuses every attempt."""
    sandbox, forbidden = peers
    sandbox_url, forbidden_url = _urls(sandbox, forbidden)
    spec = every_way_out(sandbox_url, forbidden_url)
    spec["components"]["schemas"]["Item"] = {"$ref": f"{forbidden_url}/other.json#/Item"}
    result = run_live(json.dumps(spec).encode(), sandbox_url, [], QUICK, ONLY_SANDBOX)
    assert forbidden.requests == []
    refused = {(r["event"], r["target"]) for r in result.egress_refused}
    assert any(target.startswith("127.0.0.1") for _event, target in refused), refused


def test_a_name_that_rebinds_to_a_forbidden_address_is_never_reached(peers) -> None:
    sandbox, forbidden = peers
    resolver = RebindingDns("api.rebind.test", [ALLOWED, "127.0.0.1"])
    with serving_dns(resolver):
        policy = EgressPolicy.from_cidrs((f"{ALLOWED}/32",), (f"127.0.0.1:{resolver.port}",))
        report = _run(
            item_api({"type": "object"}), f"http://api.rebind.test:{sandbox.port}", policy
        )
    assert forbidden.requests == []
    assert _items_requests(sandbox), "the live run never reached the sandbox API"
    assert report.details["live"]["operations_tested"] == 1
    # Resolved once, to vet it; the schemathesis process never asks again.
    assert len(resolver.queries_for("A")) == 1


def test_the_cli_keeps_a_hostile_description_inside_the_sandbox(peers, tmp_path: Path) -> None:
    sandbox, forbidden = peers
    sandbox_url, forbidden_url = _urls(sandbox, forbidden)
    spec_file = tmp_path / "openapi.json"
    spec_file.write_text(json.dumps(every_way_out(sandbox_url, forbidden_url)))
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSURE_")}
    env |= {"ASSURE_DATA_DIR": str(tmp_path / "data"), "ASSURE_EGRESS_ALLOW": f"{ALLOWED}/32"}
    result = assure(
        "check", "api", "--spec", str(spec_file), "--base-url", sandbox_url,
        "--max-examples", "5", "--budget", "10", "--json", env=env,
    )  # fmt: skip
    report = json.loads(result.stdout)
    assert forbidden.requests == []
    assert report["details"]["live"]["operations_tested"] >= 1
    assert _items_requests(sandbox)


Db = tuple[World, sessionmaker[Session], Settings]


def test_a_worker_job_keeps_a_hostile_description_inside_the_sandbox(peers, world_db: Db) -> None:
    world, sessions, settings = world_db
    sandbox, forbidden = peers
    sandbox_url, forbidden_url = _urls(sandbox, forbidden)
    raw = json.dumps(every_way_out(sandbox_url, forbidden_url)).encode()
    request = CheckRequest(kind="api", base_url=sandbox_url, **file_fields("openapi.json", raw))
    with running_worker(settings, egress_allow=f"{ALLOWED}/32"):
        job_id = submit_as_supplier(
            sessions, settings, world, request, raw, egress_allow=f"{ALLOWED}/32"
        )
        job = wait_for_jobs(sessions, [job_id])[job_id]
    assert job.status is RunStatus.SUCCEEDED, job.error
    assert forbidden.requests == []
    assert _items_requests(sandbox)
    with sessions() as session:
        run = session.get(CheckRun, job.payload["check_run_id"])
        assert run is not None
        assert run.result is not None
        assert run.result["details"]["live"]["operations_tested"] >= 1
