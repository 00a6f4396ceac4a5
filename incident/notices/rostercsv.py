"""Reading a roster CSV strictly: its encoding, its delimiter, its header row and its rows of strings.

Accepted without being told: UTF-8 with or without a BOM (Excel's "CSV UTF-8"), UTF-16 with a BOM
(Excel's 「Unicode テキスト」, tab-separated) and Shift_JIS (cp932, Excel's "CSV"). Anything else needs
``--encoding NAME``. A file that decodes as cp932 but reads like another encoding decoded wrongly
(valid EUC-JP, Latin-1 names) is refused, naming ``--encoding``, rather than letters addressed in
mojibake. The parse is strict: a quoted field that spans lines (an unclosed quote swallows every row
after it) or a row whose number of fields differs from the header's is an error naming the line,
and nothing is imported. The data lines of the file are counted independently of the CSV parser so
that the import can compare what it read with what the file holds.

What the values must look like is `incident.notices.roster`'s business; which column gives which
field is `incident.notices.rostertable`'s.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import IO, Final

from incident.errors import InputError
from incident.i18n import N_, _

MAX_STRUCTURE_PROBLEMS: Final = 20
"""Structural problems (spanning quotes, wrong field counts) listed before the import gives up reading."""
_BLOCK = 1 << 20
_ENCODING_ADVICE = N_("save it from Excel as 'CSV UTF-8', or give its encoding with --encoding NAME "
                      "(e.g. --encoding euc_jp, --encoding latin-1)")  # fmt: skip


# -- encodings -------------------------------------------------------------------------------------------


def _blocks(src: Path) -> Iterator[bytes]:
    """The file in blocks of about 1 MiB that end at a line end (so no line is split between two)."""
    try:
        with open(src, "rb") as fh:
            rest = b""
            while block := fh.read(_BLOCK):
                block = rest + block
                cut = block.rfind(b"\n") + 1
                if cut == 0:
                    rest = block
                    continue
                rest = block[cut:]
                yield block[:cut]
            if rest:
                yield rest
    except OSError as exc:
        raise InputError(_("cannot read the file: {value}").format(value=exc.strerror or exc), file=src) from exc


def _decode_error(src: Path, encoding: str) -> str | None:
    """Where the whole file first fails to decode strictly as `encoding` (None when it decodes)."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    offset = line = 0
    for block in _blocks(src):
        try:
            decoder.decode(block)
        except UnicodeDecodeError as exc:
            line += block.count(b"\n", 0, exc.start)
            return f"byte 0x{block[exc.start]:02x} at offset {offset + exc.start} (line {line + 1})"
        offset += len(block)
        line += block.count(b"\n")
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return f"the file ends in the middle of a character (offset {offset})"
    return None


def _japanese_letters(text: str) -> int:
    return len(_JAPANESE.findall(text))


_JAPANESE = re.compile(r"[\u3041-\u3096\u30a1-\u30fa\u4e00-\u9fff]")
_HIRAGANA = re.compile(r"[\u3041-\u3096]")
_PRIVATE_USE = re.compile(r"[\ue000-\uf8ff]")
_HIGH_RUN = re.compile(rb"[\x80-\xff]+")
_LATIN_LETTERS = re.compile(rb"[\xc0-\xd6\xd8-\xf6\xf8-\xff]+")
_ASCII_LETTER = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


def cp932_lookalike(src: Path) -> str | None:
    """What a cp932-decodable file looks like instead, when it looks like mojibake: 'EUC-JP',
    'Latin-1 / Windows-1252' or 'another encoding'; None when it reads as Shift_JIS text.

    - any character of cp932's user-defined area (lead bytes 0xF0-0xF9) in the text: no roster uses them;
    - the bytes are also valid EUC-JP, and read as EUC-JP they give more kana and kanji than as cp932
      (EUC-JP Japanese read as cp932 is mostly half-width katakana: 「ｻｳﾅﾄﾂﾀﾏｺ」);
    - every run of non-ASCII bytes is Latin-1 letters (À-ÿ) inside a word of ASCII letters, and the cp932
      reading has no hiragana (「Fran輟ise」 for Françoise).
    """
    euc = codecs.getincrementaldecoder("euc_jp")(errors="strict")
    euc_valid = True
    ja_cp932 = ja_euc = latin_runs = hiragana = 0
    latin_only = True
    for block in _blocks(src):
        text = block.decode("cp932")  # the caller checked that it decodes
        if _PRIVATE_USE.search(text):
            return "another encoding"
        ja_cp932 += _japanese_letters(text)
        hiragana += len(_HIRAGANA.findall(text))
        if euc_valid:
            try:
                ja_euc += _japanese_letters(euc.decode(block))
            except UnicodeDecodeError:
                euc_valid = False
        if latin_only:
            for run in _HIGH_RUN.finditer(block):
                start, end = run.span()
                inside_word = (start > 0 and block[start - 1] in _ASCII_LETTER) or (
                    end < len(block) and block[end] in _ASCII_LETTER)
                if not (inside_word and _LATIN_LETTERS.fullmatch(run[0])):
                    latin_only = False
                    break
                latin_runs += 1
    if euc_valid and ja_euc > ja_cp932:
        return "EUC-JP"
    if latin_only and latin_runs and not hiragana:
        return "Latin-1 / Windows-1252"
    return None


