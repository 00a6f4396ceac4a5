"""The affected-person roster (本人一覧): CSV import, encryption at rest, streaming reads, masking.

A roster file is written once per import, atomically, and never holds personal data in plaintext:

    header   MAGIC (8) | file id (16) | key-check nonce (12) | key-check tag (16)
    frames   length u32 | kind u8 | nonce (12) | AES-256-GCM ciphertext
             kinds: one META (extra column names), PEOPLE* (~1,000 JSON lines each), one END (count);
             the AAD binds each frame to the file id, its index and its kind, so frames cannot be
             dropped, reordered or moved between files unnoticed
    trailer  JSON (count, column names, imported_at; no personal data) | length u32 | TAIL_MAGIC (8)

Import and reading both stream: memory depends on the chunk size, not the roster size, except for
duplicate detection, which keeps one 8-byte keyed digest per person in a compact table.
"""

from __future__ import annotations

import codecs
import csv
import json
import os
import re
import struct
import tempfile
import unicodedata
from array import array
from collections.abc import Callable, Generator, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from itertools import islice
from operator import itemgetter
from pathlib import Path
from types import MappingProxyType
from typing import IO, Final, Self

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from incident.errors import InputError
from incident.secrets import KEY_BYTES, ensure_private_dir

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

CHUNK_ROWS: Final = 1000
CHUNK_BYTES: Final = 1 << 20
MAX_LISTED: Final = 1000
"""At most this many skipped-row problems and duplicates are kept in an ImportResult (the counts are exact)."""
MAX_IN_MESSAGE: Final = 20

MAGIC: Final = b"INCRSTR1"
TAIL_MAGIC: Final = b"INCREND1"
_HEADER = struct.Struct(">8s16s12s16s")
_FRAME = struct.Struct(">IB")
_TAIL = struct.Struct(">I8s")
_META, _PEOPLE, _END = 0, 1, 2
_MAX_FRAME: Final = 256 << 20
_NONCE: Final = 12

_nfkc = unicodedata.normalize
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_CONTROL_MULTILINE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")
_HYPHENS = re.compile(r"[\u2010-\u2015\u2212\u30fc\uff0d\uff70]")
# Dots are allowed anywhere in the local part: older Japanese carrier addresses (foo..bar@, foo.@) exist.
_EMAIL = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)
_POSTAL = re.compile(r"〒?\s*([0-9]{3})-?([0-9]{4})")


@dataclass(frozen=True)
class Person:
    """One affected person, as imported (NFKC-normalized; '' where the file had nothing)."""

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
    """Why a row is invalid; `line` is its line number in the file."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"row {self.line}: {self.reason}"


@dataclass(frozen=True)
class Duplicate:
    """A person who looks like an earlier one (reported, still imported)."""

    line: int
    key: str
    first_key: str
    reason: str

    def __str__(self) -> str:
        return f"row {self.line} ({self.key}): {self.reason} as {self.first_key}"


@dataclass(frozen=True)
class ImportResult:
    """What an import wrote; the lists keep at most MAX_LISTED entries, the counts are exact."""

    count: int
    columns: tuple[str, ...]
    """Known fields by their field name, extra columns by their header, in file order."""
    encoding: str
    """``utf-8``, ``utf-8-sig`` (with BOM) or ``cp932``."""
    skipped: tuple[RowProblem, ...] = ()
    skipped_rows: int = 0
    duplicates: tuple[Duplicate, ...] = ()
    duplicate_count: int = 0


@dataclass(frozen=True)
class RosterInfo:
    """What can be known about a roster without its key: no personal data."""

    count: int
    columns: tuple[str, ...]
    imported_at: datetime


class RosterRowsError(InputError):
    """Rows of an import were invalid; nothing was imported. `problems` keeps the first MAX_LISTED."""

    def __init__(self, message: str, *, file: Path, problems: tuple[RowProblem, ...], total: int) -> None:
        super().__init__(message, file=file)
        self.problems = problems
        self.total = total


# -- import ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Layout:
    width: int
    pick: Callable[[list[str]], tuple[str, str, str, str, str, str]]
    """The FIELDS of a row's cells, in FIELDS order (an absent field reads cell `width`, always '')."""
    extras: tuple[tuple[int, str], ...]
    columns: tuple[str, ...]


