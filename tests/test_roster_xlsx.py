"""`incident roster import ID FILE.xlsx`: the first sheet or --sheet, leading zeros of postal codes and
telephone numbers kept whether Excel stored them as numbers or text, the same header rules and
validation as a CSV, the address printed exactly as the sheet has it; workbooks written by openpyxl,
by XlsxWriter and by hand (shared and inline strings, rich text, phonetic guides, the workbook's sheet
order); the shared strings never all in memory, and their temporary file private, encrypted, removed."""

from __future__ import annotations

import json
import os
import sys
import tracemalloc
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from openpyxl import Workbook
from test_notices import make, write_config

from incident.law.vocabulary import open_store
from incident.notices import xlsxstrings
from incident.notices.rosterxlsx import XlsxTable


def workbook(path: Path, rows: list[list[Any]], *, formats: dict[str, str] | None = None,
             other: list[list[Any]] | None = None) -> Path:
    book = Workbook()
    sheet = book.active
    sheet.title = "名簿"
    for row in rows:
        sheet.append(row)
    for ref, number_format in (formats or {}).items():
        sheet[ref].number_format = number_format
    if other is not None:
        second = book.create_sheet("別シート")
        for row in other:
            second.append(row)
    book.save(path)
    return path


@pytest.fixture
def incident(store_dir: Path) -> str:
    write_config(store_dir)
    return make(open_store(store_dir))


def people(run: Callable[..., Result], incident: str) -> list[dict[str, Any]]:
    data = json.loads(run(f"roster show {incident} --reveal --json").stdout)
    found: list[dict[str, Any]] = data["sample"]
    return found


def test_leading_zeros_come_back(run: Callable[..., Result], incident: str, tmp_path: Path) -> None:
    src = workbook(tmp_path / "people.xlsx", [
        ["氏名", "郵便番号", "住所", "電話番号"],
        ["山田 太郎", 600001, "北海道札幌市中央区北１条西２丁目", 9012345678],
        [None, None, None, None],
        ["佐藤 花子", "0600042", "北海道札幌市中央区大通西１－１", "011-222-3333"],
        ["鈴木 次郎", 1000001, "東京都千代田区千代田1-1", 312345678],
        ["高橋 三郎", 4000, "青森県", None],
    ], formats={"B6": "0000000"})
    result = run(f"roster import {incident} {src}")
    assert "Imported 4 people" in result.stderr and "xlsx: 名簿" in result.stderr
    found = {p["name"]: p for p in people(run, incident)}
    assert found["山田 太郎"]["postal_code"] == "060-0001" and found["山田 太郎"]["phone"] == "09012345678"
    assert found["佐藤 花子"]["postal_code"] == "060-0042" and found["佐藤 花子"]["phone"] == "011-222-3333"
    assert found["鈴木 次郎"]["postal_code"] == "100-0001" and found["鈴木 次郎"]["phone"] == "0312345678"
    assert found["高橋 三郎"]["postal_code"] == "000-4000"
    assert found["山田 太郎"]["address"] == "北海道札幌市中央区北１条西２丁目"  # exactly as written


def test_the_letter_prints_the_address_as_written(run: Callable[..., Result], incident: str,
                                                  tmp_path: Path) -> None:
    address = "東京都千代田区千代田１－１－１　ハイツ千代田１０１号室"
    src = workbook(tmp_path / "people.xlsx", [["氏名", "住所", "郵便番号"], ["山田 太郎", address, "1000001"]])
    run(f"roster import {incident} {src}")
    out = tmp_path / "letters"
    run(f"notice {incident} --kind individual-letter --roster --out {out}")
    assert address in (out / "p000001.txt").read_text(encoding="utf-8").splitlines()


def test_another_sheet(run: Callable[..., Result], incident: str, tmp_path: Path) -> None:
    src = workbook(tmp_path / "people.xlsx", [["メモ"], ["この表ではない"]],
                   other=[["お名前", "メールアドレス"], ["山田 太郎", "taro@example.jp"]])
    assert "no name column" in run(f"roster import {incident} {src}", expect=2).stderr
    run(f"roster import {incident} {src} --sheet 別シート")
    assert [p["email"] for p in people(run, incident)] == ["taro@example.jp"]
    result = run(f"roster import {incident} {src} --sheet 名簿3 --replace --reason test", expect=2)
    assert "no sheet '名簿3'; the workbook has: 名簿, 別シート" in result.stderr


