"""Uploaded spreadsheets are untrusted: every limit in kernel.spreadsheets is attacked here.

Hostile workbooks are built in the test itself: a real workbook written with openpyxl whose zip
members are then rewritten (or whose central directory bytes are patched) to lie.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import struct
import time
import tracemalloc
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import defusedxml
import openpyxl
import pandas as pd
import pytest

from kernel.spreadsheets import Sheet, SheetLimits, SheetRefused, SheetRow, read_sheet
from posture.exports import to_csv, to_xlsx

SHEET_XML = "xl/worksheets/sheet1.xml"
MB = 1024 * 1024


# --- builders -----------------------------------------------------------------------------------


def workbook(rows: list[list[object]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def rewrite(
    xlsx: bytes,
    replace: dict[str, bytes] | None = None,
    add: dict[str, bytes] | None = None,
    add_type: int = zipfile.ZIP_DEFLATED,
) -> bytes:
    """The same workbook with some members' bytes replaced and others added."""
    replace, add = replace or {}, add or {}
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(xlsx)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            body = replace.get(info.filename, src.read(info))
            dst.writestr(info.filename, body, compress_type=zipfile.ZIP_DEFLATED)
        for name, body in add.items():
            dst.writestr(name, body, compress_type=add_type)
    return out.getvalue()


def sheet_xml(xlsx: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(xlsx)) as archive:
        return archive.read(SHEET_XML).decode()


