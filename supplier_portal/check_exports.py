"""A recorded check run in the forms people take away: the JSON report, SARIF for code scanning
and JUnit for CI gates (for a run of any kind), a CycloneDX CBOM of the cryptography it saw (for
kinds that see some), and a signed attestation bundle that anyone can verify offline with
`assure attest verify`."""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass

from pydantic import ValidationError

from checks.cbom_export import build_cbom, has_cbom
from checks.outputs import to_junit, to_sarif
from checks.report import CheckReport
from kernel.errors import ValidationFailed
from kernel.settings import Settings
from posture.platform_keys import platform_keys
from posture.storage.models import CheckRun
from pq_crypto.attestation import AttestationKeys, sign_bytes

VERIFY_NOTE = """\
Each file here has a detached hybrid signature (Ed25519 + ML-DSA-65) beside it as <file>.sig.json.
Verify a file offline, requiring the platform's published key fingerprint:

    assure attest verify {name} {name}.sig.json --fingerprint {fingerprint}
"""


@dataclass(frozen=True)
class RunFile:
    label: str
    name: str
    mime: str
    data: bytes


def run_files(run: CheckRun) -> list[RunFile]:
    """The run's report in every export format that applies to its kind of check."""
    try:
        report = CheckReport.model_validate(run.result)
        # The exports read the details through the kind's typed result; check it reads first.
        report.result()
    except ValidationError:
        raise ValidationFailed(
            f"check run {run.id}: its stored report is incomplete, so it cannot be exported"
        ) from None
    stem = f"check-run-{run.id}"
    files = [
        RunFile(
            "JSON",
            f"{stem}.json",
            "application/json",
            json.dumps(run.result, indent=2, default=str).encode(),
        ),
        RunFile(
            "SARIF",
            f"{stem}.sarif",
            "application/sarif+json",
            json.dumps(to_sarif(report), indent=2).encode(),
        ),
        RunFile("JUnit XML", f"{stem}.junit.xml", "application/xml", to_junit(report).encode()),
    ]
    if has_cbom(report.kind):
        cbom = build_cbom([report], run.target)
        files.append(
            RunFile(
                "CBOM",
                f"{stem}.cdx.json",
                "application/vnd.cyclonedx+json",
                json.dumps(cbom).encode(),
            )
        )
    return files


def signing_keys(settings: Settings) -> AttestationKeys:
    """The platform's attestation keys, created in the data directory on first use."""
    return platform_keys(settings)


def attestation_bundle(files: list[RunFile], keys: AttestationKeys) -> bytes:
    """A ZIP of the files, each with its signature, and a note saying how to verify them."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for item in files:
            archive.writestr(item.name, item.data)
            bundle = sign_bytes(item.data, item.name, keys)
            archive.writestr(f"{item.name}.sig.json", json.dumps(bundle, indent=2) + "\n")
        archive.writestr(
            "VERIFY.txt",
            VERIFY_NOTE.format(name=files[0].name, fingerprint=keys.fingerprint),
        )
    return buffer.getvalue()


def run_downloads(run: CheckRun, keys: AttestationKeys) -> list[RunFile]:
    """Everything a person can take away for the run: each export, then all of them signed in
    one attestation bundle. Made once, so every copy of a file handed out is the same bytes."""
    files = run_files(run)
    bundle = RunFile(
        "signed attestation bundle (ZIP)",
        f"check-run-{run.id}-attested.zip",
        "application/zip",
        attestation_bundle(files, keys),
    )
    return [*files, bundle]