def test_invalid_rows_are_refused_like_a_csv(run: Callable[..., Result], incident: str, tmp_path: Path) -> None:
    src = workbook(tmp_path / "people.xlsx", [["氏名", "住所"], ["山田 太郎", "東京都"], [None, "大阪府"]])
    result = run(f"roster import {incident} {src}", expect=2)
    assert "row 3" in result.stderr and "no name" in result.stderr
    run(f"roster import {incident} {src} --skip-invalid")


def test_a_formula_and_other_bad_files(run: Callable[..., Result], incident: str, tmp_path: Path) -> None:
    src = workbook(tmp_path / "people.xlsx", [["氏名", "住所"], ["山田 太郎", "=A1&\"様方\""]])
    result = run(f"roster import {incident} {src}", expect=2)
    assert "row 2, column B: a formula, not a value" in result.stderr
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"not a zip")
    assert "not a readable Excel workbook" in run(f"roster import {incident} {broken}", expect=2).stderr
    csv = tmp_path / "people.csv"
    csv.write_text("氏名,住所\n山田 太郎,東京都\n", encoding="utf-8")
    assert "--sheet is for an Excel workbook" in run(f"roster import {incident} {csv} --sheet x", expect=2).stderr


def xlsxwriter_book(path: Path, rows: list[list[Any]], *, inline: bool = False,
                    formats: dict[tuple[int, int], str] | None = None) -> Path:
    """A workbook as XlsxWriter writes it: shared strings, or inline strings with constant_memory."""
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path), {"constant_memory": inline})
    sheet = book.add_worksheet("名簿")
    cell_formats = {k: book.add_format({"num_format": v}) for k, v in (formats or {}).items()}
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if isinstance(value, str) and value.startswith("="):
                sheet.write_formula(r, c, value)
            elif isinstance(value, tuple):
                bold = book.add_format({"bold": True})
                sheet.write_rich_string(r, c, bold, value[0], value[1])
            elif value is not None:
                sheet.write(r, c, value, cell_formats.get((r, c)))
    book.close()
    return path


@pytest.mark.parametrize("inline", [False, True], ids=["shared-strings", "inline-strings"])
def test_a_workbook_written_by_xlsxwriter(run: Callable[..., Result], incident: str, tmp_path: Path,
                                          inline: bool) -> None:
    src = xlsxwriter_book(tmp_path / "people.xlsx", [
        ["氏名", "郵便番号", "住所", "電話番号", "会員番号"],
        ["山田 太郎", 600001, "北海道札幌市中央区北１条西２丁目", 9012345678, 42],
        [("佐藤 ", "花子"), "0600042", "北海道札幌市中央区大通西１－１", "011-222-3333", 7],
        ["鈴木 次郎", 1000001, "東京都千代田区千代田1-1", 312345678, None],
    ], inline=inline, formats={(1, 4): "00000", (2, 4): "00000"})
    run(f"roster import {incident} {src}")
    found = {p["name"]: p for p in people(run, incident)}
    assert sorted(found) == ["佐藤 花子", "山田 太郎", "鈴木 次郎"]  # the rich text's runs joined
    assert found["山田 太郎"]["postal_code"] == "060-0001" and found["山田 太郎"]["phone"] == "09012345678"
    assert found["佐藤 花子"]["address"] == "北海道札幌市中央区大通西１－１"
    assert found["鈴木 次郎"]["phone"] == "0312345678"
    assert found["山田 太郎"]["extra"] == {"会員番号": "00042"} and found["鈴木 次郎"]["extra"] == {"会員番号": ""}
    formula = xlsxwriter_book(tmp_path / "formula.xlsx", [["氏名", "住所"], ["山田 太郎", "東京都"],
                                                          ["佐藤 花子", "=B2"]], inline=inline)
    result = run(f"roster import {incident} {formula} --replace --reason test", expect=2)
    assert "row 3, column B: a formula, not a value" in result.stderr


