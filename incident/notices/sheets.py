"""Spreadsheets (XLSX, written with XlsxWriter): the PPC form's fields as a sheet, and tables that print
on A4 landscape (Japanese headers, widths and wrapping set, header row repeated on every page).

Every cell is written as a string or a number, never as a formula: a value starting with `=` stays text.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from incident.notices.form import FilledField, FormSpec


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

    from incident.fsutil import atomic_write_bytes

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


FORM_COLUMNS = (Column("項番", 6, number=True), Column("区分", 18, wrap=True), Column("欄", 40, wrap=True),
                Column("値", 70, wrap=True), Column("文字数", 8, number=True), Column("欄名の出典", 24, wrap=True))


def form_sheet(spec: FormSpec, filled: Sequence[FilledField], path: Path) -> str:
    """The form's fields as a sheet (項番, 欄, 値, 文字数), in the form's order."""
    rows = ([f.number, f.field.section, f.field.label, f.value, f.chars,
             f.field.confirmed and spec.sources[f.field.confirmed].title or "推定: " + f.field.inferred]
            for f in filled)
    return write_table(path, spec.title, FORM_COLUMNS, rows, sheet="報告フォーム",
                       subtitle=f"{spec.recipient}（{spec.law}）")
