"""The authorisation matrix (issue 19, item 3): on a notes API whose notes exist already (no
create operation, so fuzzing never holds another identity's id), each identity's notes are read
as their owner, then as the other identity and anonymously; with --matrix-writes, written back
as the other identity. A flawed API leaks and is caught with both requests as evidence; its
clean twin refuses every replay; a hostile objects file is refused before anything is sent; a
target that never answers a read costs the matrix's deadline, no more."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from checks.api.authz_discovery import collections
from checks.api.authz_matrix import NO_OBJECTS, WRITES_OFF, cross_identity_untested, run_matrix
from checks.api.authz_objects import (
    MAX_PER_IDENTITY,
    ObjectsFile,
    ObjectsFileError,
    named_objects,
    parse_objects,
)
from checks.api.check import run_api_check
from checks.api.credentials import IDENTITY_NAMES
from checks.api.identities import BolaNotTested
from checks.api.live import LiveSettings
from checks.api.model import OpenApiView
from checks.api.preflight import probe_operations
from checks.catalogue.api import AuthzMatrix, AuthzOutcome, IdentityProof, IdentityStatus
from checks.egress import EgressPolicy
from checks.findings import CheckFinding
from checks.report import CheckReport
from tests.cli import assure
from tests.peers.api_objects import ALICE_NOTES, BOB_NOTES, build_spec, serving_objects

LOOPBACK = EgressPolicy.loopback_only()
QUICK = LiveSettings(max_examples=3, budget_seconds=20)
TOKENS = ["token-alice", "token-bob"]
BOTH = [IdentityProof(identity=n, status=IdentityStatus.PROVEN) for n in ("primary", "secondary")]
AUTHZ = {"API-AUTHZ-001", "API-AUTHZ-002", "API-AUTHZ-003"}
OBJECTS = (
    "primary:\n"
    f"  - /v1/notes/{ALICE_NOTES[0]}\n"
    "secondary:\n"
    "  - operation: GET /v1/notes/{note_id}\n"
    f"    params: {{note_id: {BOB_NOTES[0]}}}\n"
)


def _spec_file(folder: Path) -> str:
    path = folder / "openapi.json"
    path.write_text(json.dumps(build_spec()))
    return str(path)


def _matrix(report: CheckReport) -> AuthzMatrix:
    return AuthzMatrix.model_validate(report.details["live"]["authz_matrix"])


def _codes(findings: list[CheckFinding]) -> set[str]:
    return {f.code for f in findings}


@pytest.fixture(scope="module")
def flawed(tmp_path_factory: pytest.TempPathFactory) -> tuple[CheckReport, Any]:
    """The flawed API, checked as a user would first: two tokens, no objects file, no writes."""
    folder = tmp_path_factory.mktemp("flawed")
    with serving_objects("flawed") as (url, app):
        report = run_api_check(_spec_file(folder), LOOPBACK, url, TOKENS, QUICK)
    return report, app


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> CheckReport:
    folder = tmp_path_factory.mktemp("clean")
    with serving_objects("clean") as (url, _):
        return run_api_check(
            _spec_file(folder), LOOPBACK, url, TOKENS, QUICK, objects=OBJECTS, matrix_writes=True
        )


def test_another_identity_and_no_identity_read_the_owners_note_with_evidence(
    flawed: tuple[CheckReport, Any],
) -> None:
    report, _ = flawed
    assert {"API-AUTHZ-001", "API-AUTHZ-002"} <= set(report.details["gate_failed"])
    assert report.details["verdict"] == "fail"
    cross = [f for f in report.findings if f.code == "API-AUTHZ-001"]
    assert len(cross) == 1  # one fault, one finding, whatever the objects and directions
    assert "ST402" not in _codes(report.findings)  # schemathesis's restatement, folded in
    evidence = next(
        c
        for c in [cross[0].evidence, *cross[0].evidence["more_cases"]]
        if c["object"] == f"/v1/notes/{ALICE_NOTES[0]}"
    )
    assert (evidence["owner"], evidence["requester"]) == ("primary", "secondary")
    assert evidence["operation"] == "GET /v1/notes/{note_id}"
    owner, replayed = evidence["owner_exchange"], evidence["replayed_exchange"]
    assert owner["request"]["headers"]["Authorization"].startswith("[redacted")
    assert "identity token (secondary)" in replayed["curl"]
    assert replayed["curl"].startswith("curl -X GET http://127.0.0.1:")
    assert "Custody log 14" in replayed["response_excerpt"]
    # No two reads are alike: the request id and time by name, the read counter learnt.
    assert {"request_id", "served_at", "reads"} <= set(evidence["ignored_fields"])
    anonymous = next(f for f in report.findings if f.code == "API-AUTHZ-002")
    assert "Authorization" not in anonymous.evidence["replayed_exchange"]["request"]["headers"]


def test_objects_are_found_through_the_list_without_a_file(
    flawed: tuple[CheckReport, Any],
) -> None:
    matrix = _matrix(flawed[0])
    found = {(o.owner, o.path, o.source, o.usable) for o in matrix.objects}
    assert found == {
        ("primary", f"/v1/notes/{ALICE_NOTES[0]}", "discovered", True),
        ("primary", f"/v1/notes/{ALICE_NOTES[1]}", "discovered", True),
        ("secondary", f"/v1/notes/{BOB_NOTES[0]}", "discovered", True),
    }
    assert flawed[0].details["live"]["bola_not_tested"] is None


def test_writes_are_not_replayed_unless_asked(flawed: tuple[CheckReport, Any]) -> None:
    report, app = flawed
    matrix = _matrix(report)
    assert "API-AUTHZ-003" not in _codes(report.findings)
    assert (matrix.writes, matrix.writes_note) == (False, WRITES_OFF)
    assert {cell.method for cell in matrix.cells} == {"GET"}
    assert not [w for w in app.state.writes if w in {("bob", n) for n in ALICE_NOTES}]


def test_no_token_reaches_the_report(flawed: tuple[CheckReport, Any]) -> None:
    written = json.dumps(flawed[0].model_dump(mode="json"))
    assert not any(token in written for token in TOKENS)


def test_asked_to_write_the_other_identitys_put_is_caught() -> None:
    with serving_objects("flawed") as (url, app):
        findings, matrix = run_matrix(build_spec(), url, TOKENS, BOTH, LOOPBACK, QUICK, None, True)
    writes = [f for f in findings if f.code == "API-AUTHZ-003"]
    assert len(writes) == 1
    assert set(writes[0].evidence["objects"]) == {f"/v1/notes/{n}" for n in ALICE_NOTES} | {
        f"/v1/notes/{BOB_NOTES[0]}"
    }
    put = writes[0].evidence["replayed_exchange"]
    assert put["request"]["method"] == "PUT"
    assert '"title"' in put["request"]["body"]  # the body its owner read, sent back whole
    assert ("bob", ALICE_NOTES[0]) in app.state.writes
    assert app.state.notes[ALICE_NOTES[0]]["title"] == "Custody log 14"  # nothing changed
    assert not any(cell.method == "DELETE" for cell in matrix.cells)


def test_the_clean_twin_refuses_every_replay(clean: CheckReport) -> None:
    assert not AUTHZ & _codes(clean.findings)
    assert not AUTHZ & set(clean.details["gate_failed"])
    matrix = _matrix(clean)
    assert matrix.writes
    outcomes = {(c.path, c.requester, c.method): (c.status, c.outcome) for c in matrix.cells}
    assert outcomes == {
        (f"/v1/notes/{ALICE_NOTES[0]}", "secondary", "GET"): (404, AuthzOutcome.REFUSED),
        (f"/v1/notes/{ALICE_NOTES[0]}", "anonymous", "GET"): (401, AuthzOutcome.REFUSED),
        (f"/v1/notes/{ALICE_NOTES[0]}", "secondary", "PUT"): (404, AuthzOutcome.REFUSED),
        (f"/v1/notes/{ALICE_NOTES[1]}", "secondary", "GET"): (404, AuthzOutcome.REFUSED),
        (f"/v1/notes/{ALICE_NOTES[1]}", "anonymous", "GET"): (401, AuthzOutcome.REFUSED),
        (f"/v1/notes/{ALICE_NOTES[1]}", "secondary", "PUT"): (404, AuthzOutcome.REFUSED),
        (f"/v1/notes/{BOB_NOTES[0]}", "primary", "GET"): (404, AuthzOutcome.REFUSED),
        (f"/v1/notes/{BOB_NOTES[0]}", "anonymous", "GET"): (401, AuthzOutcome.REFUSED),
        (f"/v1/notes/{BOB_NOTES[0]}", "primary", "PUT"): (404, AuthzOutcome.REFUSED),
    }
    sources = {(o.path, o.source) for o in matrix.objects}
    assert (f"/v1/notes/{ALICE_NOTES[0]}", "file") in sources
    assert (f"/v1/notes/{BOB_NOTES[0]}", "file") in sources


def _deep(levels: int) -> str:
    return "primary: " + "[" * levels + "]" * levels


HOSTILE = {
    "huge": ("primary:\n" + "  - /v1/notes/x\n" * 10_000, "larger than"),
    "deep": (_deep(200), "nested deeper"),
    "another-host": ("primary: [http://evil.example/v1/notes/1]", "full URL"),
    "scheme-relative": ("primary: [//evil.example/v1/notes/1]", "full URL"),
    "javascript": ("primary: ['javascript:alert(1)']", "full URL"),
    "ten-thousand": (json.dumps({"primary": ["/a"] * 10_000}), f"at most {MAX_PER_IDENTITY}"),
    "dot-dot": ("primary: [/v1/notes/%2e%2e/%2e%2e/admin]", "steps out"),
    "double-encoded": ("primary: [/v1/notes/%252e%252e/%252e%252e/admin]", "encoded %"),
    "windows-separator": ("primary: [/v1/notes/..%5C..%5cadmin]", "encoded %"),
    "full-width-dots": ("primary: [/v1/notes/\uff0e\uff0e/admin]", "printable ASCII"),
    "non-ascii": ("primary: [/v1/notes/caf\u00e9]", "printable ASCII"),
    "alias-bomb": (
        "a: &a [x, x, x, x, x, x, x, x]\n"
        + "".join(
            f"{c}: &{c} [{', '.join(['*' + p] * 8)}]\n"
            for p, c in zip("abcde", "bcdef", strict=True)
        )
        + "primary: [*f]\n",
        "alias",
    ),
    "not-a-map": ("- /v1/notes/1", "must map identities"),
    "unknown-identity": ("tertiary: [/v1/notes/1]", "not usable at tertiary"),
    "unknown-operation": (
        "primary: [{operation: 'GET /v1/admin/{id}', params: {id: 1}}]",
        "not an",
    ),
    "missing-param": ("primary: [{operation: 'GET /v1/notes/{note_id}'}]", "needs the parameters"),
    "a-write": ("primary: [{operation: 'PUT /v1/notes/{note_id}', params: {note_id: a}}]", "GET"),
}


@pytest.mark.parametrize("content", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_hostile_objects_file_is_refused_before_anything_is_sent(
    tmp_path: Path, content: tuple[str, str]
) -> None:
    text, says = content
    with serving_objects("flawed") as (url, app):
        with pytest.raises(ObjectsFileError, match=says):
            run_api_check(_spec_file(tmp_path), LOOPBACK, url, TOKENS, QUICK, objects=text)
        assert app.state.seen == []


def test_objects_of_an_identity_not_given_are_refused(tmp_path: Path) -> None:
    with serving_objects("flawed") as (url, app):
        with pytest.raises(ObjectsFileError, match="only 1 identity was given"):
            run_api_check(_spec_file(tmp_path), LOOPBACK, url, TOKENS[:1], QUICK, objects=OBJECTS)
        assert app.state.seen == []


def _by_operation(note_id: str) -> str:
    return (
        f"primary: [{{operation: 'GET /v1/notes/{{note_id}}', params: {{note_id: '{note_id}'}}}}]"
    )


def test_an_id_cannot_add_a_segment_or_a_query_or_step_out() -> None:
    [named] = named_objects(parse_objects(_by_operation("x/y?z=1#w")), build_spec(), 1)
    assert named.path == "/v1/notes/x%2Fy%3Fz%3D1%23w"
    # A server that decodes %2F would read ../admin as a step out of the folder.
    with pytest.raises(ObjectsFileError, match="steps out"):
        named_objects(parse_objects(_by_operation("../admin")), build_spec(), 1)
    [plain] = named_objects(parse_objects("primary: [/v1/notes/n-1]"), build_spec(), 1)
    assert (plain.template, plain.params) == ("/v1/notes/{note_id}", {"note_id": "n-1"})


def test_a_target_that_never_answers_a_read_costs_the_deadline_and_no_more() -> None:
    settings = LiveSettings(budget_seconds=8, request_timeout=5)  # the matrix gets 2 s
    with serving_objects("hanging") as (url, _):
        started = time.monotonic()
        findings, matrix = run_matrix(build_spec(), url, TOKENS, BOTH, LOOPBACK, settings)
        took = time.monotonic() - started
    assert took < 4, f"the matrix took {took:.1f}s"
    assert findings == []
    assert not any(o.usable for o in matrix.objects)
    assert any("deadline" in note for note in matrix.notes)


def test_one_identity_is_replayed_anonymously_only_and_says_why_not_across() -> None:
    one = BOTH[:1]
    with serving_objects("flawed") as (url, _):
        findings, matrix = run_matrix(build_spec(), url, TOKENS[:1], one, LOOPBACK, QUICK)
    assert _codes(findings) == {"API-AUTHZ-002"}
    assert {c.requester for c in matrix.cells} == {"anonymous"}
    assert cross_identity_untested(one, matrix) == BolaNotTested.ONE_IDENTITY.value


def test_no_object_to_replay_is_said_in_one_place() -> None:
    with serving_objects("flawed") as (url, _):
        spec = build_spec()
        del spec["paths"]["/v1/notes"]  # no list: nothing to discover, and no file
        findings, matrix = run_matrix(spec, url, TOKENS, BOTH, LOOPBACK, QUICK)
    assert (findings, matrix.cells) == ([], ())
    assert cross_identity_untested(BOTH, matrix) == NO_OBJECTS


def test_an_operation_that_answers_every_id_alike_proves_nothing() -> None:
    with serving_objects("catchall") as (url, _):
        findings, matrix = run_matrix(build_spec(), url, TOKENS, BOTH, LOOPBACK, QUICK)
    assert findings == []
    assert matrix.objects
    assert all("made-up id" in (o.not_usable or "") for o in matrix.objects)


def test_objects_both_identities_list_are_shared_not_owned() -> None:
    with serving_objects("shared") as (url, _):
        findings, matrix = run_matrix(build_spec(), url, TOKENS, BOTH, LOOPBACK, QUICK)
    assert (findings, matrix.objects) == ([], ())
    assert any("shared, not owned" in note for note in matrix.notes)


def test_the_cli_replays_the_files_objects_and_writes_when_asked(
    tmp_path: Path, sqlite_env: dict[str, str]
) -> None:
    env = {**sqlite_env, "ASSURE_EGRESS_ALLOW": "127.0.0.0/8"}
    objects = tmp_path / "objects.yaml"
    objects.write_text(OBJECTS)
    hostile = tmp_path / "hostile.yaml"
    hostile.write_text("primary: [https://evil.example/v1/notes/1]")
    spec = _spec_file(tmp_path)
    with serving_objects("flawed") as (url, app):
        common = ["check", "api", "--spec", spec, "--base-url", url, "--auth", TOKENS[0]]
        common += ["--auth2", TOKENS[1], "--examples", "3", "--budget", "20"]
        refused = assure(*common, "--objects", str(hostile), env=env)
        assert app.state.seen == []
        result = assure(*common, "--objects", str(objects), "--matrix-writes", "--json", env=env)
    assert refused.returncode == 2
    assert "full URL" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert set(report["details"]["gate_failed"]) >= AUTHZ
    matrix = report["details"]["live"]["authz_matrix"]
    sources = {(o["path"], o["source"]) for o in matrix["objects"]}
    assert (f"/v1/notes/{ALICE_NOTES[0]}", "file") in sources


def test_discovery_lists_with_the_operations_the_preflight_tries() -> None:
    spec = build_spec()
    # A GET that needs a body, and one that needs a query, are not a list to call as is.
    spec["paths"]["/v1/drafts"] = {"get": {"requestBody": {"content": {}}, "responses": {}}}
    spec["paths"]["/v1/drafts/{note_id}"] = {"get": {"responses": {}}}
    query = {"name": "q", "in": "query", "required": True, "schema": {"type": "string"}}
    spec["paths"]["/v1/found"] = {"get": {"parameters": [query], "responses": {}}}
    spec["paths"]["/v1/found/{note_id}"] = {"get": {"responses": {}}}
    lists = {c.list_path for c in collections(OpenApiView(spec))}
    assert lists == {"/v1/notes"}
    assert lists <= set(probe_operations(spec)) == {"/v1/me", "/v1/notes"}


def test_the_objects_file_names_the_identities_the_check_names() -> None:
    assert tuple(ObjectsFile.model_fields) == IDENTITY_NAMES
