"""Sealed files: rows of personal data encrypted at rest in authenticated frames (AES-256-GCM).

The encrypted roster (`incident.notices.rosterfile`) and a batch's messages file (`incident.notices.batch`) share this
layout; only the magic number, the optional META frame, what may follow the END frame and the wording
of the errors differ (a `SealedFormat` each):

    header   magic (8) | file id (16) | key-check nonce (12) | key-check tag (16)
             the tag authenticates magic + file id, so a wrong key is told apart from damage
    frames   length u32 | kind u8 | nonce (12) | AES-256-GCM ciphertext
             kinds: META (a JSON object, only as the first frame, only where the format has one),
             ROWS* (a JSON list of up to CHUNK_ROWS rows or about CHUNK_BYTES characters each),
             or, in a format that compresses, ROWS_Z* (the same list, zlib-compressed before encryption:
             a batch's messages repeat one wording, so its frames shrink some fifty times),
             END (``{"count": rows}``, last)

The AAD binds each frame to the file id, its index and its kind, so frames cannot be dropped, reordered,
truncated away or moved between files unnoticed. After the END frame comes a format's plaintext
trailer, or nothing. Writing and reading both hold one chunk of rows at a time.
"""

from __future__ import annotations

import json
import os
import struct
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Final, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from incident.errors import InputError
from incident.i18n import _
from incident.register.secrets import KEY_BYTES

CHUNK_ROWS: Final = 1000
CHUNK_BYTES: Final = 1 << 20
"""A ROWS frame is written when it holds CHUNK_ROWS rows or CHUNK_BYTES characters of values."""

META, ROWS, END, ROWS_Z = 0, 1, 2, 3
"""The frame kinds."""
_ZLIB_LEVEL: Final = 3
"""As small as level 6 on repeated wording, at a fifth of its time."""
_MAX_ROWS_JSON: Final = 64 << 20
"""A ROWS_Z frame never inflates beyond this (a damaged or hostile frame cannot exhaust memory)."""

HEADER: Final = struct.Struct(">8s16s12s16s")
_FRAME = struct.Struct(">IB")
_NONCE: Final = 12
_MAX_FRAME: Final = 256 << 20


@dataclass(frozen=True)
class SealedFormat:
    """One kind of sealed file: its magic number, its structure and how its errors are worded.

    The message templates may use ``{index}`` (the frame's position) and ``{kind}``.
    """

    magic: bytes
    key_noun: str
    """Names the key in "a <key_noun> key is 32 bytes"."""
    meta: bool
    """The first frame is a META frame (and only the first)."""
    not_sealed: str
    """The file does not start with the magic number."""
    wrong_key: str
    truncated: str
    """The file ends before the END frame."""
    damaged: str
    """A frame's length or position is impossible."""
    altered: str
    """A frame does not authenticate."""
    bad_kind: str
    count_mismatch: str
    data_after_end: str | None
    """Any byte after the END frame is damage; None where a plaintext trailer follows (read by the format)."""
    compress: bool = False
    """Rows are written as ROWS_Z frames (ROWS frames are still read)."""


def check_key(key: bytes, fmt: SealedFormat) -> AESGCM:
    """The cipher for `key`; InputError unless it is an AES-256 key."""
    if len(key) != KEY_BYTES:
        raise InputError(_("a {key_noun} key is {key_bytes} bytes; this one is {count}")
                         .format(key_noun=fmt.key_noun, key_bytes=KEY_BYTES, count=len(key)))
    return AESGCM(key)


def _aad(file_id: bytes, index: int, kind: int) -> bytes:
    return file_id + struct.pack(">QB", index, kind)


class Sink(Protocol):
    """Where a SealedWriter writes: a binary file, or anything that takes bytes in order."""

    def write(self, data: bytes, /) -> object: ...


