"""A roster's header row, whatever file it came from: which column gives which field.

Spreadsheets label their columns in many ways (氏名, お名前, Name; 住所, ご住所; E-mail, 電子メール,
携帯メール …): `HEADER_ALIASES` knows the common spellings, and `--map COLUMN=field` names the rest.
A roster must have a name column and an address or an e-mail column; anything else is refused with
the columns found, never guessed. The file formats (`incident.notices.rostercsv`, a spreadsheet reader)
give the header as a list of strings; `incident.notices.roster` validates the rows.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from types import MappingProxyType
from typing import Final

from incident.errors import InputError
from incident.i18n import _
from incident.text import normalize

FIELDS: Final = ("name", "kana", "address", "postal_code", "email", "phone")
"""The roster fields the toolkit understands; any other column is kept as an extra."""

_ALIASES: Final[dict[str, tuple[str, ...]]] = {
    "name": ("氏名", "名前", "氏名(漢字)", "名前(漢字)", "姓名", "宛名", "お客様名", "顧客名", "会員名",
             "本人氏名", "name", "fullname", "氏名name"),
    "kana": ("フリガナ", "ふりがな", "カナ", "かな", "氏名カナ", "氏名(カナ)", "氏名(フリガナ)", "名前(カナ)",
             "名前(フリガナ)", "カナ氏名", "セイメイ", "kana", "furigana"),
    "address": ("住所", "現住所", "所在地", "送付先住所", "宛先住所", "住所1", "address", "address1",
                "streetaddress", "mailingaddress"),
    "postal_code": ("郵便番号", "〒", "〒番号", "postalcode", "postcode", "zipcode", "zip"),
    "email": ("メールアドレス", "メール", "eメール", "eメールアドレス", "電子メール", "電子メールアドレス",
              "携帯メール", "携帯メールアドレス", "pcメール", "pcメールアドレス", "email", "mail",
              "emailaddress", "mailaddress"),
    "phone": ("電話番号", "電話", "携帯", "携帯電話", "携帯番号", "携帯電話番号", "連絡先電話番号", "tel",
              "phone", "phonenumber", "telephone", "mobile", "mobilephone"),
}  # fmt: skip

HEADER_ALIASES: Final[Mapping[str, str]] = MappingProxyType(
    {spelling: field for field, spellings in _ALIASES.items() for spelling in spellings}
)
"""Header spellings (see `header_key`) and the field each one gives. An honorific お/ご/御 before a
known spelling is recognised too (お名前, ご住所, お電話番号)."""

MAX_COLUMNS: Final = 200
"""A header wider than this is not a roster (a binary file read as text, a transposed sheet)."""


def header_key(text: str) -> str:
    """How a header cell is looked up: normalized, case-folded, without spaces, hyphens (any dash), '_', '・',
    ':' and '*'."""
    return re.sub(r"[\s_\-・:*]", "", normalize(text).strip().casefold())


def field_of(header: str) -> str | None:
    """The field a header cell gives by its spelling, or None."""
    key = header_key(header)
    found = HEADER_ALIASES.get(key)
    if found is None and key[:1] in ("お", "ご", "御"):
        found = HEADER_ALIASES.get(key[1:])
    return found


@dataclass(frozen=True)
class Layout:
    """Where each field is in a row: how wide the header is, the FIELDS, the extra columns."""

    width: int
    pick: Callable[[list[str]], tuple[str, str, str, str, str, str]]
    """The FIELDS of a row's cells, in FIELDS order (an absent field reads cell `width`, always '')."""
    extras: tuple[tuple[int, str], ...]
    columns: tuple[str, ...]
    """Known fields by their field name, extra columns by their header, in file order."""


def column_layout(
    header: list[str], header_line: int, mapping: Mapping[str, str] | None, src: Path
) -> Layout:
    """Which column gives which field: `mapping` (--map) first, then HEADER_ALIASES; the rest are extras.

    InputError when a mapping is wrong, a column appears twice, two columns give one field, or the
    roster has no name column or neither an address nor an e-mail column.
    """
    if len(header) > MAX_COLUMNS:
        raise InputError(_("the header has {count} columns (at most {max_columns}); is this a roster?")
                         .format(count=len(header), max_columns=MAX_COLUMNS),
                         file=src, line=header_line)
    names = [h.strip() or f"column{i + 1}" for i, h in enumerate(header)]
    explicit = _explicit(mapping, names, src)
    known: dict[str, tuple[int, str]] = {}
    extras: list[tuple[int, str]] = []
    columns: list[str] = []
    for index, name in enumerate(names):
        target: str | None = explicit.get(name)
        if target is None:
            target = field_of(name)
            if target in explicit.values():
                target = None  # an explicit --map for this field wins over a recognized header
        if target is None:
            if name in (h for _unused, h in extras):
                raise InputError(_("column '{name}' appears twice in the header").format(name=name), file=src, line=header_line)
            extras.append((index, name))
            columns.append(name)
        elif target in known:
            raise InputError(
                _("columns '{value}' and '{name}' both give {target}; choose one with --map")
                .format(value=known[target][1], name=name, target=target),
                file=src,
            )
        else:
            known[target] = (index, name)
            columns.append(target)
    _require_fields(known.keys(), names, src)
    return Layout(
        width=len(names),
        pick=itemgetter(*(known[f][0] if f in known else len(names) for f in FIELDS)),
        extras=tuple(extras),
        columns=tuple(columns),
    )


def _explicit(mapping: Mapping[str, str] | None, names: list[str], src: Path) -> dict[str, str]:
    explicit: dict[str, str] = {}
    for column, wanted in (mapping or {}).items():
        column_name = column.strip()
        if column_name not in names:  # also accept the NFKC spelling of a full-width header
            column_name = next((n for n in names if header_key(n) == header_key(column)), column_name)
        if wanted not in FIELDS:
            raise InputError(_("--map {column}={wanted}: unknown field '{wanted}'; valid: {join}")
                             .format(column=column, wanted=wanted, join=', '.join(FIELDS)))
        if column_name not in names:
            raise InputError(_("--map {column}={wanted}: no column '{column}' in the header")
                             .format(column=column, wanted=wanted), file=src)
        if wanted in explicit.values():
            raise InputError(_("--map gives {wanted} twice; map one column to each field")
                             .format(wanted=wanted))
        explicit[column_name] = wanted
    return explicit


def _require_fields(fields: Collection[str], names: list[str], src: Path) -> None:
    missing = []
    if "name" not in fields:
        missing.append(_("no name column (氏名)"))
    if "address" not in fields and "email" not in fields:
        missing.append(_("neither an address (住所) nor an e-mail (メールアドレス) column"))
    if missing:
        raise InputError(
            _("{join} among the columns {join2}; name them with --map COLUMN=name,COLUMN=address (or =email)")
            .format(join=_(" and ").join(missing), join2=', '.join(names)),
            file=src,
        )
