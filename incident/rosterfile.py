"""The encrypted roster file (本人一覧ファイル): its layout, AES-256-GCM frames, atomic writing, streaming reads.

A roster file is written once per import, atomically, and never holds personal data in plaintext:

    header   MAGIC (8) | file id (16) | key-check nonce (12) | key-check tag (16)
    frames   length u32 | kind u8 | nonce (12) | AES-256-GCM ciphertext
             kinds: one META (extra column names), PEOPLE* (~1,000 JSON lines each), one END (count);
             the AAD binds each frame to the file id, its index and its kind, so frames cannot be
             dropped, reordered or moved between files unnoticed
    trailer  JSON (count, column names, imported_at; no personal data) | length u32 | TAIL_MAGIC (8)

A row is one person: ``[key, line, name, kana, address, postal_code, email, phone, *extras]``; what the
values mean is `incident.roster`'s business. Writing and reading both hold one chunk of rows at a time.
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

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from incident.errors import InputError
from incident.secrets import KEY_BYTES, ensure_private_dir

CHUNK_ROWS: Final = 1000
CHUNK_BYTES: Final = 1 << 20
"""A PEOPLE frame is written when it holds CHUNK_ROWS rows or CHUNK_BYTES characters of values."""

MAGIC: Final = b"INCRSTR1"
TAIL_MAGIC: Final = b"INCREND1"
_HEADER = struct.Struct(">8s16s12s16s")
_FRAME = struct.Struct(">IB")
_TAIL = struct.Struct(">I8s")
_META, _PEOPLE, _END = 0, 1, 2
_MAX_FRAME: Final = 256 << 20
_NONCE: Final = 12

T = TypeVar("T")


@dataclass(frozen=True)
class RosterInfo:
    """What can be known about a roster without its key: no personal data."""

    count: int
    columns: tuple[str, ...]
    imported_at: datetime


def check_key(key: bytes) -> None:
    """InputError unless `key` is an AES-256 key."""
    if len(key) != KEY_BYTES:
        raise InputError(f"a roster key is {KEY_BYTES} bytes; this one is {len(key)}")


# -- writing -------------------------------------------------------------------------------------------------


class RosterWriter:
    """Writes a roster to a temporary file beside `dest`; `finish` moves it into place atomically.

    Leaving the ``with`` block without `finish` (an error, a refused import) removes the temporary file
    and leaves any earlier roster at `dest` untouched.
    """

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
        """One person's row: its key, its line in the imported file, its values (extras last)."""
        self._rows.append([key, line, *values])
        self._buffered += sum(map(len, values))
        if len(self._rows) >= CHUNK_ROWS or self._buffered >= CHUNK_BYTES:
            self._flush()

    def _flush(self) -> None:
        if self._rows:
            self._frame(_PEOPLE, json.dumps(self._rows, ensure_ascii=False, separators=(",", ":")).encode())
            self._rows, self._buffered = [], 0

    def finish(self, count: int, columns: tuple[str, ...], imported_at: datetime) -> None:
        """Write the last rows, the END frame and the trailer; fsync and move the file into place."""
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
            _open_header(fh, path, AESGCM(key))
    except FileNotFoundError as exc:
        raise InputError("no roster has been imported (file not found)", file=path) from exc
    return _rows(path, AESGCM(key), make)


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


def _rows(
    path: Path, aead: AESGCM, make: Callable[[tuple[str, ...], list[Any]], T]
) -> Generator[T, None, None]:
    with open(path, "rb") as fh:
        file_id = _open_header(fh, path, aead)
        index, count = 0, 0
        extras: tuple[str, ...] = ()
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
                for row in json.loads(plain):
                    count += 1
                    yield make(extras, row)
            elif kind == _END:
                if json.loads(plain)["count"] != count:
                    raise InputError("the roster file is damaged (count mismatch)", file=path)
                return
            else:
                raise InputError(f"the roster file is damaged (frame kind {kind})", file=path)
