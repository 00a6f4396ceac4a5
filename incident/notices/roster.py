"""The affected-person roster (本人一覧): CSV import and row validation, streaming reads, a masked sample.

The import is format-independent (`import_rows`: a header and rows of strings with their line numbers);
around it: `incident.notices.rostercsv` reads a CSV strictly (encoding, structure), `incident.notices.rostertable`
maps the header to fields, `incident.notices.rosterfile` is the
encrypted file format (AES-256-GCM), `incident.notices.masking` masks people for display.
Import and reading both stream: memory depends on the chunk size, not the roster size, except for
duplicate detection, which keeps one 8-byte keyed digest per person in a compact table.
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

from incident.errors import InputError
from incident.i18n import N_, _
from incident.notices.emailaddr import email_problem
from incident.notices.masking import mask_person
from incident.notices.rostercsv import open_csv
from incident.notices.rosterfile import RosterWriter, check_key, read_rows
from incident.notices.rostertable import Layout, column_layout
from incident.text import normalize

MAX_LISTED: Final = 1000
"""At most this many skipped-row problems and duplicates are kept in an ImportResult (the counts are exact)."""
MAX_IN_MESSAGE: Final = 20


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_CONTROL_MULTILINE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")
_POSTAL = re.compile(r"〒?\s*([0-9]{3})-?([0-9]{4})")
MAX_CELL: Final = 1000
"""Characters in one cell, at most: longer is a broken file (a runaway quote), not a name or an address."""


@dataclass(frozen=True)
class Person:
    """One affected person, as imported ('' where the file had nothing).

    Name, kana, address and extra columns are kept as the file wrote them (edge white space removed):
    a letter prints what the person's address says. The e-mail address is kept in the form it is sent
    to (NFKC: full-width letters made ASCII), the postal code as NNN-NNNN, the phone with ASCII hyphens.
    Matching (duplicates) compares NFKC forms.
    """

    key: str
    """Stable identifier in file order (``p000001``), used in notices, journals and file names."""
    name: str
    kana: str
    address: str
    postal_code: str
    email: str
    phone: str
    extra: Mapping[str, str]
    """Columns the toolkit does not know, under their header."""
    line: int
    """Line of the row in the imported file."""


@dataclass(frozen=True)
class RowProblem:
    """Why a row is invalid; `line` is its line number in the file. `reason` is in English (what JSON gives),
    `shown` in the run's language (what the officer reads; `reason` when not given)."""

    line: int
    reason: str
    shown: str = field(default="", compare=False)

    def __str__(self) -> str:
        return _("row {line}: {reason}").format(line=self.line, reason=self.shown or self.reason)

    def english(self) -> str:
        return f"row {self.line}: {self.reason}"


def _problem(line: int, message: str, english: Mapping[str, object] | None = None, **values: object) -> RowProblem:
    """A row problem from a message marked with N_(): in English with `english` over `values`, and
    translated with `values`."""
    return RowProblem(line, message.format(**{**values, **(english or {})}), _(message).format(**values))


@dataclass(frozen=True)
class Duplicate:
    """A person who looks like an earlier one (reported, still imported)."""

    line: int
    key: str
    first_key: str
    reason: str

    def __str__(self) -> str:
        return _("row {line} ({key}): {reason} as {first_key}").format(
            line=self.line, key=self.key, reason=_(self.reason), first_key=self.first_key)

    def english(self) -> str:
        return f"row {self.line} ({self.key}): {self.reason} as {self.first_key}"


@dataclass(frozen=True)
class ImportResult:
    """What an import wrote; the lists keep at most MAX_LISTED entries, the counts are exact."""

    count: int
    columns: tuple[str, ...]
    """Known fields by their field name, extra columns by their header, in file order."""
    encoding: str
    """How the file was read: ``utf-8``, ``utf-8-sig`` (with BOM), ``utf-16``, ``cp932``, ``--encoding``'s
    codec, or the spreadsheet format."""
    skipped: tuple[RowProblem, ...] = ()
    skipped_rows: int = 0
    duplicates: tuple[Duplicate, ...] = ()
    duplicate_count: int = 0
    data_lines: int = 0
    """Data rows the file holds (for a CSV: lines after the header with content, counted apart from the
    parser); always `count` + `skipped_rows` after a successful import."""


