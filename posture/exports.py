"""Table exports shared by every page and service that offers a download.

Supplier-chosen text (product names, entry titles) reaches buyers' spreadsheets, where a cell
that starts with = + - @ or a tab or carriage return is read as a formula (OWASP's "CSV
injection"): `=HYPERLINK(...)` becomes a live link in a buyer's Excel. CSV cells are therefore
neutralised with a leading apostrophe, and XLSX cells are written as strings, never formulas.
Every export goes through this module.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd
from openpyxl import Workbook

from kernel.spreadsheets import FORMULA_STARTS


def neutralise(value: Any) -> Any:
    """Text that a spreadsheet would run is prefixed with ' so it is shown, not evaluated. Text
    that already looks neutralised gets one more, so a reader that takes one off
    (kernel.spreadsheets) reads back exactly what was written."""
    if isinstance(value, str) and value.lstrip("'").startswith(FORMULA_STARTS):
        return "'" + value
    return value


def rows_to_csv(rows: Iterable[Mapping[str, Any]], fields: Sequence[str]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(fields), extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({name: neutralise(row.get(name)) for name in fields})
    return buffer.getvalue()


def to_csv(frame: pd.DataFrame) -> str:
    """A missing value (None, NaN, NaT) is an empty cell, as in `to_xlsx`, never the text "nan"."""
    records = [
        {key: None if _missing(value) else value for key, value in record.items()}
        for record in frame.to_dict("records")
    ]
    return rows_to_csv(records, [str(c) for c in frame.columns])


def to_xlsx(frame: pd.DataFrame, sheet: str) -> bytes:
    workbook = Workbook()
    worksheet = workbook.active
    assert worksheet is not None
    worksheet.title = sheet
    worksheet.append([str(c) for c in frame.columns])
    for record in frame.itertuples(index=False):
        worksheet.append([None if _missing(v) else _escaped(_plain(v)) for v in record])
    for row in worksheet.iter_rows(min_row=2):
        for cell in row:
            if cell.data_type == "f":
                # openpyxl takes any string starting with "=" as a formula; store it as text.
                cell.data_type = "s"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _escaped(value: Any) -> Any:
    """A text cell is stored as text, never run, so only text that already looks neutralised
    (apostrophes before a formula start) gets one apostrophe more: a reader that undoes the
    neutralising one (kernel.spreadsheets) then reads back exactly what was written."""
    if (
        isinstance(value, str)
        and value.startswith("'")
        and value.lstrip("'").startswith(FORMULA_STARTS)
    ):
        return "'" + value
    return value


def _missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _plain(value: Any) -> Any:
    """numpy scalars as Python values, which is what openpyxl writes."""
    return value.item() if hasattr(value, "item") else value
