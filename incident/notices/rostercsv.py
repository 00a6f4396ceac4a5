"""Reading the roster CSV a spreadsheet saved: its encoding, its header row, which column gives which field.

Excel saves "CSV UTF-8" (with a BOM) or "CSV" (Shift_JIS, cp932); headers come in Japanese or English
spellings (HEADER_ALIASES), and `--map COLUMN=field` names the rest. What a row's values must look like is
`incident.notices.roster`'s business.
"""

from __future__ import annotations

import codecs
import csv
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from types import MappingProxyType
from typing import Final

from incident.errors import InputError

FIELDS: Final = ("name", "kana", "address", "postal_code", "email", "phone")
"""The roster fields the toolkit understands; any other column is kept as an extra."""

HEADER_ALIASES: Final[Mapping[str, str]] = MappingProxyType({
    "氏名": "name", "名前": "name", "name": "name", "fullname": "name",
    "フリガナ": "kana", "ふりがな": "kana", "kana": "kana", "furigana": "kana",
    "住所": "address", "address": "address",
    "郵便番号": "postal_code", "〒": "postal_code", "postalcode": "postal_code", "postcode": "postal_code",
    "zipcode": "postal_code", "zip": "postal_code",
    "メールアドレス": "email", "メール": "email", "email": "email", "emailaddress": "email",
    "電話番号": "phone", "電話": "phone", "phone": "phone", "phonenumber": "phone", "tel": "phone",
})  # fmt: skip
"""Header spellings (NFKC, case-folded, without spaces, '-' and '_') and the field each one gives."""


@dataclass(frozen=True)
class Layout:
    """Where each field is in a row: how wide the header is, the FIELDS, the extra columns."""

    width: int
    pick: Callable[[list[str]], tuple[str, str, str, str, str, str]]
    """The FIELDS of a row's cells, in FIELDS order (an absent field reads cell `width`, always '')."""
    extras: tuple[tuple[int, str], ...]
    columns: tuple[str, ...]


def detect_encoding(src: Path) -> str:
    """``utf-8-sig`` / ``utf-8`` when the whole file decodes strictly as UTF-8, else ``cp932``, else InputError."""
    failure = ""
    for encoding in ("utf-8-sig", "cp932"):
        decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
        offset = 0
        try:
            with open(src, "rb") as fh:
                if encoding == "utf-8-sig" and fh.read(3) != codecs.BOM_UTF8:
                    encoding = "utf-8"
                fh.seek(0)
                while block := fh.read(1 << 20):
                    decoder.decode(block)
                    offset += len(block)
                decoder.decode(b"", final=True)
            return encoding
        except UnicodeDecodeError as exc:
            failure = failure or f"byte 0x{exc.object[exc.start]:02x} at offset {offset + exc.start}"
        except OSError as exc:
            raise InputError(f"cannot read the file: {exc.strerror or exc}", file=src) from exc
    raise InputError(
        f"neither UTF-8 nor Shift_JIS (cp932) text (first bad {failure}); "
        "save it from Excel as 'CSV UTF-8' or 'CSV'",
        file=src,
    )


def read_header(reader: Iterator[list[str]], src: Path) -> list[str]:
    """The first row with a non-blank cell."""
    try:
        for row in reader:
            if any(cell.strip() for cell in row):
                return row
    except csv.Error as exc:
        raise InputError(f"not valid CSV: {exc}", file=src) from exc
    raise InputError("the file is empty; expected a header row such as 氏名,メールアドレス,住所", file=src)


def _header_key(text: str) -> str:
    return re.sub(r"[\s_\-]", "", unicodedata.normalize("NFKC", text).strip().casefold())


def column_layout(header: list[str], header_line: int, mapping: Mapping[str, str] | None, src: Path) -> Layout:
    """Which column gives which field: `mapping` (--map) first, then HEADER_ALIASES; the rest are extras."""
    names = [unicodedata.normalize("NFKC", h).strip() or f"column{i + 1}" for i, h in enumerate(header)]
    explicit: dict[str, str] = {}
    for column, wanted in (mapping or {}).items():
        column_name = unicodedata.normalize("NFKC", column).strip()
        if wanted not in FIELDS:
            raise InputError(f"--map {column}={wanted}: unknown field '{wanted}'; valid: {', '.join(FIELDS)}")
        if column_name not in names:
            raise InputError(f"--map {column}={wanted}: no column '{column}' in the header", file=src)
        if wanted in explicit.values():
            raise InputError(f"--map gives {wanted} twice; map one column to each field")
        explicit[column_name] = wanted
    known: dict[str, tuple[int, str]] = {}
    extras: list[tuple[int, str]] = []
    columns: list[str] = []
    for index, name in enumerate(names):
        target: str | None = explicit.get(name)
        if target is None:
            target = HEADER_ALIASES.get(_header_key(name))
            if target in explicit.values():
                target = None  # an explicit --map for this field wins over a recognized header
        if target is None:
            if name in (h for _, h in extras):
                raise InputError(f"column '{name}' appears twice in the header", file=src, line=header_line)
            extras.append((index, name))
            columns.append(name)
        elif target in known:
            raise InputError(
                f"columns '{known[target][1]}' and '{name}' both give {target}; choose one with --map",
                file=src,
            )
        else:
            known[target] = (index, name)
            columns.append(target)
    if not {"name", "email", "address"} & known.keys():
        raise InputError(
            f"no column for name, email or address (columns: {', '.join(names)}); "
            "name one with --map COLUMN=name",
            file=src,
        )
    return Layout(
        width=len(names),
        pick=itemgetter(*(known[f][0] if f in known else len(names) for f in FIELDS)),
        extras=tuple(extras),
        columns=tuple(columns),
    )


def data_rows(reader: Iterator[list[str]], src: Path) -> Iterator[tuple[int, list[str]]]:
    """The rows after the header that have a non-blank cell, each with the line it starts on."""
    line_num = reader.line_num  # type: ignore[attr-defined]
    try:
        for row in reader:
            start, line_num = line_num + 1, reader.line_num  # type: ignore[attr-defined]
            if any(cell.strip() for cell in row):
                yield start, row
    except csv.Error as exc:
        raise InputError(f"row {line_num + 1}: not valid CSV: {exc}", file=src) from exc