class RosterRowsError(InputError):
    """Rows of an import were invalid; nothing was imported. `problems` keeps the first MAX_LISTED."""

    def __init__(self, message: str, *, file: Path, problems: tuple[RowProblem, ...], total: int) -> None:
        super().__init__(message, file=file)
        self.problems = problems
        self.total = total


# -- import ------------------------------------------------------------------------------------------------


def import_csv(
    src: Path,
    dest: Path,
    key: bytes,
    *,
    encoding: str | None = None,
    mapping: Mapping[str, str] | None = None,
    skip_invalid: bool = False,
    imported_at: datetime | None = None,
) -> ImportResult:
    """Import the CSV `src` into the encrypted roster `dest`, replacing it only when the import succeeds.

    `encoding`: the file's encoding when it is not one `incident.notices.rostercsv` recognises. The
    file's structure is checked strictly (see there); then as `import_rows`.
    """
    check_key(key)
    with open_csv(src, encoding) as table:
        result = import_rows(table.header, table.rows, dest, key, source=src, header_line=table.header_line,
                             encoding=table.encoding, mapping=mapping, skip_invalid=skip_invalid,
                             imported_at=imported_at, data_lines=lambda: table.data_lines)
    return result


def import_xlsx(
    src: Path,
    dest: Path,
    key: bytes,
    *,
    sheet: str | None = None,
    mapping: Mapping[str, str] | None = None,
    skip_invalid: bool = False,
    imported_at: datetime | None = None,
) -> ImportResult:
    """Import a sheet of the workbook `src` (the first, or `sheet`) as `import_rows` does."""
    from incident.notices.rosterxlsx import XlsxTable

    check_key(key)
    table = XlsxTable(src, sheet, mapping)
    try:
        return import_rows(table.header, table.rows, dest, key, source=src, header_line=table.header_line,
                           encoding=f"xlsx: {table.sheet.title}", mapping=mapping, skip_invalid=skip_invalid,
                           imported_at=imported_at)
    finally:
        table.close()


def import_rows(
    header: list[str],
    rows: Iterable[tuple[int, list[str]]],
    dest: Path,
    key: bytes,
    *,
    source: Path,
    header_line: int = 1,
    encoding: str = "",
    mapping: Mapping[str, str] | None = None,
    skip_invalid: bool = False,
    imported_at: datetime | None = None,
    data_lines: Callable[[], int] | None = None,
) -> ImportResult:
    """Import a roster given as its header and its data rows (each with its line or row number in
    `source`) into the encrypted roster `dest`, replacing it only when the import succeeds.

    Any file format feeds this: a CSV (`import_csv`), a spreadsheet. Raises RosterRowsError listing
    every bad row when any row is invalid, unless `skip_invalid`, in which case bad rows are left out
    and listed in the result. An exception raised by `rows` (a broken file) imports nothing.
    `data_lines`, called once `rows` is exhausted, is how many data rows the source holds by its own
    count; the import is refused when it differs from the rows read.
    """
    check_key(key)
    layout = column_layout(header, header_line, mapping, source)
    problems: list[RowProblem] = []
    problem_total = bad_rows = read = 0
    duplicates: list[Duplicate] = []
    duplicate_total = 0
    seen = _DigestTable()
    count = 0
    with RosterWriter(dest, key, tuple(h for _unused, h in layout.extras)) as writer:
        for line, row in rows:
            read += 1
            record, row_problems = _parse_row(row, layout, line)
            if row_problems:
                bad_rows += 1
                problem_total += len(row_problems)
                problems.extend(row_problems[: max(0, MAX_LISTED - len(problems))])
                continue
            if problem_total and not skip_invalid:
                continue  # nothing will be imported: keep validating, stop writing
            count += 1
            person_key = f"p{count:06d}"
            dup = _duplicate_of(seen, record, count)
            if dup is not None:
                duplicate_total += 1
                if len(duplicates) < MAX_LISTED:
                    duplicates.append(Duplicate(line, person_key, f"p{dup[0]:06d}", dup[1]))
            writer.add(person_key, line, record)
        expected = data_lines() if data_lines is not None else read
        if expected != read:
            raise InputError(_("read {read} rows but the file holds {expected} data rows; nothing imported")
                             .format(read=read, expected=expected),
                             file=source)
        if problem_total and (not skip_invalid or count == 0):
            raise _rows_error(source, problems, problem_total, none_valid=count == 0 and skip_invalid)
        if count == 0:
            raise InputError(_("the file has a header but no rows of people"), file=source)
        if count + bad_rows != read:  # every row read is either imported or listed
            raise InputError(_("imported {count} and skipped {bad_rows} of {read} rows; nothing imported")
                             .format(count=count, bad_rows=bad_rows, read=read),
                             file=source)
        when = (imported_at or datetime.now(UTC)).astimezone(UTC)
        writer.finish(layout.columns, when)
    return ImportResult(
        count=count,
        columns=layout.columns,
        encoding=encoding,
        skipped=tuple(problems),
        skipped_rows=bad_rows,
        duplicates=tuple(duplicates),
        duplicate_count=duplicate_total,
        data_lines=read,
    )


