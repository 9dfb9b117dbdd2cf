"""A recorded run's exports: every format parses, the CBOM is valid CycloneDX 1.6, and the
attestation bundle verifies offline while a tampered file does not."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from checks.catalogue import CheckKind
from checks.cbom import run_cbom_check
from checks.certificate_file import run_certificate_check
from checks.report import CheckReport
from kernel.errors import ValidationFailed
from posture.storage.models import CheckRun
from pq_crypto.attestation import load_or_create_keys, verify_bytes
from supplier_portal.check_exports import attestation_bundle, run_files
from tests.checks import sample_reports
from tests.checks.report_formats import assert_valid_sarif, junit_suite
from tests.peers.certificates import make_certificate

CBOMS = Path(__file__).resolve().parent / "data" / "cbom"


def _run(report) -> CheckRun:  # type: ignore[no-untyped-def]
    return CheckRun(
        id=7, kind=report.kind, target=report.target, result=report.model_dump(mode="json")
    )


def test_a_certificate_run_exports_in_every_format_and_its_cbom_is_valid(tmp_path: Path) -> None:
    cert, _ = make_certificate(tmp_path, "mldsa65")
    files = {f.label: f for f in run_files(_run(run_certificate_check(cert.read_bytes(), "c")))}
    assert list(files) == ["JSON", "SARIF", "JUnit XML", "CBOM"]
    assert json.loads(files["JSON"].data)["kind"] == "cert"
    assert json.loads(files["SARIF"].data)["version"] == "2.1.0"
    assert ET.fromstring(files["JUnit XML"].data).tag == "testsuite"
    cbom = files["CBOM"].data.decode()
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(cbom) is None
    assert "ML-DSA-65" in {c["name"] for c in json.loads(cbom)["components"]}
    assert files["CBOM"].name == "check-run-7.cdx.json"


def test_an_uploaded_cbom_run_is_not_rebuilt_as_a_cbom() -> None:
    raw = next(CBOMS.glob("*.json")).read_bytes()
    labels = [f.label for f in run_files(_run(run_cbom_check(raw, "cbom.json")))]
    assert labels == ["JSON", "SARIF", "JUnit XML"]


def test_a_run_without_a_complete_report_is_refused() -> None:
    with pytest.raises(ValidationFailed, match="incomplete"):
        run_files(CheckRun(id=3, kind="tls", target="x:443", result={}))


def test_a_run_whose_details_contradict_its_kind_is_refused(tmp_path: Path) -> None:
    stored = sample_reports.tls(tmp_path).model_dump(mode="json")
    stored["details"]["groups"] = [{"name": "X25519"}]
    with pytest.raises(ValidationFailed, match="incomplete"):
        run_files(CheckRun(id=4, kind="tls", target="x:443", result=stored))


@pytest.fixture(scope="module")
def every_kind(tmp_path_factory: pytest.TempPathFactory) -> dict[str, CheckReport]:
    return sample_reports.every_kind(tmp_path_factory.mktemp("reports"))


@pytest.mark.parametrize("kind", [kind.value for kind in CheckKind])
def test_a_run_of_every_kind_exports_as_sarif_and_junit(
    kind: str, every_kind: dict[str, CheckReport]
) -> None:
    report = every_kind[kind]
    files = {f.label: f for f in run_files(_run(report))}
    results = assert_valid_sarif(json.loads(files["SARIF"].data))
    assert [r["ruleId"] for r in results] == [f.code for f in report.findings]
    suite = junit_suite(files["JUnit XML"].data.decode())
    has_gates = suite.find("testcase[@name='hard gates']") is not None
    assert has_gates == (kind == "api")


def test_the_attestation_bundle_verifies_offline_and_catches_tampering(tmp_path: Path) -> None:
    cert, _ = make_certificate(tmp_path, "ecdsa")
    files = run_files(_run(run_certificate_check(cert.read_bytes(), "c")))
    keys = load_or_create_keys(tmp_path / "keys")
    archive = zipfile.ZipFile(io.BytesIO(attestation_bundle(files, keys)))
    names = set(archive.namelist())
    assert names == {f.name for f in files} | {f"{f.name}.sig.json" for f in files} | {"VERIFY.txt"}
    for item in files:
        bundle = json.loads(archive.read(f"{item.name}.sig.json"))
        result = verify_bytes(archive.read(item.name), bundle)
        assert result.valid, result.reason
        assert result.key_fingerprint == keys.fingerprint
        assert not verify_bytes(archive.read(item.name) + b" ", bundle).valid
    assert keys.fingerprint in archive.read("VERIFY.txt").decode()
