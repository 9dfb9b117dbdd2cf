"""The prepared API world (tests/partner_api/world.py), and reading /metrics as Prometheus would."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.partner_api.world import ApiWorld, prepare


@pytest.fixture(scope="session")
def api_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ApiWorld]:
    folder = tmp_path_factory.mktemp("observability-template")
    return folder, prepare(folder)


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """Status, headers (names in lower case) and body of a GET."""
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 (loopback http)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, _lower(response.headers.items()), response.read()
    except urllib.error.HTTPError as error:
        return error.code, _lower(error.headers.items()), error.read()


def _lower(headers: list[tuple[str, str]]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers}


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a scrape by (name, labels); parsing fails on a malformed exposition."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def scrape(base_url: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    status, _, body = get(f"{base_url}/metrics")
    assert status == 200, body[:300]
    return samples(body.decode())


def value(scraped: dict, name: str, **labels: str) -> float | None:  # type: ignore[type-arg]
    return scraped.get((name, frozenset(labels.items())))


def series(scraped: dict, name: str) -> list[dict[str, str]]:  # type: ignore[type-arg]
    return [dict(labels) for (n, labels) in scraped if n == name]