def _show(value: str) -> str:
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in value)


def _parse_row(row: list[str], layout: Layout, line: int) -> tuple[list[str], list[RowProblem]]:
    """The row's values (name, kana, address, postal_code, email, phone, *extras) and its problems."""
    width = layout.width
    problems: list[RowProblem] = []
    if len(row) > width and any(c.strip() for c in row[width:]):
        problems.append(_problem(line, N_("has {count} fields; the header has {width}"), count=len(row), width=width))
    cells = [c.strip() for c in row[:width]]
    cells.extend([""] * (width + 1 - len(cells)))  # cells[width] == "": the value of an absent field
    for index, cell in enumerate(cells):
        if len(cell) > MAX_CELL:
            named = index < len(layout.columns)
            label = layout.columns[index] if named else _("column {number}").format(number=index + 1)
            problems.append(_problem(line, N_("{label}: {length:,} characters (at most {most:,}); is a closing quote "
                                              "missing?"), {"label": label if named else f"column {index + 1}"},
                                     label=label, length=len(cell), most=MAX_CELL))
            return [], problems
    name, kana, address, postal, email, phone = layout.pick(cells)
    address = _one_newline(address)
    extras = [_one_newline(cells[i]) for i, _unused in layout.extras]
    if _CONTROL.search(name + kana + phone) or _CONTROL_MULTILINE.search(address + "".join(extras)):
        problems.extend(_control_problems(layout, line, name, kana, phone, address, extras))
    if email:
        email = normalize(email, "keep").strip()
        why = email_problem(email)
        if why is not None:
            problems.append(_problem(line, N_("email '{email}': cannot be sent to ({why})"),
                                     {"why": email_problem(email, english=True)}, email=_show(email), why=why))
    if postal:
        match = _POSTAL.fullmatch(normalize(postal, "numeric"))
        if match:
            postal = f"{match[1]}-{match[2]}"
        else:
            problems.append(_problem(line, N_("postal_code '{postal}': not NNN-NNNN or NNNNNNN"),
                                     postal=_show(postal)))
    if phone:
        phone = normalize(phone, "numeric")
    if not name:
        problems.append(_problem(line, N_("no name (a letter would be addressed \" 様\")")))
    if not (email or address):
        problems.append(_problem(line, N_("no address or e-mail: no notice can reach this person")))
    return [name, kana, address, postal, email, phone, *extras], problems


def _one_newline(value: str) -> str:
    return value.replace("\r\n", "\n").replace("\r", "\n") if "\r" in value else value


def _control_problems(
    layout: Layout, line: int, name: str, kana: str, phone: str, address: str, extras: list[str]
) -> Iterator[RowProblem]:
    for label, value in (("name", name), ("kana", kana), ("phone", phone)):
        if _CONTROL.search(value):
            yield _problem(line, N_("{label} '{value}': contains a line break or control character; it must be "
                                    "one line"), label=label, value=_show(value))
    for label, value in (("address", address), *zip((h for _unused, h in layout.extras), extras, strict=True)):
        if _CONTROL_MULTILINE.search(value):
            yield _problem(line, N_("{label} '{value}': contains a control character"), label=label,
                           value=_show(value))