def test_dates_booleans_and_hidden_rows(run: Callable[..., Result], incident: str, tmp_path: Path) -> None:
    from datetime import date, datetime

    book = Workbook()
    sheet = book.active
    for row in [["氏名", "住所", "生年月日", "受付", "同意"],
                ["山田 太郎", "東京都", date(1980, 4, 1), datetime(2024, 5, 1, 9, 30), True],
                ["佐藤 花子", "大阪府", date(1990, 12, 31), datetime(2024, 5, 2), False]]:
        sheet.append(row)
    sheet.row_dimensions[3].hidden = True  # a hidden row is still a person
    book.save(tmp_path / "people.xlsx")
    run(f"roster import {incident} {tmp_path / 'people.xlsx'}")
    found = {p["name"]: p["extra"] for p in people(run, incident)}
    assert found["山田 太郎"] == {"生年月日": "1980-04-01", "受付": "2024-05-01 09:30:00", "同意": "TRUE"}
    assert found["佐藤 花子"] == {"生年月日": "1990-12-31", "受付": "2024-05-02", "同意": "FALSE"}


_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"


def handmade(path: Path, sheets: dict[str, tuple[str, str]], strings: list[str], *, date1904: bool = False) -> Path:
    """A workbook written by hand: `sheets` maps a sheet's name, in the workbook's order, to its part's
    file name and its sheetData XML; `strings` are the shared string items' XML. The main namespace
    has the prefix ``x:``, as some generators write it."""
    rels = "".join(f'<Relationship Id="rId{i}" Type="{_RELS}/worksheet" Target="worksheets/{part}"/>'
                   for i, (part, _xml) in enumerate(sheets.values(), 1))
    rels += f'<Relationship Id="rS" Type="{_RELS}/sharedStrings" Target="sharedStrings.xml"/>'
    entries = "".join(f'<x:sheet name="{name}" sheetId="{i}" r:id="rId{i}"/>' for i, name in enumerate(sheets, 1))
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("_rels/.rels", f'<Relationships xmlns="{_PKG}"><Relationship Id="r1" '
                                  f'Type="{_RELS}/officeDocument" Target="xl/workbook.xml"/></Relationships>')
        z.writestr("xl/workbook.xml", f'<x:workbook xmlns:x="{_MAIN}" xmlns:r="{_RELS}">'
                                      f'<x:workbookPr date1904="{int(date1904)}"/><x:sheets>{entries}</x:sheets></x:workbook>')
        z.writestr("xl/_rels/workbook.xml.rels", f'<Relationships xmlns="{_PKG}">{rels}</Relationships>')
        z.writestr("xl/sharedStrings.xml", f'<x:sst xmlns:x="{_MAIN}">'
                                           + "".join(f"<x:si>{s}</x:si>" for s in strings) + "</x:sst>")
        for part, xml in sheets.values():
            z.writestr(f"xl/worksheets/{part}", f'<x:worksheet xmlns:x="{_MAIN}"><x:sheetData>{xml}</x:sheetData></x:worksheet>')
    return path


def test_the_first_sheet_is_the_workbooks_first_and_text_as_excel_shows_it(
        run: Callable[..., Result], incident: str, tmp_path: Path) -> None:
    strings = ["<x:t>氏名</x:t>", "<x:t>住所</x:t>",
               # Japanese Excel keeps the reading (ふりがな) of a typed name beside it: not part of the text
               "<x:t>山田 太郎</x:t><x:rPh sb=\"0\" eb=\"2\"><x:t>ヤマダ タロウ</x:t></x:rPh><x:phoneticPr fontId=\"1\"/>",
               "<x:r><x:rPr><x:b/></x:rPr><x:t xml:space=\"preserve\">東京都 </x:t></x:r><x:r><x:t>千代田区</x:t></x:r>"]
    first = ('<x:row r="2"><x:c r="A2" t="s"><x:v>0</x:v></x:c><x:c r="B2" t="s"><x:v>1</x:v></x:c></x:row>'
             '<x:row r="4"><x:c r="A4" t="s"><x:v>2</x:v></x:c><x:c r="B4" t="s"><x:v>3</x:v></x:c></x:row>'
             '<x:row r="5"><x:c r="B5" t="inlineStr"><x:is><x:t>大阪府</x:t></x:is></x:c>'
             '<x:c r="A5" t="inlineStr"><x:is><x:r><x:t>佐藤 </x:t></x:r><x:r><x:t>花子</x:t></x:r></x:is></x:c></x:row>')
    other = '<x:row r="1"><x:c r="A1" t="inlineStr"><x:is><x:t>メモ</x:t></x:is></x:c></x:row>'
    # the file names say the opposite of the workbook's order
    src = handmade(tmp_path / "people.xlsx", {"名簿": ("sheet2.xml", first), "メモ": ("sheet1.xml", other)}, strings)
    result = run(f"roster import {incident} {src}")
    assert "xlsx: 名簿" in result.stderr
    found = {p["name"]: p["address"] for p in people(run, incident)}
    assert found == {"山田 太郎": "東京都 千代田区", "佐藤 花子": "大阪府"}
    broken = handmade(tmp_path / "broken.xlsx", {"名簿": ("sheet1.xml", first.replace("<x:v>3</x:v>", "<x:v>9</x:v>"))},
                      strings)
    result = run(f"roster import {incident} {broken} --replace --reason test", expect=2)
    assert "row 4, column B: shared string 9, but the workbook's table has 4" in result.stderr


