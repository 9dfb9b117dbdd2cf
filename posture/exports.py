"""Table exports shared by every page that offers a download."""

from __future__ import annotations

import io

import pandas as pd


def to_xlsx(frame: pd.DataFrame, sheet: str) -> bytes:
    buffer = io.BytesIO()
    frame.to_excel(buffer, index=False, sheet_name=sheet)
    return buffer.getvalue()