def _rows_error(src: Path, problems: list[RowProblem], total: int, *, none_valid: bool) -> RosterRowsError:
    shown = "; ".join(str(p) for p in problems[:MAX_IN_MESSAGE])
    more = _("; … and {count} more").format(count=total - MAX_IN_MESSAGE) if total > MAX_IN_MESSAGE else ""
    advice = (_("no valid rows, nothing imported") if none_valid
              else _("nothing imported; fix these rows, or leave them out with --skip-invalid"))  # fmt: skip
    return RosterRowsError(_("{problems}{more} ({advice})").format(problems=shown, more=more, advice=advice), file=src,
                           problems=tuple(problems), total=total)


class _DigestTable:
    """An open-addressing set of 64-bit digests, each with the person number that added it (12 bytes/slot).

    The digests are Python's keyed string hash (SipHash, salted per process): values are never kept.
    """

    def __init__(self) -> None:
        self._size = 0
        self._allocate(1 << 12)

    def _allocate(self, capacity: int) -> None:
        self._mask = capacity - 1
        self._keys = array("Q", bytes(8 * capacity))
        self._values = array("I", bytes(4 * capacity))

    def setdefault(self, digest: int, value: int) -> int | None:
        """Add `digest` with `value`; when it is already present, return the value it was added with."""
        digest = (digest & 0xFFFF_FFFF_FFFF_FFFF) or 1
        keys, mask = self._keys, self._mask
        slot = digest & mask
        while (found := keys[slot]) != 0:
            if found == digest:
                return self._values[slot]
            slot = (slot + 1) & mask
        keys[slot] = digest
        self._values[slot] = value
        self._size += 1
        if self._size * 2 > len(keys):
            self._grow()
        return None

    def _grow(self) -> None:
        old_keys, old_values = self._keys, self._values
        self._allocate(len(old_keys) * 2)
        keys, values, mask = self._keys, self._values, self._mask
        for digest, value in zip(old_keys, old_values, strict=True):
            if digest:
                slot = digest & mask
                while keys[slot]:
                    slot = (slot + 1) & mask
                keys[slot] = digest
                values[slot] = value


_EMAIL_DOMAIN: Final = 0x9E37_79B9_7F4A_7C15  # XORed into email digests so they never meet name+address ones


def _duplicate_of(seen: _DigestTable, record: list[str], number: int) -> tuple[int, str] | None:
    name, _unused, address, _unused, email, _unused = record[:6]
    found: tuple[int, str] | None = None
    if email:
        first = seen.setdefault(hash(email.casefold()) ^ _EMAIL_DOMAIN, number)
        if first is not None:
            found = (first, N_("same email"))
    if name and address:
        both = normalize(f"{name}\0{address}")
        first = seen.setdefault(hash("".join(both.split()).casefold()), number)
        if first is not None and found is None:
            found = (first, N_("same name and address"))
    return found


# -- reading -------------------------------------------------------------------------------------------------


def iter_people(path: Path, key: bytes) -> Generator[Person, None, None]:
    """Decrypt the roster one chunk at a time; InputError (not a traceback) for a wrong key or damage."""
    return read_rows(path, key, _person)


def _person(extras: tuple[str, ...], row: list[Any]) -> Person:
    key, line, name, kana, address, postal, email, phone, *rest = row
    extra = MappingProxyType(dict(zip(extras, rest, strict=True)))
    return Person(key, name, kana, address, postal, email, phone, extra, line)


def sample(path: Path, key: bytes, n: int = 5, reveal: bool = False) -> tuple[Person, ...]:
    """The first `n` people of the roster, masked unless `reveal` (the caller logs a reveal)."""
    people = iter_people(path, key)
    try:
        return tuple(p if reveal else mask_person(p) for p in islice(people, max(n, 0)))
    finally:
        people.close()

