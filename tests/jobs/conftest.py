from __future__ import annotations

import base64
from pathlib import Path

import pytest

from posture.jobs.checks import CheckRequest
from tests.peers.certificates import make_certificate


@pytest.fixture
def cert_request(tmp_path: Path) -> CheckRequest:
    cert, _ = make_certificate(tmp_path, "mldsa65")
    return CheckRequest(
        kind="cert", file_name="leaf.pem", file_base64=base64.b64encode(cert.read_bytes()).decode()
    )
