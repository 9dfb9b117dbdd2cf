"""Evidence uploads are typed by content; hostile JSON is typed as text, never a crashed request."""

from __future__ import annotations

import json

import pytest

from supplier_portal.uploads import check_upload


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"[" * 100_000 + b"]" * 100_000, id="100k-nested-arrays"),
        pytest.param(b'{"a":' * 5_000 + b"1" + b"}" * 5_000, id="5k-nested-objects"),
        pytest.param(b'{"n": ' + b"7" * 100_000 + b"}", id="100k-digit-number"),
    ],
)
def test_json_the_bounded_parser_refuses_is_stored_as_text(data: bytes) -> None:
    assert check_upload("evidence.json", data) == ("evidence.json", "text/plain")


def test_ordinary_json_evidence_is_still_typed_as_json() -> None:
    data = json.dumps({"scan": {"findings": [{"id": 1, "score": 7.5}]}}).encode()
    assert check_upload("scan.json", data) == ("scan.json", "application/json")