def _distinct_names_book(path: Path, rows: int, distinct: int) -> Path:
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("名簿")
    sheet.write(0, 0, "氏名")
    for i in range(rows):
        sheet.write(i + 1, 0, f"山田 太郎 東京都千代田区千代田一丁目一番一号 ハイツ千代田{i % distinct:08d}号室")
    book.close()
    return path


def _peak_reading(src: Path) -> tuple[int, int]:
    """The peak of traced memory while reading every row, and the most shared strings held at once."""
    tracemalloc.start()
    try:
        table = XlsxTable(src, None, None)
        try:
            assert sum(1 for _row in table.rows) == 20_000
            strings = table.book.strings
            assert strings is not None
            held = strings.most_held
        finally:
            table.close()
        return tracemalloc.get_traced_memory()[1], held
    finally:
        tracemalloc.stop()


def test_memory_does_not_grow_with_the_distinct_strings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """20,000 distinct names and addresses against 2,000 (the same number of rows), with a cache of 512
    strings: were the table read into memory, as openpyxl does, the peak would grow several times over;
    here it holds the bounded cache."""
    monkeypatch.setattr(xlsxstrings, "BLOCK_STRINGS", 128)
    monkeypatch.setattr(xlsxstrings, "CACHED_BLOCKS", 4)
    _peak_reading(_distinct_names_book(tmp_path / "warm.xlsx", 20_000, 1))  # the reader's lazy imports
    few = _peak_reading(_distinct_names_book(tmp_path / "few.xlsx", 20_000, 2_000))
    many = _peak_reading(_distinct_names_book(tmp_path / "many.xlsx", 20_000, 20_000))
    assert few[1] == many[1] == 512
    assert many[0] < 1.5 * few[0], (few, many)
    print(few, many)


