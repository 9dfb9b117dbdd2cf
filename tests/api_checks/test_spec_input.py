"""Bad descriptions get a clear reason and no result; remote references obey the egress policy."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from checks.api import spec as spec_module
from checks.api.check import run_api_check
from checks.api.spec import SpecError, load_spec
from checks.egress import EgressPolicy, EgressRefused
from checks.report import ReportStatus
from tests.peers.apis import build_spec

LOOPBACK = EgressPolicy.loopback_only()


def _write(tmp_path: Path, text: str, name: str = "spec.yaml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_swagger_2_is_named_as_unsupported(tmp_path: Path) -> None:
    source = _write(tmp_path, '{"swagger": "2.0", "info": {}, "paths": {}}', "s.json")
    with pytest.raises(SpecError, match=r"Swagger 2\.0 is not supported; convert it"):
        load_spec(source, EgressPolicy())


def test_an_invalid_description_is_not_assessable_with_the_validator_errors(tmp_path) -> None:
    source = _write(
        tmp_path, json.dumps({"openapi": "3.0.3", "info": {"title": "x"}, "paths": {}}), "s.json"
    )
    report = run_api_check(source, EgressPolicy())
    assert report.status is ReportStatus.NOT_ASSESSABLE
    assert report.findings[0].code == "API-000"
    assert any("version" in error for error in report.findings[0].evidence["errors"])


def test_a_yaml_alias_bomb_is_refused(tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 12)]
    with pytest.raises(SpecError, match="alias bomb"):
        load_spec(_write(tmp_path, "\n".join(lines)), EgressPolicy())


def test_deep_nesting_is_refused(tmp_path: Path) -> None:
    deep = "openapi: 3.0.3\nx: " + "[" * 500 + "]" * 500 + "\n"
    with pytest.raises(SpecError, match="nested deeper"):
        load_spec(_write(tmp_path, deep), EgressPolicy())


def test_an_oversized_description_is_refused(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(spec_module, "MAX_SPEC_BYTES", 100)
    with pytest.raises(SpecError, match="larger than 100 bytes"):
        load_spec(_write(tmp_path, json.dumps(build_spec(False)), "s.json"), EgressPolicy())


def test_a_missing_file_and_bad_syntax_say_so(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="cannot read"):
        load_spec(str(tmp_path / "absent.yaml"), EgressPolicy())
    with pytest.raises(SpecError, match="not valid JSON"):
        load_spec(_write(tmp_path, "{ nope", "s.json"), EgressPolicy())


class _SchemaHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps(
            {
                "components": {
                    "schemas": {
                        "Remote": {
                            "type": "object",
                            "additionalProperties": False,
                            "properties": {"x": {"type": "string", "maxLength": 5}},
                        }
                    }
                }
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def schema_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SchemaHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/common.json"
    server.shutdown()


def _with_remote_ref(url: str) -> dict:
    spec = build_spec(False)
    spec["components"]["schemas"]["NoteIn"]["properties"]["extra"] = {
        "$ref": f"{url}#/components/schemas/Remote"
    }
    return spec


def test_remote_refs_are_fetched_only_through_the_egress_policy(tmp_path, schema_server) -> None:
    source = _write(tmp_path, json.dumps(_with_remote_ref(schema_server)), "s.json")
    loaded = load_spec(source, LOOPBACK)
    assert loaded.valid
    assert schema_server in loaded.remote
    refused = load_spec(source, EgressPolicy())
    assert not refused.valid
    assert "refused by the egress policy" in " ".join(refused.validity_errors) or isinstance(
        refused, EgressRefused
    )


def test_a_spec_url_is_refused_by_the_egress_policy() -> None:
    with pytest.raises(EgressRefused):
        load_spec("http://127.0.0.1:9/openapi.json", EgressPolicy())
