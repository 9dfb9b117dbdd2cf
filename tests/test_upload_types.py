"""Evidence uploads are typed by content; hostile JSON is typed as text, never a crashed request."""

from __future__ import annotations

import json

import pytest

from kernel.errors import ValidationFailed
from supplier_portal.uploads import check_upload, safe_filename


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


@pytest.mark.parametrize(
    ("name", "kept"),
    [
        pytest.param("invoice\u202efdp.exe", "invoicefdp.exe", id="right-to-left-override"),
        pytest.param("report\u202a.pdf\u202c", "report.pdf", id="left-to-right-embedding"),
        pytest.param("\u2066scan\u2069.json", "scan.json", id="isolates"),
        pytest.param("a\u200eb\u200fc\u061c.txt", "abc.txt", id="marks"),
        pytest.param("zero\u200bwidth\ufeff.txt", "zerowidth.txt", id="other-format-characters"),
        pytest.param("tab\tnew\nline\x7f\x1b.txt", "tabnewline.txt", id="control-characters"),
        pytest.param("evil\u202e/..\\cod.exe", "cod.exe", id="path-after-override"),
        pytest.param("Évidence – été.pdf", "Évidence – été.pdf", id="ordinary-unicode-kept"),
    ],
)
def test_hidden_and_control_characters_are_stripped_from_file_names(name: str, kept: str) -> None:
    assert safe_filename(name) == kept


@pytest.mark.parametrize("name", ["\u202e", "\u2066\u2069\u200e", " \x00 ", "\u202e..", "\u200f."])
def test_a_name_of_nothing_but_hidden_characters_is_refused(name: str) -> None:
    with pytest.raises(ValidationFailed, match="filename: give the file a name"):
        safe_filename(name)
