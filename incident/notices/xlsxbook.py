"""An Excel workbook (.xlsx, .xlsm) read as a stream: its sheets in the workbook's order, and the rows
of one sheet as typed values, in memory that stays flat whatever the number of rows or of distinct
texts.

The package is read with `zipfile` and `xml.etree.ElementTree.iterparse`, each element dropped once
read: the workbook part found from the package's relationships, the sheets in workbook.xml's order
(their parts through workbook.xml.rels, not their file names), the number format of each cell style
(xl/styles.xml), the 1900 or 1904 date system, and the shared strings (`incident.notices.xlsxstrings`,
kept encrypted on disk, not in memory). Cell values are what openpyxl's reader gives (numbers, dates
of date-formatted numbers, booleans, texts), without importing openpyxl (`incident.notices.xlsxformats`
has Excel's number formats and dates).
"""

from __future__ import annotations

import posixpath
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import IO, Final, Self
from xml.parsers import expat

from incident.errors import InputError
from incident.i18n import _
from incident.notices.xlsxformats import format_code, from_iso, from_serial, is_date, is_duration
from incident.notices.xlsxstrings import SharedStrings, TextItem, local, stream

Value = str | int | float | bool | datetime | date | time | timedelta | None

_REL: Final = "http://schemas.openxmlformats.org/package/2006/relationships"


class Formula:
    """A cell that holds a formula: refused by the roster (its value is whatever Excel last cached)."""


FORMULA: Final = Formula()


@dataclass(frozen=True)
class Cell:
    """One cell of a row: its column (1 for A), its value and its number format."""

    column: int
    value: Value | Formula
    number_format: str


@dataclass(frozen=True)
class Sheet:
    """A sheet as the workbook lists it."""

    title: str
    part: str
    """Its part in the package (``xl/worksheets/sheet1.xml``), from the relationships."""
    kind: str
    """The relationship's type, last word: ``worksheet``, ``chartsheet``, ..."""


def column_letters(column: int) -> str:
    """1 -> A, 27 -> AA."""
    letters = ""
    while column > 0:
        column, rest = divmod(column - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _column_of(ref: str) -> int:
    number = 0
    for char in ref:
        if "A" <= char <= "Z":
            number = number * 26 + ord(char) - 64
        else:
            break
    return number


def _number(text: str) -> int | float:
    return float(text) if "." in text or "E" in text or "e" in text else int(text)


class Workbook:
    """An open workbook; `close` (or ``with``) ends the reading and removes its temporary file."""

    def __init__(self, src: Path) -> None:
        self.src = src
        try:
            self._zip = zipfile.ZipFile(src)
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise self._unreadable(exc) from None
        self._strings: SharedStrings | None = None
        try:
            self._read_workbook()
        except BaseException:
            self.close()
            raise

    def _unreadable(self, exc: BaseException) -> InputError:
        return InputError(_("not a readable Excel workbook (.xlsx): {exc}").format(exc=exc), file=self.src)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._strings is not None:
            self._strings.close()
            self._strings = None
        self._zip.close()

    # -- the package --------------------------------------------------------------------------------------

    def _open(self, part: str) -> IO[bytes]:
        return self._zip.open(part.lstrip("/"))

    def _xml(self, part: str) -> ET.Element:
        with self._open(part) as fh:
            return ET.parse(fh).getroot()

    def _relationships(self, part: str) -> dict[str, tuple[str, str]]:
        """Id -> (type's last word, target part) of the relationships of `part`."""
        folder, name = posixpath.split(part)
        rels = posixpath.join(folder, "_rels", name + ".rels")
        if rels not in self._zip.NameToInfo:
            return {}
        found = {}
        for rel in self._xml(rels):
            target = rel.get("Target", "")
            if rel.get("TargetMode") == "External" or not target:
                continue
            target = target[1:] if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))
            found[rel.get("Id", "")] = (rel.get("Type", "").rpartition("/")[2], target)
        return found

    def _read_workbook(self) -> None:
        try:
            office = [t for kind, t in self._relationships("").values() if kind == "officeDocument"]
            part = office[0] if office else "xl/workbook.xml"
            book = self._xml(part)
            rels = self._relationships(part)
            self.sheets: list[Sheet] = []
            self._date1904 = False
            for element in book.iter():
                name = local(element.tag)
                if name == "workbookPr":
                    self._date1904 = element.get("date1904", "").lower() in ("1", "true")
                elif name == "sheet":
                    rid = next((v for k, v in element.attrib.items() if k.startswith("{") and local(k) == "id"), "")
                    kind, target = rels.get(rid, ("", ""))
                    self.sheets.append(Sheet(element.get("name", ""), target, kind))
            self._styles(next((t for kind, t in rels.values() if kind == "styles"), None))
            shared = next((t for kind, t in rels.values() if kind == "sharedStrings"), None)
            if shared is not None and shared in self._zip.NameToInfo:
                with self._open(shared) as fh:
                    self._strings = SharedStrings(fh)
        except (KeyError, ET.ParseError, ValueError, zipfile.BadZipFile, OSError, EOFError) as exc:
            raise self._unreadable(exc) from None
        if not self.sheets:
            raise self._unreadable(ValueError("no sheets"))

    def _styles(self, part: str | None) -> None:
        """The number format of each cell style, and which styles make a number a date or a duration."""
        self._formats: list[str] = []
        self._dates: set[int] = set()
        self._durations: set[int] = set()
        if part is None or part not in self._zip.NameToInfo:
            return
        custom: dict[int, str] = {}
        xfs: list[int] = []
        for element in self._xml(part):
            if local(element.tag) == "numFmts":
                custom.update((int(n.get("numFmtId", "0")), n.get("formatCode", "")) for n in element)
            elif local(element.tag) == "cellXfs":
                xfs = [int(xf.get("numFmtId", "0")) for xf in element]
        self._formats = [format_code(i, custom) for i in xfs]
        self._dates = {i for i, f in enumerate(self._formats) if is_date(f)}
        self._durations = {i for i, f in enumerate(self._formats) if is_duration(f)}

    # -- rows ---------------------------------------------------------------------------------------------

    def rows(self, sheet: Sheet) -> Iterator[tuple[int, list[Cell]]]:
        """The rows of `sheet` that have cells, with their row numbers, read a chunk of the part at a
        time (expat events, no tree); CellError names a cell whose value cannot be read."""
        if sheet.kind != "worksheet" or sheet.part not in self._zip.NameToInfo:
            raise InputError(_("the sheet {sheet!r} is not a table of cells (a chart?)").format(sheet=sheet.title),
                             file=self.src, field="--sheet")
        reader = _SheetReader(self)
        try:
            with self._open(sheet.part) as fh:
                for _unused in stream(fh, reader.parser):
                    yield from reader.done
                    reader.done.clear()
        except CellError:
            raise
        except (expat.ExpatError, ValueError, zipfile.BadZipFile, OSError, EOFError) as exc:
            raise self._unreadable(exc) from None  # a row or style number that is not a number, ...

    def value(self, kind: str, text: str | None, style: int) -> Value:
        """A cell's value from its type (``t``), the text of its ``<v>`` and its style."""
        if not text:
            return None
        if kind == "n":
            value = _number(text)
            if style in self._dates:
                return from_serial(value, date1904=self._date1904, duration=style in self._durations)
            return value
        if kind == "s":
            if self._strings is None:
                raise ValueError(_("a shared string, but the workbook has no table of them"))
            return self._strings[int(text)]
        if kind == "b":
            return bool(int(text))
        if kind == "d":
            return from_iso(text)
        return text  # "str" (a formula's text), "e" (an error such as #N/A)

    def number_format(self, style: int) -> str:
        return self._formats[style] if style < len(self._formats) else "General"

    @property
    def strings(self) -> SharedStrings | None:
        """The shared strings (None when the workbook has none)."""
        return self._strings


