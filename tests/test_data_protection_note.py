"""The data-protection note lists exactly the free text that erasure works through."""

from __future__ import annotations

import re
from pathlib import Path

from posture.personal_data import FREE_TEXT

NOTE = Path(__file__).resolve().parents[1] / "docs" / "data-protection.md"


def _searched_columns() -> dict[str, str]:
    section = NOTE.read_text(encoding="utf-8").split("### Free text and documents searched")[1]
    section = section.split("\n## ")[0]
    return dict(re.findall(r"^\| `([a-z_]+\.[a-z_]+)` \| (.+?) \|$", section, re.MULTILINE))


def test_the_note_lists_every_column_erasure_searches_and_no_other() -> None:
    listed = _searched_columns()
    assert set(listed) == {field.name for field in FREE_TEXT}


def test_the_note_says_what_each_column_holds_as_the_code_does() -> None:
    listed = _searched_columns()
    for field in FREE_TEXT:
        assert listed[field.name].startswith(field.what.split(" (")[0]), field.name
