from __future__ import annotations

from pathlib import Path

import pytest

from posture.blobs import BlobStore
from posture.check_requests import CheckRequest, file_fields
from tests.peers.certificates import make_certificate


@pytest.fixture
def cert_bytes(tmp_path: Path) -> bytes:
    cert, _ = make_certificate(tmp_path, "mldsa65")
    return cert.read_bytes()


@pytest.fixture
def cert_request(cert_bytes: bytes) -> CheckRequest:
    return CheckRequest(kind="cert", **file_fields("leaf.pem", cert_bytes))


@pytest.fixture
def files(world_db, cert_bytes: bytes) -> BlobStore:  # type: ignore[no-untyped-def]
    """The world's file store, holding the certificate, for jobs created without submit_check."""
    store = BlobStore.for_settings(world_db[2])
    store.put(cert_bytes)
    return store