class _SheetReader:
    """Turns expat's events for a worksheet part into rows of cells (`done`, emptied by the caller)."""

    def __init__(self, book: Workbook) -> None:
        self.book = book
        self.done: list[tuple[int, list[Cell]]] = []
        self.parser = expat.ParserCreate()
        self.parser.buffer_text = True
        self.parser.StartElementHandler = self._start
        self.parser.EndElementHandler = self._end
        self.parser.CharacterDataHandler = self._data
        self._number = 0
        self._column = 0
        self._cells: list[Cell] = []
        self._attrs: dict[str, str] = {}
        self._formula = False
        self._value: list[str] | None = None  # collecting the text of <v>
        self._text: str | None = None  # the text of <v>
        self._inline: TextItem | None = None  # inside <is>

    def _start(self, name: str, attrs: dict[str, str]) -> None:
        name = name.rpartition(":")[2]
        if self._inline is not None:
            self._inline.start(name)
        elif name == "c":
            self._attrs = attrs
            self._formula = False
            self._value = self._text = None
            ref = attrs.get("r")
            self._column = _column_of(ref) if ref else self._column + 1
        elif name == "v":
            self._value = []
        elif name == "f":
            self._formula = True
        elif name == "is":
            self._inline = TextItem()
        elif name == "row":
            r = attrs.get("r")
            self._number = int(r) if r else self._number + 1
            self._column = 0
            self._cells = []

    def _end(self, name: str) -> None:
        name = name.rpartition(":")[2]
        if self._inline is not None and name not in ("is", "c"):
            self._inline.end(name)
        elif name == "c":
            self._cell()
        elif name == "row":
            if self._cells:
                self.done.append((self._number, self._cells))
        elif name == "v" and self._value is not None:
            self._text = "".join(self._value)
            self._value = None

    def _data(self, text: str) -> None:
        if self._value is not None:
            self._value.append(text)
        elif self._inline is not None and self._inline.collecting:
            self._inline.parts.append(text)

    def _cell(self) -> None:
        attrs = self._attrs
        style = int(attrs.get("s") or 0)
        kind = attrs.get("t", "n")
        value: Value | Formula
        try:
            if self._formula:
                value = FORMULA
            elif kind == "inlineStr":
                value = self._inline.take() if self._inline is not None else None
            else:
                value = self.book.value(kind, self._text, style)
        except (ValueError, IndexError, OverflowError) as exc:
            raise CellError(self._number, self._column, str(exc)) from None
        finally:
            self._inline = None
        self._cells.append(Cell(self._column, value, self.book.number_format(style)))


class CellError(ValueError):
    """A cell whose value cannot be read (`row`, `column` 1 for A)."""

    def __init__(self, row: int, column: int, reason: str) -> None:
        super().__init__(reason)
        self.row = row
        self.column = column
