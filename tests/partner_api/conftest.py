"""The partner API in process (FastAPI's TestClient) on a prepared multi-tenant world."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from kernel.settings import load_settings
from partner_api.app import create_app
from tests.partner_api.world import ApiWorld, prepare


@pytest.fixture(scope="session")
def api_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ApiWorld]:
    folder = tmp_path_factory.mktemp("api-template")
    return folder, prepare(folder)


def client_for(folder: Path, **settings: str) -> TestClient:
    environ = {"ASSURE_DATA_DIR": str(folder), "ASSURE_API_RATE_LIMIT": "100000/minute"}
    environ |= {f"ASSURE_{k.upper()}": v for k, v in settings.items()}
    return TestClient(create_app(load_settings(environ)), base_url="http://127.0.0.1")


@pytest.fixture
def api(
    api_template: tuple[Path, ApiWorld], tmp_path: Path
) -> Iterator[tuple[TestClient, ApiWorld]]:
    """A fresh copy of the prepared world for each test: writes never leak between tests."""
    template, prepared = api_template
    folder = tmp_path / "data"
    shutil.copytree(template, folder)
    with client_for(folder) as client:
        yield client, prepared


def bearer(prepared: ApiWorld, who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {prepared.tokens[who]}"}
