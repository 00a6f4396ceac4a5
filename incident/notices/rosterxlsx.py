"""A roster in an Excel workbook (.xlsx, .xlsm): its header and rows, read with openpyxl in read-only mode
(streaming: memory stays bounded whatever the number of rows), then validated as any roster
(`incident.notices.roster.import_rows`).

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
from typing import Any, Final

from incident.errors import InputError
from incident.i18n import _

XLSX_SUFFIXES: Final = (".xlsx", ".xlsm")
_ZEROS: Final = re.compile(r"0+")


def sheet_names(src: Path) -> list[str]:
    return list(_open(src).sheetnames)


def _open(src: Path) -> Any:
    from zipfile import BadZipFile

    from openpyxl import load_workbook

    try:
        return load_workbook(src, read_only=True, data_only=False)
    except (BadZipFile, KeyError, OSError, ValueError) as exc:
        raise InputError(_("not a readable Excel workbook (.xlsx): {exc}").format(exc=exc), file=src) from None


def cell_text(cell: Any, field: str | None) -> str:
    """A cell as the roster keeps it: text as written; numbers as the sheet shows them, leading zeros of
    postal codes and telephone numbers put back; dates as ISO dates."""
    value = cell.value
    if value is None:
        return ""
    if isinstance(value, str):
        if value.startswith("=") and getattr(cell, "data_type", "") == "f":
            raise ValueError(_("a formula, not a value"))
        return value
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
    number_format = str(getattr(cell, "number_format", "") or "")
    if _ZEROS.fullmatch(number_format):
        text = text.zfill(len(number_format))
    if field == "postal_code" and len(text) < 7:
        text = text.zfill(7)
    elif field == "phone" and not text.startswith("0") and 9 <= len(text) <= 10:
        text = "0" + text
    return text


class XlsxTable:
    """The header and the data rows (with their row numbers) of one sheet."""

    def __init__(self, src: Path, sheet: str | None, mapping: Mapping[str, str] | None) -> None:
        self.src = src
        self.book = _open(src)
        names = list(self.book.sheetnames)
        if sheet is None:
            self.sheet = self.book[names[0]]
        elif sheet in names:
            self.sheet = self.book[sheet]
        else:
            raise InputError(_("no sheet {sheet!r}; the workbook has: {join}")
                             .format(sheet=sheet, join=', '.join(names)), file=src, field="--sheet")
        self._rows = self.sheet.iter_rows()
        self.header, self.header_line = self._header()
        self.fields = self._fields(mapping)

    def _header(self) -> tuple[list[str], int]:
        for row in self._rows:
            cells = [str(c.value).strip() if c.value is not None else "" for c in row]
            if any(cells):
                while cells and not cells[-1]:
                    cells.pop()
                return cells, int(row[0].row) if row and hasattr(row[0], "row") else 1
        raise InputError(_("the sheet is empty: no header row"), file=self.src)

    def _fields(self, mapping: Mapping[str, str] | None) -> list[str | None]:
        from incident.notices.rostertable import field_of

        mapped = dict(mapping or {})
        return [mapped.get(h) or field_of(h) for h in self.header]

    @property
    def rows(self) -> Iterator[tuple[int, list[str]]]:
        width = len(self.header)
        for row in self._rows:
            cells = list(row)
            number = next((int(c.row) for c in cells if getattr(c, "row", None)), 0)
            try:
                values = [cell_text(c, self.fields[i] if i < width else None) for i, c in enumerate(cells)]
            except ValueError as exc:
                raise InputError(_("row {number}: {exc}; save the sheet with values (コピーして値の貼り付け)")
                                 .format(number=number, exc=exc),
                                 file=self.src) from None
            while len(values) > width and not values[-1]:
                values.pop()
            if not any(v.strip() for v in values):
                continue  # a blank row (Excel keeps formatted empty rows)
            if len(values) > width:
                raise InputError(_("row {number} has {count} cells but the header {width}: a value without a column heading")
                                 .format(number=number, count=len(values), width=width), file=self.src)
            yield number, values + [""] * (width - len(values))

    def close(self) -> None:
        self.book.close()