def import_csv(
    src: Path,
    dest: Path,
    key: bytes,
    *,
    mapping: Mapping[str, str] | None = None,
    skip_invalid: bool = False,
    imported_at: datetime | None = None,
) -> ImportResult:
    """Import the CSV `src` into the encrypted roster `dest`, replacing it only when the import succeeds.

    Raises RosterRowsError listing every bad row (by line) when any row is invalid, unless
    `skip_invalid`, in which case bad rows are left out and listed in the result.
    """
    _check_key(key)
    encoding = _detect_encoding(src)
    problems: list[RowProblem] = []
    problem_total = 0
    bad_rows = 0
    duplicates: list[Duplicate] = []
    duplicate_total = 0
    seen = _DigestTable()
    count = 0
    with open(src, encoding="utf-8-sig" if encoding.startswith("utf-8") else encoding, newline="") as fh:
        reader = csv.reader(fh)
        layout = _layout(_header(reader, src), reader.line_num, mapping, src)
        with _RosterWriter(dest, key, tuple(h for _, h in layout.extras)) as writer:
            for line, row in _rows(reader, src):
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
            if problem_total and (not skip_invalid or count == 0):
                raise _rows_error(src, problems, problem_total, none_valid=count == 0 and skip_invalid)
            if count == 0:
                raise InputError("the file has a header but no rows of people", file=src)
            when = (imported_at or datetime.now(UTC)).astimezone(UTC)
            writer.finish(count, layout.columns, when)
    return ImportResult(
        count=count,
        columns=layout.columns,
        encoding=encoding,
        skipped=tuple(problems),
        skipped_rows=bad_rows,
        duplicates=tuple(duplicates),
        duplicate_count=duplicate_total,
    )


def _check_key(key: bytes) -> None:
    if len(key) != KEY_BYTES:
        raise InputError(f"a roster key is {KEY_BYTES} bytes; this one is {len(key)}")


def _detect_encoding(src: Path) -> str:
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


def _header(reader: Iterator[list[str]], src: Path) -> list[str]:
    try:
        for row in reader:
            if any(cell.strip() for cell in row):
                return row
    except csv.Error as exc:
        raise InputError(f"not valid CSV: {exc}", file=src) from exc
    raise InputError("the file is empty; expected a header row such as 氏名,メールアドレス,住所", file=src)


def _header_key(text: str) -> str:
    return re.sub(r"[\s_\-]", "", unicodedata.normalize("NFKC", text).strip().casefold())


def _layout(header: list[str], header_line: int, mapping: Mapping[str, str] | None, src: Path) -> _Layout:
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
    return _Layout(
        width=len(names),
        pick=itemgetter(*(known[f][0] if f in known else len(names) for f in FIELDS)),
        extras=tuple(extras),
        columns=tuple(columns),
    )


def _rows(reader: Iterator[list[str]], src: Path) -> Iterator[tuple[int, list[str]]]:
    line_num = reader.line_num  # type: ignore[attr-defined]
    try:
        for row in reader:
            start, line_num = line_num + 1, reader.line_num  # type: ignore[attr-defined]
            if any(cell.strip() for cell in row):
                yield start, row
    except csv.Error as exc:
        raise InputError(f"row {line_num + 1}: not valid CSV: {exc}", file=src) from exc


def _show(value: str) -> str:
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in value)