def detect_encoding(src: Path, requested: str | None = None) -> str:
    """The encoding to read `src` with: `requested` (checked), else ``utf-16`` (BOM), ``utf-8-sig``
    (BOM), ``utf-8`` or ``cp932`` when the whole file decodes strictly; else InputError naming --encoding."""
    if requested:
        try:
            name = codecs.lookup(requested).name
        except LookupError:
            raise InputError(_("unknown encoding {requested!r} (e.g. utf-8, cp932, euc_jp, latin-1, utf-16)")
                             .format(requested=requested),
                             field="encoding") from None
        if name in ("utf-8", "utf-16") and _starts_with_bom(src):
            name = {"utf-8": "utf-8-sig", "utf-16": "utf-16"}[name]
        failure = _decode_error(src, name)
        if failure:
            raise InputError(_("not {requested} text (first bad {failure}); check --encoding")
                             .format(requested=requested, failure=failure), file=src)
        return name
    head = _head(src)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        failure = _decode_error(src, "utf-16")
        if failure:
            raise InputError(_("starts like UTF-16 but is not UTF-16 text (first bad {failure}); {advice}")
                             .format(failure=failure, advice=_(_ENCODING_ADVICE)), file=src)
        return "utf-16"
    if head.startswith(codecs.BOM_UTF8):
        failure = _decode_error(src, "utf-8-sig")
        if failure:
            raise InputError(_("starts like UTF-8 but is not UTF-8 text (first bad {failure}); {advice}")
                             .format(failure=failure, advice=_(_ENCODING_ADVICE)), file=src)
        return "utf-8-sig"
    utf8_failure = _decode_error(src, "utf-8")
    if utf8_failure is None:
        return "utf-8"
    if _decode_error(src, "cp932") is None:
        lookalike = cp932_lookalike(src)
        if lookalike is None:
            return "cp932"
        raise InputError(
            _("the file decodes as Shift_JIS (cp932) but reads like {lookalike} text decoded wrongly (the names would be printed as mojibake); give its encoding with --encoding NAME (e.g. --encoding euc_jp, --encoding latin-1), or --encoding cp932 if it really is Shift_JIS")
            .format(lookalike=lookalike),
            file=src,
        )
    raise InputError(_("neither UTF-8 nor Shift_JIS (cp932) text (first bad {failure}); {advice}")
                     .format(failure=utf8_failure, advice=_(_ENCODING_ADVICE)), file=src)


def _head(src: Path) -> bytes:
    try:
        with open(src, "rb") as fh:
            return fh.read(4)
    except OSError as exc:
        raise InputError(_("cannot read the file: {value}").format(value=exc.strerror or exc), file=src) from exc


def _starts_with_bom(src: Path) -> bool:
    return _head(src).startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))


# -- rows ------------------------------------------------------------------------------------------------


@dataclass
class CsvTable:
    """A roster CSV being read: its header and an iterator of its data rows with their line numbers.

    `rows` raises InputError, once they are all read, when the file's structure is broken (a quoted
    field spanning lines, a row with another number of fields than the header) or when the rows read
    do not match the file's data lines; an import that consumes `rows` before committing therefore
    commits nothing from a broken file.
    """

    src: Path
    encoding: str
    delimiter: str
    header: list[str]
    header_line: int
    rows: Iterator[tuple[int, list[str]]]
    data_lines: int = field(default=0)
    """Lines after the header with any content, counted by reading the text, not by the CSV parser
    (known once `rows` is exhausted)."""


class _Lines:
    """The text's physical lines, as csv.reader consumes them, counted; lines with content counted apart."""

    def __init__(self, lines: Iterator[str], delimiter: str) -> None:
        self._lines, self.delimiter = lines, delimiter
        self.number = 0
        self.content = 0

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.number += 1
        if _has_content(line, self.delimiter):
            self.content += 1
        return line


