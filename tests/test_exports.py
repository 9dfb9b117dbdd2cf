"""XLSX exports read back as the same table."""

from __future__ import annotations

import io

import pandas as pd

from posture.exports import to_xlsx


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