def _parse_row(row: list[str], layout: _Layout, line: int) -> tuple[list[str], list[RowProblem]]:
    """The row's values (name, kana, address, postal_code, email, phone, *extras) and its problems."""
    width = layout.width
    problems: list[RowProblem] = []
    if len(row) > width and any(c.strip() for c in row[width:]):
        problems.append(RowProblem(line, f"has {len(row)} fields; the header has {width}"))
    cells = [_nfkc("NFKC", c).strip() for c in row[:width]]
    cells.extend([""] * (width + 1 - len(cells)))  # cells[width] == "": the value of an absent field
    name, kana, address, postal, email, phone = layout.pick(cells)
    address = _one_newline(address)
    extras = [_one_newline(cells[i]) for i, _ in layout.extras]
    if _CONTROL.search(name + kana + phone) or _CONTROL_MULTILINE.search(address + "".join(extras)):
        problems.extend(_control_problems(layout, line, name, kana, phone, address, extras))
    if email and (len(email) > 254 or not _EMAIL.fullmatch(email)):
        why = (" (contains a line break)" if "\n" in email or "\r" in email
               else " (contains a comma)" if "," in email else "")  # fmt: skip
        problems.append(RowProblem(line, f"email '{_show(email)}': not a valid address{why}"))
    if postal:
        match = _POSTAL.fullmatch(_HYPHENS.sub("-", postal))
        if match:
            postal = f"{match[1]}-{match[2]}"
        else:
            problems.append(RowProblem(line, f"postal_code '{_show(postal)}': not NNN-NNNN or NNNNNNN"))
    if phone:
        phone = _HYPHENS.sub("-", phone)
    if not (name or email or address):
        problems.append(RowProblem(line, "no name, email or address"))
    return [name, kana, address, postal, email, phone, *extras], problems


def _one_newline(value: str) -> str:
    return value.replace("\r\n", "\n").replace("\r", "\n") if "\r" in value else value


def _control_problems(
    layout: _Layout, line: int, name: str, kana: str, phone: str, address: str, extras: list[str]
) -> Iterator[RowProblem]:
    for label, value in (("name", name), ("kana", kana), ("phone", phone)):
        if _CONTROL.search(value):
            yield RowProblem(line, f"{label} '{_show(value)}': contains a line break or control character; "
                                   "it must be one line")  # fmt: skip
    for label, value in (("address", address), *zip((h for _, h in layout.extras), extras, strict=True)):
        if _CONTROL_MULTILINE.search(value):
            yield RowProblem(line, f"{label} '{_show(value)}': contains a control character")


def _rows_error(src: Path, problems: list[RowProblem], total: int, *, none_valid: bool) -> RosterRowsError:
    shown = "; ".join(str(p) for p in problems[:MAX_IN_MESSAGE])
    more = f"; … and {total - MAX_IN_MESSAGE} more" if total > MAX_IN_MESSAGE else ""
    advice = ("no valid rows, nothing imported" if none_valid
              else "nothing imported; fix these rows, or leave them out with --skip-invalid")  # fmt: skip
    return RosterRowsError(f"{shown}{more} ({advice})", file=src, problems=tuple(problems), total=total)


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
    name, _, address, _, email, _ = record[:6]
    found: tuple[int, str] | None = None
    if email:
        first = seen.setdefault(hash(email.casefold()) ^ _EMAIL_DOMAIN, number)
        if first is not None:
            found = (first, "same email")
    if name and address:
        first = seen.setdefault(hash("".join(f"{name}\0{address}".split()).casefold()), number)
        if first is not None and found is None:
            found = (first, "same name and address")
    return found


