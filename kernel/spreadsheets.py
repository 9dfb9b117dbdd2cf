"""Bounded reading of uploaded spreadsheets (CSV or XLSX) into text cells under named columns.

Every upload of tabular data comes through here, and every upload is untrusted. An XLSX file is a
zip of XML: a few hundred kilobytes can deflate to gigabytes, a <dimension> element can claim a
million rows of sixteen thousand columns, and the XML can declare entity expansions. A CSV can be
in any encoding, or be one enormous cell. Each limit is checked before the work it bounds is done,
and every refusal is one SheetRefused whose message says what is wrong and what to do about it.

Cells come back as trimmed text: this module knows nothing of what the columns mean. It reads back
what posture.exports writes, including undoing the apostrophe that neutralises formula-like text.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Generator, Iterable, Sequence
from contextlib import closing
from dataclasses import dataclass
from typing import Any

# What a spreadsheet reads as a formula at the start of a cell: posture.exports neutralises
# these on the way out (an apostrophe before them), and read_sheet undoes exactly that.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
# Deflate is the only compression the Office Open XML packaging allows. zipfile also inflates
# bzip2 and LZMA, but decompresses those a whole read at a time without an output cap, so a few
# bytes of bzip2 could become gigabytes in memory before any count sees them.
_ZIP_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
_CHUNK = 64 * 1024
# Cells past this column are not read at all: openpyxl pads a row to its last cell, so one cell
# at column ZZZ would make every row 18,278 values long. Values between max_columns and here are
# refused as values without a header; past it nothing could have a header to be imported under.
_READ_COLUMNS = 1024
_WORKSHEETS = "xl/worksheets/"
# A formula cell that closes without a cached value: openpyxl's data-only reading gives it as
# empty, which an import would take as a cleared field. Written by programs, never by a
# spreadsheet that saved the file. Element names may carry a namespace prefix.
_FORMULA_WITHOUT_VALUE = re.compile(
    rb"(?:</(?:\w+:)?f>|<(?:\w+:)?f\b[^>]*/>)\s*"  # a formula, closed
    rb"(?:<(?:\w+:)?v\s*/>|<(?:\w+:)?v>\s*</(?:\w+:)?v>)?\s*"  # no value, or an empty one
    rb"</(?:\w+:)?c>"
)
_SAVE_AS = "save it from Excel as .xlsx or as CSV UTF-8 and upload that"


@dataclass(frozen=True)
class SheetLimits:
    max_bytes: int = 5 * 1024 * 1024  # the upload itself
    max_rows: int = 10_000  # data rows, header excluded
    max_columns: int = 64
    max_cell_chars: int = 4_000
    max_unpacked_bytes: int = 64 * 1024 * 1024  # XLSX: all members, counted while decompressing
    max_members: int = 500  # XLSX zip members
    # XLSX: each member that is not a worksheet (shared strings, styles), which openpyxl loads
    # whole into Python objects, several times their size.
    max_part_bytes: int = 8 * 1024 * 1024


class SheetRefused(ValueError):
    """The upload cannot be read as a table; the message tells the person who uploaded it why."""


@dataclass(frozen=True)
class SheetRow:
    number: int  # as the person sees it in their spreadsheet: header row 1, first data row 2
    cells: dict[str, str]  # header -> trimmed text; "" for an empty cell


@dataclass(frozen=True)
class Sheet:
    columns: tuple[str, ...]
    rows: tuple[SheetRow, ...]


def read_sheet(data: bytes, *, limits: SheetLimits = SheetLimits()) -> Sheet:
    """The first sheet of an XLSX workbook, or a CSV file, as text under its header row.

    The format is decided by the content, never the file name. Raises SheetRefused and nothing else
    for anything it will not read.
    """
    if len(data) > limits.max_bytes:
        raise SheetRefused(
            f"The file is {len(data):,} bytes, larger than the {limits.max_bytes:,} allowed; "
            "split it into smaller files."
        )
    if not data.strip():
        raise SheetRefused("The file is empty; upload a spreadsheet with a header row and data.")
    if data.startswith(_OLE_MAGIC):
        raise SheetRefused(
            f"The file is an old-style Excel workbook (.xls), which is not accepted; {_SAVE_AS}."
        )
    if data.startswith(_ZIP_MAGIC):
        records: Generator[tuple[int, Sequence[Any]], None, None] = _xlsx_records(data, limits)
    else:
        records = _csv_records(data, limits)
    with closing(records):  # a refusal mid-sheet closes the workbook now, not at collection
        return _tabulate(records, limits)


# --- Table: header, row checks, cell text -----------------------------------------------------


def _tabulate(records: Iterable[tuple[int, Sequence[Any]]], limits: SheetLimits) -> Sheet:
    header: list[str] | None = None
    rows: list[SheetRow] = []
    for number, raw in records:
        # Empty cells after the last value are nothing; converting them is work for nothing.
        last = len(raw)
        while last and (raw[last - 1] is None or raw[last - 1] == ""):
            last -= 1
        cells = [_cell_text(value, number, limits) for value in raw[:last]]
        if not any(cells):
            continue
        if header is None:
            header = _header(cells, number, limits)
            continue
        if len(rows) >= limits.max_rows:
            raise SheetRefused(
                f"The sheet has more than {limits.max_rows:,} rows of data; split the file."
            )
        rows.append(SheetRow(number, _row_cells(header, cells, number)))
    if header is None:
        raise SheetRefused("The sheet is empty; it needs a header row naming its columns.")
    return Sheet(tuple(name for name in header if name), tuple(rows))


def _header(cells: list[str], number: int, limits: SheetLimits) -> list[str]:
    while cells and not cells[-1]:
        cells.pop()
    if len(cells) > limits.max_columns:
        raise SheetRefused(
            f"The header (row {number}) has {len(cells)} columns, more than the "
            f"{limits.max_columns} allowed; remove the columns that are not needed."
        )
    seen: dict[str, str] = {}
    for name in cells:
        if not name:
            continue
        key = name.casefold()
        if key in seen:
            raise SheetRefused(
                f'The column "{name}" appears twice in the header (row {number}, also as '
                f'"{seen[key]}"); give every column a different name.'
            )
        seen[key] = name
    return cells


def _row_cells(header: list[str], cells: list[str], number: int) -> dict[str, str]:
    if len(cells) > len(header) and any(cells[len(header) :]):
        raise SheetRefused(
            f"Row {number} has values in {len(cells)} columns but the header names only "
            f"{len(header)}; add a header for the extra values or remove them."
        )
    values: dict[str, str] = {}
    for position, name in enumerate(header):
        value = cells[position] if position < len(cells) else ""
        if not name:
            if value:
                raise SheetRefused(
                    f"Row {number} has a value in column {position + 1}, which has no header; "
                    "name that column in the header row."
                )
            continue
        values[name] = value
    return values


def _cell_text(value: Any, number: int, limits: SheetLimits) -> str:
    text = _as_text(value).strip()
    # posture.exports prefixes formula-like text (apostrophes, then a formula start) with one
    # more apostrophe; undo exactly that, nothing else, so "=Acme" exported as "'=Acme" and
    # "'=Acme" exported as "''=Acme" read back as written, and "O'Neil" is untouched.
    if text.startswith("'") and text.lstrip("'").startswith(FORMULA_STARTS):
        text = text[1:].strip()
    if len(text) > limits.max_cell_chars:
        raise SheetRefused(
            f"Row {number} has a cell of {len(text):,} characters, more than the "
            f"{limits.max_cell_chars:,} allowed; shorten it."
        )
    return text


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


# --- CSV --------------------------------------------------------------------------------------


def _csv_records(
    data: bytes, limits: SheetLimits
) -> Generator[tuple[int, Sequence[Any]], None, None]:
    if data.startswith(_UTF16_BOMS) or b"\x00" in data:
        raise SheetRefused(
            "The file holds NUL bytes, so it is binary or saved as Unicode (UTF-16) text; "
            f"{_SAVE_AS}."
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SheetRefused(
            f"The file is not UTF-8 text (byte {exc.start + 1:,} cannot be read); in Excel "
            'use Save As and choose "CSV UTF-8 (Comma delimited)", then upload that.'
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    number = 0
    try:
        # Numbered by record, not by reader.line_num: a quoted cell holding a line break is
        # still one row to the person looking at the spreadsheet.
        for number, record in enumerate(reader, start=1):
            yield number, record
    except csv.Error as exc:
        # The csv module's own cap (csv.field_size_limit, process-wide, left alone here) stops
        # a giant cell before our max_cell_chars check can see it.
        if "field larger than field limit" in str(exc):
            raise SheetRefused(
                f"Row {number + 1} has a cell longer than {limits.max_cell_chars:,} "
                "characters; shorten it."
            ) from None
        raise SheetRefused(f"Row {number + 1} cannot be read as CSV ({exc}); {_SAVE_AS}.") from None


def _delimiter(text: str) -> str:
    """Comma, unless the header line has no comma and no quote and only one of ; or tab.

    Excel writes semicolons where the decimal separator is a comma, and some tools write tabs; a
    header line is names only, so one of those separators and no comma is unambiguous enough.
    """
    header = next((line for line in io.StringIO(text) if line.strip()), "")
    if "," in header or '"' in header:
        return ","
    has_semicolon, has_tab = ";" in header, "\t" in header
    if has_semicolon != has_tab:
        return ";" if has_semicolon else "\t"
    return ","


# --- XLSX -------------------------------------------------------------------------------------


def _xlsx_records(
    data: bytes, limits: SheetLimits
) -> Generator[tuple[int, Sequence[Any]], None, None]:
    _check_archive(data, limits)
    # Imported here so a CSV upload never pays for openpyxl's import.
    import openpyxl

    # Excel's last row is 1,048,576; the cap below is far under it. Rows are counted by their
    # number, blank ones included, so a sheet claiming row 999,999,999 is refused at the cap rather
    # than walked; the allowance is one blank row for every data row allowed.
    last_row = 2 * (limits.max_rows + 1)
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:
        raise _unreadable() from exc
    try:
        if not workbook.worksheets:
            raise SheetRefused("The workbook has no worksheet; put the table on the first sheet.")
        sheet = workbook.worksheets[0]
        # A <dimension ref="A1:XFD1048576"> would otherwise make openpyxl pad every row to it.
        sheet.reset_dimensions()
        rows = sheet.iter_rows(max_row=last_row + 1, max_col=_READ_COLUMNS, values_only=True)
        for number, values in enumerate(rows, start=1):
            if number > last_row:
                raise SheetRefused(
                    f"The sheet reaches past row {last_row:,}; at most {limits.max_rows:,} rows "
                    "of data are read: delete the empty rows below the table or split the file."
                )
            yield number, values
    except SheetRefused:
        raise
    except Exception as exc:
        raise _unreadable() from exc
    finally:
        workbook.close()


def _check_archive(data: bytes, limits: SheetLimits) -> None:
    """Refuse a zip that is too big unpacked, before anything parses a byte of its XML.

    Declared sizes are checked first because they are cheap. CPython's zipfile stops each member
    at its declared size and then checks its CRC, so a lie shows up below as a corrupt member;
    the running count of real bytes is kept anyway, so the bound holds however members are read.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except Exception as exc:  # BadZipFile mostly; a damaged directory can raise others
        raise _unreadable() from exc
    with archive:
        members = archive.infolist()
        if len(members) > limits.max_members:
            raise SheetRefused(
                f"The workbook holds {len(members):,} parts, more than the "
                f"{limits.max_members:,} allowed; {_SAVE_AS}."
            )
        names = {member.filename for member in members}
        if "[Content_Types].xml" not in names or not any(n.startswith("xl/") for n in names):
            raise SheetRefused(
                "The file is a zip archive but not an Excel workbook (.xlsx); "
                "upload the spreadsheet as .xlsx or as CSV UTF-8."
            )
        declared = sum(member.file_size for member in members)
        if declared > limits.max_unpacked_bytes:
            raise _too_big_unpacked(limits)
        unpacked = 0
        for member in members:
            if member.flag_bits & 0x1:
                raise SheetRefused(
                    "The workbook is encrypted or password-protected; remove the password in "
                    "Excel (File > Info > Protect Workbook), save it, and upload it again."
                )
            if member.compress_type not in _ZIP_METHODS:
                raise _unreadable()
            sheet = member.filename.startswith(_WORKSHEETS)
            if not sheet and member.file_size > limits.max_part_bytes:
                raise _too_big_part(member.filename, limits)
            try:
                with archive.open(member) as stream:
                    part, tail = 0, b""
                    while chunk := stream.read(_CHUNK):
                        unpacked += len(chunk)
                        part += len(chunk)
                        if unpacked > limits.max_unpacked_bytes:
                            raise _too_big_unpacked(limits)
                        if not sheet and part > limits.max_part_bytes:
                            raise _too_big_part(member.filename, limits)
                        if sheet and _FORMULA_WITHOUT_VALUE.search(tail + chunk):
                            raise SheetRefused(
                                "The workbook has formulas with no saved result (a program wrote "
                                "it, not a spreadsheet); open it in Excel or LibreOffice and save "
                                "it, or paste the values, then upload it again."
                            )
                        # Enough of the end kept that a match across two chunks is found.
                        tail = chunk[-256:]
            except SheetRefused:
                raise
            except Exception as exc:  # a bad CRC, truncated data, an unsupported feature
                raise _unreadable() from exc


def _too_big_unpacked(limits: SheetLimits) -> SheetRefused:
    return SheetRefused(
        f"The workbook unpacks to more than {limits.max_unpacked_bytes:,} bytes, which is far "
        "more than a table of this size needs; save it as CSV UTF-8, or split it."
    )


def _too_big_part(name: str, limits: SheetLimits) -> SheetRefused:
    return SheetRefused(
        f"The workbook's {name} unpacks to more than {limits.max_part_bytes:,} bytes, far more "
        "than a table of this size needs; save it as CSV UTF-8, or split it."
    )


def _unreadable() -> SheetRefused:
    return SheetRefused(f"The file is not a readable XLSX workbook; {_SAVE_AS}.")