def _has_content(line: str, delimiter: str) -> bool:
    """Anything but quotes, delimiters and white space (the same test for a line and a parsed row)."""
    return bool(line.replace('"', "").replace(delimiter, "").strip())


def _blank(row: list[str], delimiter: str) -> bool:
    return not any(_has_content(cell, delimiter) for cell in row)


@contextmanager
def open_csv(src: Path, encoding: str | None = None) -> Iterator[CsvTable]:
    """Open a roster CSV: decode it (`detect_encoding`), find its delimiter and header row."""
    name = detect_encoding(src, encoding)
    try:
        fh: IO[str] = open(src, encoding="utf-8-sig" if name == "utf-8" else name, newline="")  # noqa: SIM115
    except OSError as exc:
        raise InputError(_("cannot read the file: {value}").format(value=exc.strerror or exc), file=src) from exc
    with fh:
        try:
            before: list[str] = []
            for line in fh:
                before.append(line)
                if line.strip():
                    break
        except UnicodeDecodeError as exc:
            raise InputError(_("not {name} text: {reason}; check --encoding")
                             .format(name=name, reason=exc.reason), file=src) from exc
        header_text = before[-1] if before else ""
        delimiter = "\t" if name == "utf-16" or ("\t" in header_text and "," not in header_text) else ","
        lines = _Lines(chain(before, fh), delimiter)
        reader = csv.reader(lines, delimiter=delimiter, strict=True)
        header, header_line = _read_header(reader, lines, src)
        table = CsvTable(src, name, delimiter, header, header_line, iter(()))
        table.rows = _rows(reader, lines, table)
        yield table


def _read_header(reader: Iterator[list[str]], lines: _Lines, src: Path) -> tuple[list[str], int]:
    """The first row with a non-blank cell, and its line."""
    try:
        for row in reader:
            if not _blank(row, lines.delimiter):
                if lines.content != 1 or any("\n" in c or "\r" in c for c in row):
                    raise InputError(_("the header row spans lines (a quoted heading with a line break, "
                                     "or an unclosed quote)"), file=src, line=lines.number)
                return row, lines.number
    except csv.Error as exc:
        raise InputError(_("not valid CSV: {exc}").format(exc=exc), file=src, line=lines.number) from exc
    except UnicodeDecodeError as exc:
        raise InputError(_("cannot be decoded: {reason}; check --encoding").format(reason=exc.reason), file=src) from exc
    raise InputError(_("the file is empty; expected a header row such as 氏名,メールアドレス,住所"), file=src)


def _rows(reader: Iterator[list[str]], lines: _Lines, table: CsvTable) -> Iterator[tuple[int, list[str]]]:
    """The data rows with the line each starts on; structural problems are collected, then raised."""
    width = len(table.header)
    src = table.src
    problems: list[str] = []
    yielded = 0
    start_content = lines.content
    try:
        while True:
            start = lines.number + 1
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                raise InputError(_("line {start}: not valid CSV: {exc} (nothing imported)")
                                 .format(start=start, exc=exc), file=src) from exc
            if _blank(row, table.delimiter):
                continue
            if lines.number > start:
                problems.append(_("line {start}: a quoted field spans lines {start}-{end}; is a closing quote "
                                  "(\") missing?").format(start=start, end=lines.number))
            elif len(row) != width:
                problems.append(_("line {start}: {count} fields, but the header (line {header_line}) has "
                                  "{width}; is a comma or a quote missing or extra?").format(
                    start=start, count=len(row), header_line=table.header_line, width=width))
            if problems:
                if len(problems) >= MAX_STRUCTURE_PROBLEMS:
                    break
                continue
            yielded += 1
            yield start, row
    except UnicodeDecodeError as exc:
        raise InputError(_("line {value}: cannot be decoded as {encoding}: {reason}; check --encoding (nothing imported)")
                         .format(value=lines.number + 1, encoding=table.encoding, reason=exc.reason), file=src) from exc
    if problems:
        more = _(" (and possibly more)") if len(problems) >= MAX_STRUCTURE_PROBLEMS else ""
        raise InputError(_("{problems}{more} (the file's structure is broken: nothing imported; --skip-invalid "
                           "does not skip these)").format(problems="; ".join(problems), more=more), file=src)
    table.data_lines = lines.content - start_content
    if yielded != table.data_lines:
        raise InputError(_("read {yielded} rows but the file has {data_lines} data lines after the header; nothing imported")
                         .format(yielded=yielded, data_lines=table.data_lines), file=src)