class SealedWriter:
    """Writes the header (and META frame) at once, then rows a chunk at a time; `finish` writes END."""

    def __init__(self, out: Sink, key: bytes, fmt: SealedFormat, meta: Mapping[str, Any] | None = None) -> None:
        if fmt.meta != (meta is not None):
            raise ValueError(_("format {magic!r} {value} META frame")
                             .format(magic=fmt.magic, value='needs' if fmt.meta else 'has no'))
        self._out, self._aead = out, check_key(key, fmt)
        self._compress = fmt.compress
        self._file_id, self._index = os.urandom(16), 0
        self._rows: list[Sequence[object]] = []
        self._size = 0
        self.count = 0
        """Rows added so far."""
        nonce = os.urandom(_NONCE)
        check = self._aead.encrypt(nonce, b"", fmt.magic + self._file_id)
        out.write(HEADER.pack(fmt.magic, self._file_id, nonce, check))
        if meta is not None:
            self._frame(META, json.dumps(meta, ensure_ascii=False).encode())

    def _frame(self, kind: int, plaintext: bytes) -> None:
        nonce = os.urandom(_NONCE)
        sealed = self._aead.encrypt(nonce, plaintext, _aad(self._file_id, self._index, kind))
        self._out.write(_FRAME.pack(_NONCE + len(sealed), kind) + nonce + sealed)
        self._index += 1

    def add(self, row: Sequence[object], size: int) -> None:
        """One row (JSON values); `size` is what it counts against CHUNK_BYTES (its characters of text)."""
        self._rows.append(row)
        self.count += 1
        self._size += size
        if len(self._rows) >= CHUNK_ROWS or self._size >= CHUNK_BYTES:
            self._flush()

    def _flush(self) -> None:
        if self._rows:
            plain = json.dumps(self._rows, ensure_ascii=False, separators=(",", ":")).encode()
            if self._compress:
                self._frame(ROWS_Z, zlib.compress(plain, _ZLIB_LEVEL))
            else:
                self._frame(ROWS, plain)
            self._rows, self._size = [], 0

    def finish(self) -> int:
        """Write the last rows and the END frame; the number of rows."""
        self._flush()
        self._frame(END, json.dumps({"count": self.count}).encode())
        return self.count


class SealedReader:
    """Reads a sealed file from `fh`: the header and the key are checked (and META read) at once."""

    def __init__(self, fh: BinaryIO, key: bytes, fmt: SealedFormat, path: Path) -> None:
        self._fh, self._fmt, self._path = fh, fmt, path
        self._aead = check_key(key, fmt)
        raw = fh.read(HEADER.size)
        if len(raw) < HEADER.size or not raw.startswith(fmt.magic):
            raise InputError(_(fmt.not_sealed), file=path)
        _unused, self._file_id, nonce, check = HEADER.unpack(raw)
        try:
            self._aead.decrypt(nonce, check, fmt.magic + self._file_id)
        except InvalidTag:
            raise InputError(_(fmt.wrong_key), file=path) from None
        self._index = 0
        self.meta: dict[str, Any] = json.loads(self._next_frame()[1]) if fmt.meta else {}
        """The META frame's object ({} for a format without one)."""

    def _error(self, template: str, kind: int = -1) -> InputError:
        return InputError(_(template).format(index=self._index, kind=kind), file=self._path)

    def _next_frame(self) -> tuple[int, bytes]:
        head = self._fh.read(_FRAME.size)
        if len(head) < _FRAME.size:
            raise self._error(self._fmt.truncated)
        length, kind = _FRAME.unpack(head)
        if length > _MAX_FRAME or length < _NONCE or (self._fmt.meta and (self._index == 0) != (kind == META)):
            raise self._error(self._fmt.damaged)
        body = self._fh.read(length)
        try:
            plain = self._aead.decrypt(body[:_NONCE], body[_NONCE:], _aad(self._file_id, self._index, kind))
        except (InvalidTag, ValueError):
            raise self._error(self._fmt.altered) from None
        if kind not in (META, ROWS, END, ROWS_Z) or (kind == META and not self._fmt.meta) or (
                kind == ROWS_Z and not self._fmt.compress):
            raise self._error(self._fmt.bad_kind, kind)
        self._index += 1
        return kind, plain

    def _frames(self) -> Iterator[tuple[int, bytes]]:
        """(kind, plaintext) of each frame after META, END last; then, without a trailer, the end of the file."""
        kind = ROWS
        while kind != END:
            kind, plain = self._next_frame()
            yield kind, plain
        if self._fmt.data_after_end is not None and self._fh.read(1):
            raise InputError(_(self._fmt.data_after_end), file=self._path)

    def _check_end(self, plain: bytes, count: int) -> None:
        if json.loads(plain)["count"] != count:
            raise InputError(_(self._fmt.count_mismatch), file=self._path)

    def rows(self) -> Iterator[list[Any]]:
        """Each row, decrypting one frame at a time; InputError for damage, also at the END frame."""
        count = 0
        for kind, plain in self._frames():
            if kind == END:
                self._check_end(plain, count)
            else:
                for row in json.loads(self._inflate(kind, plain)):
                    count += 1
                    yield row

    def _inflate(self, kind: int, plain: bytes) -> bytes:
        if kind != ROWS_Z:
            return plain
        inflater = zlib.decompressobj()
        try:
            data = inflater.decompress(plain, _MAX_ROWS_JSON)
        except zlib.error:
            raise self._error(self._fmt.damaged) from None
        if inflater.unconsumed_tail or not inflater.eof:
            raise self._error(self._fmt.damaged)
        return data

    def verify(self, count: int) -> None:
        """Authenticate every frame without parsing the rows; InputError unless END says `count` rows."""
        for kind, plain in self._frames():
            if kind == END:
                self._check_end(plain, count)
