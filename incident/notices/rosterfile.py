"""The encrypted roster file (本人一覧ファイル): a sealed file (`incident.notices.sealed`) with a plaintext trailer.

A roster file is written once per import, atomically, and never holds personal data in plaintext:

    sealed   the `incident.notices.sealed` layout with magic ``INCRSTR1``: header with key check, one META frame
             (extra column names), ROWS frames (~1,000 people each), one END frame (count)
    trailer  JSON (count, column names, imported_at; no personal data) | length u32 | TAIL_MAGIC (8)

A row is one person: ``[key, line, name, kana, address, postal_code, email, phone, *extras]``; what the
values mean is `incident.notices.roster`'s business. Writing and reading both hold one chunk of rows at a time.
"""

from __future__ import annotations

import json
import os
import struct
import tempfile
from collections.abc import Callable, Generator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Final, Self, TypeVar

from incident.errors import InputError
from incident.fsutil import fsync_dir
from incident.i18n import N_, _
from incident.notices import sealed
from incident.register.secrets import ensure_private_dir

MAGIC: Final = b"INCRSTR1"
TAIL_MAGIC: Final = b"INCREND1"
_TAIL = struct.Struct(">I8s")

FORMAT: Final = sealed.SealedFormat(
    magic=MAGIC,
    key_noun="roster",
    meta=True,
    not_sealed=N_("not a roster file (wrong magic number)"),
    wrong_key=N_("the key does not match this roster (it was encrypted with another key: "
                 "check INCIDENT_KEY_FILE / key_file, or the keyring of the machine that imported it)"),
    truncated=N_("the roster file is truncated (no end frame)"),
    damaged=N_("the roster file is damaged (frame {index})"),
    altered=N_("the roster file is damaged or altered (frame {index})"),
    bad_kind=N_("the roster file is damaged (frame kind {kind})"),
    count_mismatch=N_("the roster file is damaged (count mismatch)"),
    data_after_end=None,  # the trailer
)

T = TypeVar("T")


@dataclass(frozen=True)
class RosterInfo:
    """What can be known about a roster without its key: no personal data."""

    count: int
    columns: tuple[str, ...]
    imported_at: datetime


def check_key(key: bytes) -> None:
    """InputError unless `key` is an AES-256 key."""
    sealed.check_key(key, FORMAT)


# -- writing -------------------------------------------------------------------------------------------------


class RosterWriter:
    """Writes a roster to a temporary file beside `dest`; `finish` moves it into place atomically.

    Leaving the ``with`` block without `finish` (an error, a refused import) removes the temporary file
    and leaves any earlier roster at `dest` untouched.
    """

    def __init__(self, dest: Path, key: bytes, extras: tuple[str, ...]) -> None:
        check_key(key)
        ensure_private_dir(dest.parent)
        self._dest = dest
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp")
        self._tmp = Path(tmp)
        self._fh: IO[bytes] = os.fdopen(fd, "wb")
        self._done = False
        self._sealed = sealed.SealedWriter(self._fh, key, FORMAT, {"extras": list(extras)})

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        if not self._done:
            self._fh.close()
            self._tmp.unlink(missing_ok=True)

    def add(self, key: str, line: int, values: list[str]) -> None:
        """One person's row: its key, its line in the imported file, its values (extras last)."""
        self._sealed.add([key, line, *values], sum(map(len, values)))

    def finish(self, columns: tuple[str, ...], imported_at: datetime) -> None:
        """Write the last rows, the END frame and the trailer; fsync and move the file into place."""
        count = self._sealed.finish()
        info = {"format": 1, "count": count, "columns": list(columns), "imported_at": imported_at.isoformat()}
        trailer = json.dumps(info, ensure_ascii=False).encode()
        self._fh.write(trailer + _TAIL.pack(len(trailer), TAIL_MAGIC))
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()
        os.replace(self._tmp, self._dest)
        self._done = True
        fsync_dir(self._dest.parent)


# -- reading -------------------------------------------------------------------------------------------------


def roster_info(path: Path) -> RosterInfo:
    """Count, columns and import time from the roster's plaintext trailer, without the key."""
    try:
        with open(path, "rb") as fh:
            if fh.read(len(MAGIC)) != MAGIC:
                raise InputError(_("not a roster file (wrong magic number)"), file=path)
            size = fh.seek(0, os.SEEK_END)
            if size < sealed.HEADER.size + _TAIL.size:
                raise InputError(_("the roster file is truncated"), file=path)
            fh.seek(size - _TAIL.size)
            length, tail = _TAIL.unpack(fh.read(_TAIL.size))
            if tail != TAIL_MAGIC or length > size - sealed.HEADER.size - _TAIL.size:
                raise InputError(_("the roster file is truncated or damaged (no trailer)"), file=path)
            fh.seek(size - _TAIL.size - length)
            info = json.loads(fh.read(length))
        return RosterInfo(
            count=int(info["count"]),
            columns=tuple(str(c) for c in info["columns"]),
            imported_at=datetime.fromisoformat(info["imported_at"]),
        )
    except FileNotFoundError as exc:
        raise InputError(_("no roster has been imported (file not found)"), file=path) from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(_("the roster file's trailer is damaged: {exc}").format(exc=exc), file=path) from exc


def read_rows(
    path: Path, key: bytes, make: Callable[[tuple[str, ...], list[Any]], T]
) -> Generator[T, None, None]:
    """``make(extra column names, row)`` for each row, decrypting one chunk at a time.

    The key is checked against the header now, before the first ``next()``: InputError (not a traceback)
    for a missing file or a wrong key; later, InputError for a damaged or altered file.
    """
    check_key(key)
    try:
        with open(path, "rb") as fh:
            sealed.SealedReader(fh, key, FORMAT, path)
    except FileNotFoundError as exc:
        raise InputError(_("no roster has been imported (file not found)"), file=path) from exc
    return _rows(path, key, make)


def _rows(path: Path, key: bytes, make: Callable[[tuple[str, ...], list[Any]], T]) -> Generator[T, None, None]:
    with open(path, "rb") as fh:
        reader = sealed.SealedReader(fh, key, FORMAT, path)
        extras = tuple(reader.meta["extras"])
        for row in reader.rows():
            yield make(extras, row)
