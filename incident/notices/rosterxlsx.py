"""A roster in an Excel workbook (.xlsx, .xlsm): the header and rows of one sheet, read as a stream by
`incident.notices.xlsxbook` (memory stays flat whatever the number of rows and of distinct names and
addresses), then validated as any roster (`incident.notices.roster.import_rows`).

Cells become text as the sheet shows them. Leading zeros that Excel dropped are put back where the
column says what the value is: a postal code stored as a number (600001) is seven digits (0600001), a
telephone number stored as a number (9012345678) starts with its trunk 0 (09012345678), as every
Japanese number written at home does; a number format of zeros (`0000000`) gives the width too. A
cell with a formula is refused (its value would be whatever Excel last cached).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import date, datetime, time
from pathlib import Path
from typing import Final

from incident.errors import InputError
from incident.i18n import _
from incident.notices.rostertable import field_of
from incident.notices.xlsxbook import Cell, CellError, Formula, Sheet, Value, Workbook, column_letters

XLSX_SUFFIXES: Final = (".xlsx", ".xlsm")
_ZEROS: Final = re.compile(r"0+")


def _formula_refused() -> str:
    return _("a formula, not a value; save the sheet with values (コピーして値の貼り付け)")


def sheet_names(src: Path) -> list[str]:
    with Workbook(src) as book:
        return [s.title for s in book.sheets]


def cell_text(value: Value | Formula, number_format: str, field: str | None) -> str:
    """A cell as the roster keeps it: text as written; numbers as the sheet shows them, leading zeros of
    postal codes and telephone numbers put back; dates as ISO dates. ValueError for a formula."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, Formula):
        raise ValueError(_formula_refused())  # noqa: TRY004 (a bad cell, reported with its row and column)
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int):
        return str(value)
    text = str(value)
    if _ZEROS.fullmatch(number_format):
        text = text.zfill(len(number_format))
    if field == "postal_code" and len(text) < 7:
        text = text.zfill(7)
    elif field == "phone" and not text.startswith("0") and 9 <= len(text) <= 10:
        text = "0" + text
    return text


class XlsxTable:
    """The header and the data rows (with their row numbers) of one sheet; `close` ends the reading."""

    def __init__(self, src: Path, sheet: str | None, mapping: Mapping[str, str] | None) -> None:
        self.src = src
        self.book = Workbook(src)
        try:
            self.sheet = self._choose(sheet)
            self._rows = self._read(self.book.rows(self.sheet))
            self.header, self.header_line = self._header()
            self.fields = self._fields(mapping)
        except BaseException:
            self.book.close()
            raise

    def _choose(self, sheet: str | None) -> Sheet:
        names = [s.title for s in self.book.sheets]
        if sheet is None:
            return self.book.sheets[0]
        if sheet in names:
            return self.book.sheets[names.index(sheet)]
        raise InputError(_("no sheet {sheet!r}; the workbook has: {join}")
                         .format(sheet=sheet, join=', '.join(names)), file=self.src, field="--sheet")

    def _read(self, rows: Iterator[tuple[int, list[Cell]]]) -> Iterator[tuple[int, list[Cell]]]:
        try:
            yield from rows
        except CellError as exc:
            raise self._cell_error(exc.row, exc.column, str(exc)) from None

    def _cell_error(self, row: int, column: int, reason: str) -> InputError:
        return InputError(_("row {number}, column {column}: {exc}")
                          .format(number=row, column=column_letters(column), exc=reason), file=self.src)

    def _header(self) -> tuple[list[str], int]:
        for number, row in self._rows:
            cells = [""] * max((c.column for c in row), default=0)
            for cell in row:
                if isinstance(cell.value, Formula):
                    raise self._cell_error(number, cell.column, _formula_refused())
                cells[cell.column - 1] = str(cell.value).strip() if cell.value is not None else ""
            if any(cells):
                while cells and not cells[-1]:
                    cells.pop()
                return cells, number
        raise InputError(_("the sheet is empty: no header row"), file=self.src)

    def _fields(self, mapping: Mapping[str, str] | None) -> list[str | None]:
        mapped = dict(mapping or {})
        return [mapped.get(h) or field_of(h) for h in self.header]

    @property
    def rows(self) -> Iterator[tuple[int, list[str]]]:
        width = len(self.header)
        fields = self.fields
        for number, row in self._rows:
            values = [""] * max(width, max((c.column for c in row), default=0))
            for cell in row:
                index = cell.column - 1
                try:
                    values[index] = cell_text(cell.value, cell.number_format, fields[index] if index < width else None)
                except ValueError as exc:
                    raise self._cell_error(number, cell.column, str(exc)) from None
            while len(values) > width and not values[-1]:
                values.pop()
            if not any(v.strip() for v in values):
                continue  # a blank row (Excel keeps formatted empty rows)
            if len(values) > width:
                raise InputError(_("row {number} has {count} cells but the header {width}: a value without a column heading")
                                 .format(number=number, count=len(values), width=width), file=self.src)
            yield number, values

    def close(self) -> None:
        self.book.close()