def with_zeros_member(xlsx: bytes, name: str, size: int) -> bytes:
    """A workbook plus a member of `size` zero bytes, deflated and written a megabyte at a time."""
    out = io.BytesIO(rewrite(xlsx))
    with (
        zipfile.ZipFile(out, "a", compression=zipfile.ZIP_DEFLATED) as archive,
        archive.open(name, "w") as member,
    ):
        block = bytes(MB)
        for _ in range(size // MB):
            member.write(block)
    return out.getvalue()


def patch_central_directory(zipped: bytes, name: str, patch: Callable[[bytearray, int], None]):
    """Apply `patch(buffer, offset_of_entry)` to the central directory entry of `name`."""
    buffer = bytearray(zipped)
    offset = buffer.find(b"PK\x01\x02")
    while offset != -1:
        (name_length,) = struct.unpack_from("<H", buffer, offset + 28)
        if buffer[offset + 46 : offset + 46 + name_length].decode() == name:
            patch(buffer, offset)
            return bytes(buffer)
        offset = buffer.find(b"PK\x01\x02", offset + 4)
    raise AssertionError(f"{name} not in the central directory")


DEFAULTS = SheetLimits()


def refused(data: bytes, limits: SheetLimits = DEFAULTS) -> str:
    with pytest.raises(SheetRefused) as caught:
        read_sheet(data, limits=limits)
    return str(caught.value)


def texts(sheet: Sheet) -> list[tuple[int, dict[str, str]]]:
    return [(row.number, row.cells) for row in sheet.rows]


@pytest.fixture(scope="module")
def plain_xlsx() -> bytes:
    return workbook([["Name", "Count"], ["Acme", 3]])


@pytest.fixture(scope="module")
def zip_bomb(plain_xlsx: bytes) -> bytes:
    bomb = with_zeros_member(plain_xlsx, "xl/media/image1.bin", 200 * MB)
    assert len(bomb) < 1 * MB  # a small upload, far under max_bytes
    return bomb


@pytest.fixture
def openpyxl_opened(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Records each workbook handed to openpyxl: the zip checks must refuse before that."""
    opened: list[object] = []
    load = openpyxl.load_workbook

    def recording(source: object, *args: Any, **kwargs: Any) -> Any:
        opened.append(source)
        return load(source, *args, **kwargs)

    monkeypatch.setattr(openpyxl, "load_workbook", recording)
    return opened


# --- round trip with posture.exports ----------------------------------------------------------

AWKWARD = pd.DataFrame(
    {
        "Name": [
            "Acme, Ltd",
            'Say "hi"',
            "line one\nline two",
            None,
            '=HYPERLINK("http://evil.example","x")',
            "-5",
            "Zoë — 東京 🚓",
            "O'Neil",
        ],
        "Count": [12, None, 7, None, -3, None, 0, 1],
        "Seen": [dt.date(2026, 1, 31), None, None, None, None, None, None, None],
        "Note": ["", "+44 20", "@team", None, "'quoted'", None, "", "plain"],
    },
    dtype=object,
)
EXPECTED = [
    (2, {"Name": "Acme, Ltd", "Count": "12", "Seen": "2026-01-31", "Note": ""}),
    (3, {"Name": 'Say "hi"', "Count": "", "Seen": "", "Note": "+44 20"}),
    (4, {"Name": "line one\nline two", "Count": "7", "Seen": "", "Note": "@team"}),
    # row 5 is blank in both exports: skipped, and the rows after keep their numbers
    (
        6,
        {
            "Name": '=HYPERLINK("http://evil.example","x")',
            "Count": "-3",
            "Seen": "",
            "Note": "'quoted'",
        },
    ),
    (7, {"Name": "-5", "Count": "", "Seen": "", "Note": ""}),
    (8, {"Name": "Zoë — 東京 🚓", "Count": "0", "Seen": "", "Note": ""}),
    (9, {"Name": "O'Neil", "Count": "1", "Seen": "", "Note": "plain"}),
]


def test_a_csv_export_reads_back_as_it_was_written() -> None:
    exported = to_csv(AWKWARD)
    assert "'=HYPERLINK" in exported  # the export did neutralise
    assert "'-5" in exported
    sheet = read_sheet(exported.encode("utf-8"))
    assert sheet.columns == ("Name", "Count", "Seen", "Note")
    assert texts(sheet) == EXPECTED


def test_an_xlsx_export_reads_back_as_it_was_written() -> None:
    sheet = read_sheet(to_xlsx(AWKWARD, "Assets"))
    assert sheet.columns == ("Name", "Count", "Seen", "Note")
    assert texts(sheet) == EXPECTED


def test_only_the_neutralising_apostrophe_is_undone() -> None:
    data = b"A,B,C,D\n'=1+1,'hello,'\t x,''=y\n"
    [row] = read_sheet(data).rows
    # "''=y" is how posture.exports writes the text "'=y" (one apostrophe more).
    assert row.cells == {"A": "=1+1", "B": "'hello", "C": "x", "D": "'=y"}


# --- CSV ----------------------------------------------------------------------------------------


def test_csv_with_a_byte_order_mark_keeps_its_first_column_name() -> None:
    sheet = read_sheet(b"\xef\xbb\xbfName,Count\r\nAcme,3\r\n")
    assert sheet == Sheet(("Name", "Count"), (SheetRow(2, {"Name": "Acme", "Count": "3"}),))


def test_csv_in_a_windows_code_page_is_refused_with_advice() -> None:
    message = refused("Name\nCafé Noël\n".encode("cp1252"))
    assert "CSV UTF-8" in message


@pytest.mark.parametrize(
    "data",
    [b"Name\nAc\x00me\n", "Name\nAcme\n".encode("utf-16")],
    ids=["nul", "utf-16"],
)
def test_csv_holding_nul_bytes_is_refused(data: bytes) -> None:
    assert "CSV UTF-8" in refused(data)


def test_an_upload_over_the_size_limit_is_refused_before_it_is_read() -> None:
    data = b"Name\n" + b"a\n" * ((5 * MB + 1 - 5) // 2)
    data += b"b" * (5 * MB + 1 - len(data))
    assert len(data) == 5 * MB + 1
    assert "larger than the 5,242,880 allowed" in refused(data)


def test_an_upload_at_the_size_limit_is_read() -> None:
    line = b"x" * 1023 + b"\n"
    data = b"Name\n" + line * (5 * MB // len(line) - 1)
    data += b"y" * (5 * MB - len(data) - 1) + b"\n"
    assert len(data) == 5 * MB
    rows = read_sheet(data).rows
    assert rows[-1].cells["Name"].startswith("yyy")
    assert len(rows) == 5 * MB // len(line)


def test_a_giant_csv_cell_is_refused_without_touching_the_global_field_limit() -> None:
    before = csv.field_size_limit()
    message = refused(b"Name,Note\nAcme," + b"x" * 200_000 + b"\n")
    assert message.startswith("Row 2 has a cell longer than 4,000 characters")
    assert csv.field_size_limit() == before


def test_a_cell_over_max_cell_chars_but_under_the_csv_limit_is_refused() -> None:
    message = refused(b"Name\n" + b"x" * 4_001 + b"\n")
    assert message.startswith("Row 2 has a cell of 4,001 characters")
    read_sheet(b"Name\n" + b"x" * 4_000 + b"\n")


def test_csv_with_one_row_too_many_is_refused() -> None:
    rows = b"".join(b"asset-%d\n" % i for i in range(10_000))
    assert len(read_sheet(b"Name\n" + rows).rows) == 10_000
    assert "more than 10,000 rows" in refused(b"Name\n" + rows + b"one-more\n")


def test_blank_rows_do_not_count_and_keep_numbering() -> None:
    sheet = read_sheet(b"\n , \nName,Count\n\nAcme,1\n,\nBeta\n")
    assert texts(sheet) == [(5, {"Name": "Acme", "Count": "1"}), (7, {"Name": "Beta", "Count": ""})]


def test_a_duplicate_header_differing_only_in_case_and_spaces_is_refused() -> None:
    message = refused(b" Name,Count,name\nA,1,B\n")
    assert message.startswith(
        'The column "name" appears twice in the header (row 1, also as "Name")'
    )


def test_a_long_row_is_refused_naming_the_row_a_person_sees() -> None:
    # Row 2 holds a line break inside quotes: still one spreadsheet row, so the long one is row 3.
    message = refused(b'Name,Count\n"two\nlines",1\nAcme,2,surprise\n')
    assert message.startswith("Row 3 has values in 3 columns")


def test_trailing_empty_cells_past_the_header_are_ignored() -> None:
    sheet = read_sheet(b"Name,Count,,\nAcme,1,,\nBeta,,,\n")
    assert sheet.columns == ("Name", "Count")
    assert [row.cells for row in sheet.rows] == [
        {"Name": "Acme", "Count": "1"},
        {"Name": "Beta", "Count": ""},
    ]


def test_a_value_under_a_blank_header_is_refused() -> None:
    assert read_sheet(b"Name,,Count\nA,,1\n").columns == ("Name", "Count")
    message = refused(b"Name,,Count\nA,,1\nB,hidden,2\n")
    assert message.startswith("Row 3 has a value in column 2, which has no header")


def test_too_many_columns_are_refused() -> None:
    header = ",".join(f"c{i}" for i in range(65)).encode()
    assert "65 columns, more than the 64 allowed" in refused(header + b"\n")
    read_sheet(b",".join(header.split(b",")[:64]) + b"\n")


@pytest.mark.parametrize("separator", [";", "\t"])
def test_semicolon_and_tab_separated_headers_are_detected(separator: str) -> None:
    data = f"Name{separator}Price\nAcme{separator}1,50\n".encode()
    sheet = read_sheet(data)
    assert sheet.columns == ("Name", "Price")
    assert sheet.rows[0].cells == {"Name": "Acme", "Price": "1,50"}


def test_a_header_with_commas_stays_comma_separated_whatever_its_cells_hold() -> None:
    sheet = read_sheet(b"Name,Notes\nAcme,a;b\n")
    assert sheet.rows[0].cells == {"Name": "Acme", "Notes": "a;b"}


def test_empty_uploads_are_refused() -> None:
    assert "empty" in refused(b"")
    assert "empty" in refused(b" \r\n \n")
    assert "empty" in refused(b"\xef\xbb\xbf\n,,\n")


# --- not a spreadsheet at all ---------------------------------------------------------------


def test_a_legacy_xls_is_refused_as_such() -> None:
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)
    assert ".xls" in refused(ole)


def test_random_bytes_are_refused() -> None:
    noise = random.Random(7).randbytes(4096)  # noqa: S311 (reproducible noise, not a secret)
    refused(noise)
    refused(b"PK\x03\x04" + noise)


def test_a_zip_that_is_not_a_workbook_is_refused() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
        archive.writestr("[Content_Types].xml", "<Types/>")
    assert "not an Excel workbook" in refused(out.getvalue())


def test_a_workbook_with_broken_xml_is_refused_as_unreadable(plain_xlsx: bytes) -> None:
    broken = rewrite(plain_xlsx, replace={SHEET_XML: b"<worksheet><sheetData><row>"})
    assert "not a readable XLSX workbook" in refused(broken)


def test_a_damaged_workbook_only_ever_raises_sheet_refused(plain_xlsx: bytes) -> None:
    noise = random.Random(11)  # noqa: S311 (reproducible damage, not a secret)
    outcomes = set()
    for _ in range(150):
        damaged = bytearray(plain_xlsx)
        for _ in range(noise.randint(1, 8)):
            damaged[noise.randrange(4, len(damaged))] = noise.randrange(256)
        try:
            read_sheet(bytes(damaged))
            outcomes.add("read")
        except SheetRefused:
            outcomes.add("refused")
    assert "refused" in outcomes


# --- XLSX: zip bombs and lying archives --------------------------------------------------------


def test_a_zip_bomb_is_refused_quickly_without_unpacking_it(
    zip_bomb: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[str] = []
    open_member = zipfile.ZipFile.open

    def recording(archive: zipfile.ZipFile, name: Any, *args: Any, **kwargs: Any) -> Any:
        opened.append(getattr(name, "filename", name))
        return open_member(archive, name, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", recording)
    tracemalloc.start()
    started = time.perf_counter()
    try:
        message = refused(zip_bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "unpacks to more than 67,108,864 bytes" in message
    assert time.perf_counter() - started < 2
    assert peak < 32 * MB
    assert opened == []  # refused from the sizes the directory declares, before inflating


def test_a_bomb_whose_central_directory_lies_about_its_size_is_refused(
    zip_bomb: bytes, openpyxl_opened: list[object]
) -> None:
    # The member claims 1 KB; its deflated stream holds 200 MB. openpyxl never reads xl/media/,
    # so only the streaming pass over every member sees it: zipfile stops at the claimed size and
    # the CRC of what it read does not match, which the pass refuses as a corrupt workbook.
    liar = patch_central_directory(
        zip_bomb, "xl/media/image1.bin", lambda buf, at: struct.pack_into("<I", buf, at + 24, 1024)
    )
    with zipfile.ZipFile(io.BytesIO(liar)) as archive:
        assert sum(info.file_size for info in archive.infolist()) < 64 * MB
    tracemalloc.start()
    try:
        message = refused(liar)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "not a readable XLSX workbook" in message
    assert peak < 32 * MB
    assert openpyxl_opened == []


def test_a_workbook_with_too_many_parts_is_refused(
    plain_xlsx: bytes, openpyxl_opened: list[object]
) -> None:
    crowded = rewrite(plain_xlsx, add={f"customXml/item{i}.xml": b"<a/>" for i in range(500)})
    assert "more than the 500 allowed" in refused(crowded)
    assert openpyxl_opened == []


def test_an_encrypted_member_is_refused(plain_xlsx: bytes, openpyxl_opened: list[object]) -> None:
    extra = rewrite(plain_xlsx, add={"xl/media/secret.bin": b"secret"})

    def set_encrypted(buf: bytearray, at: int) -> None:
        (flags,) = struct.unpack_from("<H", buf, at + 8)
        struct.pack_into("<H", buf, at + 8, flags | 0x1)

    locked = patch_central_directory(extra, "xl/media/secret.bin", set_encrypted)
    assert "password" in refused(locked)
    assert openpyxl_opened == []


def test_a_member_compressed_with_bzip2_is_refused(
    plain_xlsx: bytes, openpyxl_opened: list[object]
) -> None:
    # zipfile inflates bzip2 a whole read at a time with no output cap; XLSX only uses deflate.
    odd = rewrite(plain_xlsx, add={"xl/media/x.bin": b"x" * 100}, add_type=zipfile.ZIP_BZIP2)
    with zipfile.ZipFile(io.BytesIO(odd)) as archive:
        assert archive.getinfo("xl/media/x.bin").compress_type == zipfile.ZIP_BZIP2
    assert "not a readable XLSX workbook" in refused(odd)
    assert openpyxl_opened == []


# --- XLSX: hostile sheet XML -------------------------------------------------------------------


def test_a_lying_dimension_with_one_real_row_reads_fast(plain_xlsx: bytes) -> None:
    xml = sheet_xml(plain_xlsx)
    assert '<dimension ref="A1:B2"' in xml
    liar = rewrite(
        plain_xlsx,
        replace={SHEET_XML: xml.replace('ref="A1:B2"', 'ref="A1:XFD1048576"').encode()},
    )
    started = time.perf_counter()
    sheet = read_sheet(liar)
    assert time.perf_counter() - started < 1
    assert texts(sheet) == [(2, {"Name": "Acme", "Count": "3"})]


def test_a_lying_dimension_does_not_pad_every_row_to_sixteen_thousand_cells() -> None:
    # Believed, A1:XFD1048576 turns each of these 1,000 rows into 16,384 cells to walk.
    honest = workbook([["Name", "Count"]] + [[f"asset-{i}", i] for i in range(1_000)])
    xml = sheet_xml(honest).replace('ref="A1:B1001"', 'ref="A1:XFD1048576"')
    assert 'ref="A1:XFD1048576"' in xml
    started = time.perf_counter()
    sheet = read_sheet(rewrite(honest, replace={SHEET_XML: xml.encode()}))
    assert time.perf_counter() - started < 1
    assert sheet.rows[-1] == SheetRow(1_001, {"Name": "asset-999", "Count": "999"})


def test_a_row_numbered_far_below_the_table_is_refused_without_walking_to_it(
    plain_xlsx: bytes,
) -> None:
    xml = sheet_xml(plain_xlsx).replace(
        "</sheetData>",
        '<row r="999999999"><c r="A999999999" t="inlineStr"><is><t>x</t></is></c></row>'
        "</sheetData>",
    )
    started = time.perf_counter()
    message = refused(rewrite(plain_xlsx, replace={SHEET_XML: xml.encode()}))
    assert "reaches past row 20,002" in message
    assert time.perf_counter() - started < 2


def test_a_value_past_the_header_is_refused_and_past_column_1024_never_read(
    plain_xlsx: bytes,
) -> None:
    def with_cell(ref: str) -> bytes:
        xml = sheet_xml(plain_xlsx).replace(
            "</sheetData>",
            f'<row r="3"><c r="{ref}3" t="inlineStr"><is><t>far</t></is></c></row></sheetData>',
        )
        return rewrite(plain_xlsx, replace={SHEET_XML: xml.encode()})

    assert refused(with_cell("AMJ")).startswith("Row 3 has values in 1024 columns")
    # One cell at the last column cannot make every row 16,384 values long: it is not read,
    # and nothing there could be imported (no header names it).
    started = time.perf_counter()
    sheet = read_sheet(with_cell("XFD"))
    assert time.perf_counter() - started < 2
    assert [row.number for row in sheet.rows] == [2]


def test_an_xlsx_with_one_row_too_many_is_refused() -> None:
    rows: list[list[object]] = [["Name"]] + [[f"a{i}"] for i in range(101)]
    limits = SheetLimits(max_rows=100)
    assert "more than 100 rows" in refused(workbook(rows), limits)
    assert len(read_sheet(workbook(rows[:-1]), limits=limits).rows) == 100


def test_an_entity_expansion_bomb_in_the_sheet_xml_is_refused(plain_xlsx: bytes) -> None:
    entities = '<!ENTITY lol0 "lolololololololololol">' + "".join(
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)
    )
    xml = sheet_xml(plain_xlsx)
    body = xml[xml.index("<worksheet") :].replace(
        "</sheetData>",
        '<row r="3"><c r="A3" t="inlineStr"><is><t>&lol9;</t></is></c></row></sheetData>',
    )
    bomb = f'<?xml version="1.0"?><!DOCTYPE worksheet [{entities}]>{body}'
    with pytest.raises(SheetRefused) as caught:
        read_sheet(rewrite(plain_xlsx, replace={SHEET_XML: bomb.encode()}))
    causes = []
    cause: BaseException | None = caught.value
    while cause is not None:
        causes.append(cause)
        cause = cause.__cause__ or cause.__context__
    assert any(isinstance(c, defusedxml.EntitiesForbidden) for c in causes)


def test_a_formula_without_a_saved_value_is_refused_and_formula_text_reads_as_text() -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Name", "Total"])
    sheet.append(["Acme", "=1+1"])  # a live formula, saved by a program without a cached value
    sheet.append(["=SUM(A1:A9)", 5])
    sheet["A3"].data_type = "s"  # the same text, stored as a string
    buffer = io.BytesIO()
    book.save(buffer)
    assert "<f>1+1</f>" in sheet_xml(buffer.getvalue())
    # Read as empty, it would clear the field it is imported into: refused instead.
    assert "formulas with no saved result" in refused(buffer.getvalue())
    # A formula that a spreadsheet saved (with its result) reads as the result.
    xml = sheet_xml(buffer.getvalue()).replace("<f>1+1</f><v />", "<f>1+1</f><v>2</v>")
    assert "<v>2</v>" in xml
    rows = read_sheet(rewrite(buffer.getvalue(), replace={SHEET_XML: xml.encode()})).rows
    assert [row.cells for row in rows] == [
        {"Name": "Acme", "Total": "2"},
        {"Name": "=SUM(A1:A9)", "Total": "5"},
    ]


def test_xlsx_values_become_text() -> None:
    data = workbook(
        [
            ["Int", "Whole", "Float", "Bool", "Midnight", "Moment", "Date"],
            [
                12,
                3.0,
                0.1,
                True,
                dt.datetime(2026, 1, 31),
                dt.datetime(2026, 1, 31, 9, 30),
                dt.date(2025, 12, 1),
            ],
        ]
    )
    [row] = read_sheet(data).rows
    assert row.cells == {
        "Int": "12",
        "Whole": "3",
        "Float": "0.1",
        "Bool": "true",
        "Midnight": "2026-01-31",
        "Moment": "2026-01-31T09:30:00",
        "Date": "2025-12-01",
    }


# --- concurrency ------------------------------------------------------------------------------


def test_twenty_threads_reading_different_files_each_get_their_own() -> None:
    def upload(i: int) -> bytes:
        rows = [[f"Col{i}", "N"]] + [[f"asset-{i}-{j}", j * i] for j in range(200)]
        if i % 2:
            return workbook(rows)
        return "\n".join(f"{a},{b}" for a, b in rows).encode()

    uploads = [upload(i) for i in range(20)]
    with ThreadPoolExecutor(max_workers=20) as pool:
        sheets = list(pool.map(read_sheet, uploads))
    for i, sheet in enumerate(sheets):
        assert sheet.columns == (f"Col{i}", "N")
        assert len(sheet.rows) == 200
        assert sheet.rows[-1] == SheetRow(201, {f"Col{i}": f"asset-{i}-199", "N": str(199 * i)})


def test_a_shared_strings_table_past_its_cap_is_refused_before_openpyxl_loads_it(
    plain_xlsx: bytes,
) -> None:
    # 3.5 million tiny strings fit the 64 MiB total, but openpyxl would hold them all as Python
    # objects (about 680 MB): a part other than a worksheet is capped on its own.
    table = b"<sst>" + b"<si><t>ab</t></si>" * 500_000 + b"</sst>"
    assert len(table) > SheetLimits().max_part_bytes
    tracemalloc.start()
    try:
        message = refused(rewrite(plain_xlsx, add={"xl/sharedStrings.xml": table}))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "xl/sharedStrings.xml unpacks to more than" in message
    assert peak < 32 * 1024 * 1024


@pytest.mark.parametrize("text", ["=Acme", "'=Acme", "''+44 1234", "'plain", "O'Neil", "-5"])
def test_text_that_looks_neutralised_round_trips_through_the_exports(text: str) -> None:
    frame = pd.DataFrame({"Owner": [text]})
    for data in (to_csv(frame).encode(), to_xlsx(frame, "sheet")):
        assert read_sheet(data).rows[0].cells == {"Owner": text}
