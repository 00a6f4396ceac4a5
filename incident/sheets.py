"""Spreadsheets (XLSX, written with XlsxWriter): tables that print on A4 landscape (Japanese headers,
widths and wrapping set, the header row repeated on every page), for the PPC form's fields, the annual
report and the incident list.

Every cell is written as a string or a number, never as a formula: a value starting with `=` stays text.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from incident.fsutil import atomic_write_bytes


@dataclass(frozen=True)
class Column:
    header: str
    width: float
    """In characters (a full-width character counts about two)."""
    wrap: bool = False
    number: bool = False


def write_table(path: Path, title: str, columns: Sequence[Column], rows: Iterable[Sequence[Any]], *,
                sheet: str = "一覧", subtitle: str = "") -> str:
    """One sheet: a title row, a header row, the rows; A4 landscape, fit to the page's width, the header
    repeated on every page. Written atomically (mode 0600); returns the file's SHA-256."""
    import xlsxwriter

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False,
                                        "strings_to_urls": False, "strings_to_numbers": False})
    book.set_properties({"title": title})
    ws = book.add_worksheet(sheet[:31])
    font = {"font_name": "游ゴシック", "font_size": 10.5, "valign": "top", "border": 1}
    head = book.add_format({**font, "bold": True, "bg_color": "#E7E6E6", "text_wrap": True, "align": "center"})
    plain = book.add_format(font)
    wrapped = book.add_format({**font, "text_wrap": True})
    number = book.add_format({**font, "num_format": "#,##0"})
    ws.write_string(0, 0, title, book.add_format({"font_name": "游ゴシック", "font_size": 14, "bold": True}))
    first = 1
    if subtitle:
        ws.write_string(1, 0, subtitle, book.add_format({"font_name": "游ゴシック", "font_size": 10.5}))
        first = 2
    for index, column in enumerate(columns):
        ws.set_column(index, index, column.width)
        ws.write_string(first, index, column.header, head)
    count = 0
    for count, row in enumerate(rows, 1):
        for index, (column, value) in enumerate(zip(columns, row, strict=True)):
            if value is None or value == "":
                ws.write_blank(first + count, index, None, plain)
            elif column.number and isinstance(value, (int, float)) and not isinstance(value, bool):
                ws.write_number(first + count, index, value, number)
            else:
                ws.write_string(first + count, index, str(value), wrapped if column.wrap else plain)
    ws.set_landscape()
    ws.set_paper(9)  # A4
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(first)
    ws.freeze_panes(first + 1, 0)
    ws.set_margins(left=0.5, right=0.5, top=0.6, bottom=0.6)
    ws.set_footer("&C&P / &N")
    if count:
        ws.autofilter(first, 0, first + count, len(columns) - 1)
    book.close()
    data = buffer.getvalue()
    atomic_write_bytes(path, data)
    return hashlib.sha256(data).hexdigest()


TABLE5_SHEET = (Column("No.", 6, number=True), Column("種別", 14, wrap=True), Column("内容", 70, wrap=True),
                Column("原因", 30, wrap=True), Column("所管", 16, wrap=True))
CITY_SHEET = (Column("報告日", 16), Column("発生日（判明日）", 30, wrap=True), Column("事案の概要", 70, wrap=True),
              Column("人数", 8, number=True), Column("担当課", 18, wrap=True))
LIST_SHEET = (Column("番号", 11), Column("状態", 10), Column("発覚日", 12), Column("種別", 18), Column("件名", 50, wrap=True),
              Column("所管", 16, wrap=True), Column("本人の数", 10, number=True), Column("報告・通知", 12))