def test_the_temporary_file_is_private_encrypted_and_removed(run: Callable[..., Result], incident: str,
                                                             tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[Any] = []
    real = xlsxstrings.tempfile.TemporaryFile

    def recording(*args: Any, **kwargs: Any) -> Any:
        made.append(real(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(xlsxstrings.tempfile, "TemporaryFile", recording)
    address = "北海道札幌市中央区北１条西２丁目 秘密のアドレス"
    src = xlsxwriter_book(tmp_path / "people.xlsx", [["氏名", "住所"], ["山田 太郎", address],
                                                     ["佐藤 花子", "=B2"]])
    table = XlsxTable(src, None, None)
    try:
        assert len(made) == 1
        spill = made[0]
        if sys.platform != "win32":
            status = os.fstat(spill.fileno())
            assert status.st_mode & 0o777 == 0o600 and status.st_nlink == 0  # private, no name on disk
        spill.seek(0)
        content = spill.read()
        assert content and address.encode("utf-8") not in content and "山田".encode() not in content
        assert table.book.strings is not None and table.book.strings[2] == "山田 太郎"
    finally:
        table.close()
    assert spill.closed
    assert "row 3, column B: a formula" in run(f"roster import {incident} {src}", expect=2).stderr
    assert len(made) == 2 and made[1].closed  # closed on error too


FORMAT_CODES = ["General", "0", "0000000", "#,##0", "0.00E+00", "@", "mm-dd-yy", "yyyy/m/d", "h:mm AM/PM",
                "[h]:mm:ss", "[mm]:ss", "mm:ss", '[$-411]ggge"年"m"月"d"日"', 'yyyy"年"m"月"d"日"',
                '"Day "0', "[Red]0.00", '#,##0_);[Red](#,##0)', "0;[Red]-0;\"zero\"", r"0\d", "_d0", "[ss].0"]


def test_number_formats_and_dates_read_as_openpyxl_reads_them() -> None:
    from datetime import timedelta

    from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format, is_timedelta_format
    from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900, from_excel, from_ISO8601

    from incident.notices import xlsxformats

    codes = FORMAT_CODES + [xlsxformats.format_code(i, {}) for i in range(50)]
    assert [xlsxformats.is_date(c) for c in codes] == [is_date_format(c) for c in codes]
    assert [xlsxformats.is_duration(c) for c in codes] == [is_timedelta_format(c) for c in codes]
    assert all(xlsxformats.format_code(i, {}) in (BUILTIN_FORMATS.get(i, "General"),) for i in range(50)
               if i in xlsxformats.BUILTIN or i not in BUILTIN_FORMATS)
    serials = [0, 0.5, 0.999999, 1, 1.25, 59, 59.5, 60, 61, 366.75, 29221, 45382.395833333336, 2000000.9999]
    for date1904, epoch in ((False, CALENDAR_WINDOWS_1900), (True, CALENDAR_MAC_1904)):
        for value in serials:
            for duration in (False, True):
                assert xlsxformats.from_serial(value, date1904=date1904, duration=duration) == \
                    from_excel(value, epoch, timedelta=duration), (value, date1904, duration)
    for text in ["2024-04-01", "2024-04-01T09:30:00", "2024-04-01T09:30:00.125Z", "09:30", "09:30:15"]:
        assert xlsxformats.from_iso(text) == from_ISO8601(text)
    assert xlsxformats.from_serial(1.5, date1904=False, duration=True) == timedelta(days=1, hours=12)


def test_reading_a_workbook_does_not_load_openpyxl(tmp_path: Path) -> None:
    import subprocess

    src = xlsxwriter_book(tmp_path / "people.xlsx", [["氏名", "生年月日"], ["山田 太郎", 29221]],
                          formats={(1, 1): "yyyy/m/d"})
    script = ("import sys; from pathlib import Path; from incident.notices.rosterxlsx import XlsxTable\n"
              "t = XlsxTable(Path(sys.argv[1]), None, None); rows = list(t.rows); t.close()\n"
              "print(rows, 'openpyxl' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", script, str(src)], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "[(2, ['山田 太郎', '1980-01-01'])] False"


def test_a_chart_sheet_and_a_workbook_without_sheets_are_refused(run: Callable[..., Result], incident: str,
                                                                 tmp_path: Path) -> None:
    table = '<x:row r="1"><x:c r="A1" t="inlineStr"><x:is><x:t>氏名</x:t></x:is></x:c></x:row>'
    src = handmade(tmp_path / "chart.xlsx", {"グラフ": ("sheet1.xml", table)}, [])
    with zipfile.ZipFile(src) as z:
        parts = {name: z.read(name) for name in z.namelist()}
    rels = "xl/_rels/workbook.xml.rels"
    parts[rels] = parts[rels].replace(b"/worksheet\"", b"/chartsheet\"")
    with zipfile.ZipFile(src, "w") as z:
        for name, data in parts.items():
            z.writestr(name, data)
    result = run(f"roster import {incident} {src}", expect=2)
    assert "the sheet 'グラフ' is not a table of cells (a chart?)" in result.stderr
    empty = handmade(tmp_path / "empty.xlsx", {}, [])
    assert "not a readable Excel workbook (.xlsx): no sheets" in run(f"roster import {incident} {empty}", expect=2).stderr


def test_a_broken_sheet_is_one_line(run: Callable[..., Result], incident: str, tmp_path: Path) -> None:
    rows = ('<x:row r="1"><x:c r="A1" t="inlineStr"><x:is><x:t>氏名</x:t></x:is></x:c></x:row>'
            '<x:row r="zwei"><x:c r="A2" t="inlineStr"><x:is><x:t>山田</x:t></x:is></x:c></x:row>')
    src = handmade(tmp_path / "broken.xlsx", {"名簿": ("sheet1.xml", rows)}, [])
    result = run(f"roster import {incident} {src}", expect=2)
    assert "not a readable Excel workbook (.xlsx): invalid literal for int()" in result.stderr
    assert "Traceback" not in result.stderr