class _RosterWriter:
    """Writes a roster to a temporary file beside `dest`; `finish` moves it into place atomically."""

    def __init__(self, dest: Path, key: bytes, extras: tuple[str, ...]) -> None:
        ensure_private_dir(dest.parent)
        self._dest = dest
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp")
        self._tmp = Path(tmp)
        self._fh: IO[bytes] = os.fdopen(fd, "wb")
        self._aead = AESGCM(key)
        self._file_id = os.urandom(16)
        self._index = 0
        self._rows: list[list[object]] = []
        self._buffered = 0
        self._done = False
        nonce = os.urandom(_NONCE)
        check = self._aead.encrypt(nonce, b"", MAGIC + self._file_id)
        self._fh.write(_HEADER.pack(MAGIC, self._file_id, nonce, check))
        self._frame(_META, json.dumps({"extras": list(extras)}, ensure_ascii=False).encode())

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        if not self._done:
            self._fh.close()
            self._tmp.unlink(missing_ok=True)

    def _frame(self, kind: int, plaintext: bytes) -> None:
        nonce = os.urandom(_NONCE)
        sealed = self._aead.encrypt(nonce, plaintext, _aad(self._file_id, self._index, kind))
        self._fh.write(_FRAME.pack(_NONCE + len(sealed), kind) + nonce + sealed)
        self._index += 1

    def add(self, key: str, line: int, values: list[str]) -> None:
        self._rows.append([key, line, *values])
        self._buffered += sum(map(len, values))
        if len(self._rows) >= CHUNK_ROWS or self._buffered >= CHUNK_BYTES:
            self._flush()

    def _flush(self) -> None:
        if self._rows:
            self._frame(_PEOPLE, json.dumps(self._rows, ensure_ascii=False, separators=(",", ":")).encode())
            self._rows, self._buffered = [], 0

    def finish(self, count: int, columns: tuple[str, ...], imported_at: datetime) -> None:
        self._flush()
        self._frame(_END, json.dumps({"count": count}).encode())
        info = {"format": 1, "count": count, "columns": list(columns), "imported_at": imported_at.isoformat()}
        trailer = json.dumps(info, ensure_ascii=False).encode()
        self._fh.write(trailer + _TAIL.pack(len(trailer), TAIL_MAGIC))
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()
        os.replace(self._tmp, self._dest)
        self._done = True
        dir_fd = os.open(self._dest.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def _aad(file_id: bytes, index: int, kind: int) -> bytes:
    return file_id + struct.pack(">QB", index, kind)


# -- reading -------------------------------------------------------------------------------------------------


def roster_info(path: Path) -> RosterInfo:
    """Count, columns and import time from the roster's plaintext trailer, without the key."""
    try:
        with open(path, "rb") as fh:
            if fh.read(len(MAGIC)) != MAGIC:
                raise InputError("not a roster file (wrong magic number)", file=path)
            size = fh.seek(0, os.SEEK_END)
            if size < _HEADER.size + _TAIL.size:
                raise InputError("the roster file is truncated", file=path)
            fh.seek(size - _TAIL.size)
            length, tail = _TAIL.unpack(fh.read(_TAIL.size))
            if tail != TAIL_MAGIC or length > size - _HEADER.size - _TAIL.size:
                raise InputError("the roster file is truncated or damaged (no trailer)", file=path)
            fh.seek(size - _TAIL.size - length)
            info = json.loads(fh.read(length))
        return RosterInfo(
            count=int(info["count"]),
            columns=tuple(str(c) for c in info["columns"]),
            imported_at=datetime.fromisoformat(info["imported_at"]),
        )
    except FileNotFoundError as exc:
        raise InputError("no roster has been imported (file not found)", file=path) from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(f"the roster file's trailer is damaged: {exc}", file=path) from exc


def iter_people(path: Path, key: bytes) -> Generator[Person, None, None]:
    """Decrypt the roster one chunk at a time; InputError (not a traceback) for a wrong key or damage."""
    _check_key(key)
    try:
        with open(path, "rb") as fh:
            _open_header(fh, path, AESGCM(key))  # fail here, before the first next(), on a wrong key
    except FileNotFoundError as exc:
        raise InputError("no roster has been imported (file not found)", file=path) from exc
    return _people(path, AESGCM(key))


def _open_header(fh: IO[bytes], path: Path, aead: AESGCM) -> bytes:
    raw = fh.read(_HEADER.size)
    if len(raw) < _HEADER.size or not raw.startswith(MAGIC):
        raise InputError("not a roster file (wrong magic number)", file=path)
    _, file_id, nonce, check = _HEADER.unpack(raw)
    try:
        aead.decrypt(nonce, check, MAGIC + file_id)
    except InvalidTag:
        raise InputError(
            "the key does not match this roster (it was encrypted with another key: "
            "check INCIDENT_KEY_FILE / key_file, or the keyring of the machine that imported it)",
            file=path,
        ) from None
    return bytes(file_id)


def _people(path: Path, aead: AESGCM) -> Generator[Person, None, None]:
    with open(path, "rb") as fh:
        file_id = _open_header(fh, path, aead)
        index, count, extras = 0, 0, ()
        while True:
            head = fh.read(_FRAME.size)
            if len(head) < _FRAME.size:
                raise InputError("the roster file is truncated (no end frame)", file=path)
            length, kind = _FRAME.unpack(head)
            if length > _MAX_FRAME or length < _NONCE or (index == 0) != (kind == _META):
                raise InputError(f"the roster file is damaged (frame {index})", file=path)
            body = fh.read(length)
            try:
                plain = aead.decrypt(body[:_NONCE], body[_NONCE:], _aad(file_id, index, kind))
            except (InvalidTag, ValueError):
                raise InputError(
                    f"the roster file is damaged or altered (frame {index})", file=path
                ) from None
            index += 1
            if kind == _META:
                extras = tuple(json.loads(plain)["extras"])
            elif kind == _PEOPLE:
                for k, line, name, kana, address, postal, email, phone, *rest in json.loads(plain):
                    extra = MappingProxyType(dict(zip(extras, rest, strict=True)))
                    count += 1
                    yield Person(k, name, kana, address, postal, email, phone, extra, line)
            elif kind == _END:
                if json.loads(plain)["count"] != count:
                    raise InputError("the roster file is damaged (count mismatch)", file=path)
                return
            else:
                raise InputError(f"the roster file is damaged (frame kind {kind})", file=path)


# -- masking ---------------------------------------------------------------------------------------------------

_PREFECTURE = re.compile(r"(北海道|東京都|(?:京都|大阪)府|[^\s\d都道府県]{2,3}県)")
_MUNICIPALITY = re.compile(r"(?:[^\s\d]{1,6}?郡)?[^\s\d]{1,7}?[市区町村]")
_WARD_CITY = re.compile(r"[^\s\d]{1,7}?市[^\s\d]{1,4}?区")


def mask_name(name: str) -> str:
    """``山田 太郎`` → ``山田 **``; a name without a space keeps its first character (``山**``)."""
    parts = name.split()
    if not parts:
        return ""
    if len(parts) == 1:
        return parts[0][0] + "**"
    return parts[0] + " **"


def mask_email(email: str) -> str:
    """``yamada@example.jp`` → ``y***@example.jp``."""
    local, at, domain = email.rpartition("@")
    if not at or not local:
        return "***" if email else ""
    return f"{local[0]}***@{domain}"


def mask_phone(phone: str) -> str:
    """Every digit but the last four hidden: ``090-1234-5678`` → ``***-****-5678``."""
    digits = sum(c.isdigit() for c in phone)
    keep = digits - 4 if digits > 4 else digits
    out: list[str] = []
    for c in phone:
        if c.isdigit():
            out.append("*" if keep > 0 else c)
            keep -= 1
        else:
            out.append(c)
    return "".join(out)


def mask_postal_code(postal_code: str) -> str:
    """``100-0001`` → ``100-****``."""
    return postal_code[:4] + "****" if len(postal_code) > 4 else ("***" if postal_code else "")


def mask_address(address: str) -> str:
    """Prefecture and city (市区町村, a designated city's ward) kept, the rest hidden: ``東京都千代田区***``."""
    if not address:
        return ""
    kept = ""
    rest = address
    prefecture = _PREFECTURE.match(rest)
    if prefecture:
        kept, rest = prefecture[0], rest[prefecture.end() :]
    city = _WARD_CITY.match(rest) or _MUNICIPALITY.match(rest)
    if city:
        kept += city[0]
    return kept + "***"


def mask_person(person: Person) -> Person:
    """The person with every field masked (extra columns hidden entirely)."""
    return replace(
        person,
        name=mask_name(person.name),
        kana=mask_name(person.kana),
        address=mask_address(person.address),
        postal_code=mask_postal_code(person.postal_code),
        email=mask_email(person.email),
        phone=mask_phone(person.phone),
        extra=MappingProxyType({k: "***" if v else "" for k, v in person.extra.items()}),
    )


def sample(path: Path, key: bytes, n: int = 5, reveal: bool = False) -> tuple[Person, ...]:
    """The first `n` people of the roster, masked unless `reveal` (the caller logs a reveal)."""
    people = iter_people(path, key)
    try:
        return tuple(p if reveal else mask_person(p) for p in islice(people, max(n, 0)))
    finally:
        people.close()
