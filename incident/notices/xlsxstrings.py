"""The shared-strings table of an Excel workbook (xl/sharedStrings.xml) kept out of memory.

Excel writes every distinct text of a workbook once, in this table, and cells refer to it by number:
in a roster it holds every name and address. Reading it into a list would make memory grow with the
roster, so the table is read once, as a stream, into blocks of a few hundred strings that are encrypted
(AES-256-GCM, a key made for this reading that lives in this object only) into an anonymous temporary
file (private, already unlinked where the system allows, deleted on close in any case). A lookup
decrypts the string's block; the last few blocks stay in memory. Memory holds at most
`BLOCK_STRINGS * CACHED_BLOCKS` strings and 16 bytes per block, whatever the size of the table, and
nothing personal is on disk in plaintext: once the reading ends the key is gone, and with it any
means of reading the file.
"""

from __future__ import annotations

import tempfile
from array import array
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Iterator
from typing import IO, Final
from xml.parsers import expat
from xml.parsers.expat import XMLParserType

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from incident.i18n import _

BLOCK_STRINGS: Final = 512
"""Strings in one block, at most."""
BLOCK_CHARS: Final = 1 << 17
"""Characters in one block, at most (a block closes at the string that reaches it)."""
CACHED_BLOCKS: Final = 8
"""Decrypted blocks kept in memory (most recently used)."""
_SEP: Final = "\x00"  # XML 1.0 cannot hold U+0000, so no string of the table contains it


def local(tag: str) -> str:
    """An element's name without its namespace (``{uri}name``) or prefix (``x:name``)."""
    return tag.rpartition("}")[2].rpartition(":")[2]


def stream(source: IO[bytes], parser: XMLParserType, size: int = 1 << 16) -> Iterator[None]:
    """Feed `source` to the expat `parser` a chunk at a time, pausing after each chunk."""
    while chunk := source.read(size):
        parser.Parse(chunk, False)
        yield None
    parser.Parse(b"", True)
    yield None


class TextItem:
    """Collects the text of a string item (a shared `<si>`, a cell's `<is>`) from expat's events: its plain
    `<t>` and the `<t>` of its rich text runs (`<r>`), without the phonetic guide (`<rPh>`, ふりがな) that
    Japanese Excel adds."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.collecting = False
        self._phonetic = 0

    def start(self, name: str) -> None:
        if name == "t" and not self._phonetic:
            self.collecting = True
        elif name == "rPh":
            self._phonetic += 1

    def end(self, name: str) -> None:
        if name == "t":
            self.collecting = False
        elif name == "rPh":
            self._phonetic -= 1

    def take(self) -> str:
        text = "".join(self.parts)
        self.parts.clear()
        return text


class SharedStrings:
    """The table, by number: ``strings[i]``. `held` and `most_held` count the strings in memory."""

    def __init__(self, source: IO[bytes] | None) -> None:
        self._aead = AESGCM(AESGCM.generate_key(bit_length=256))
        self._file: IO[bytes] | None = None
        self._offsets = array("Q")  # where each block starts in the file, then its end
        self._firsts = array("Q")  # the number of each block's first string
        self._cache: OrderedDict[int, list[str]] = OrderedDict()
        self.count = 0
        self.held = self.most_held = 0
        if source is not None:
            self._file = tempfile.TemporaryFile(prefix="incident-", suffix=".tmp")  # noqa: SIM115 (closed by close)
            try:
                self._spill(source)
            except BaseException:
                self.close()
                raise

    def _spill(self, source: IO[bytes]) -> None:
        pending: list[str] = []
        chars = 0
        item = TextItem()
        inside = False

        def start(name: str, _attrs: object) -> None:
            nonlocal inside
            name = local(name)
            if name == "si":
                inside = True
            elif inside:
                item.start(name)

        def end(name: str) -> None:
            nonlocal inside, pending, chars
            name = local(name)
            if name != "si":
                item.end(name)
                return
            inside = False
            text = item.take().replace("x005F_", "")  # as openpyxl reads Excel's escaped "_x"
            pending.append(text)
            chars += len(text)
            if len(pending) >= BLOCK_STRINGS or chars >= BLOCK_CHARS:
                self._write(pending)
                pending, chars = [], 0

        def data(text: str) -> None:
            if item.collecting:
                item.parts.append(text)

        parser = expat.ParserCreate()
        parser.buffer_text = True
        parser.StartElementHandler = start
        parser.EndElementHandler = end
        parser.CharacterDataHandler = data
        for _unused in stream(source, parser):
            pass
        if pending:
            self._write(pending)
        assert self._file is not None
        self._offsets.append(self._file.tell())

    def _write(self, strings: list[str]) -> None:
        assert self._file is not None
        block = len(self._firsts)
        self._offsets.append(self._file.tell())
        self._firsts.append(self.count)
        self._file.write(self._aead.encrypt(self._nonce(block), _SEP.join(strings).encode("utf-8"), None))
        self.count += len(strings)

    @staticmethod
    def _nonce(block: int) -> bytes:
        return block.to_bytes(12, "big")  # one key per table: a block number is used once

    def __getitem__(self, index: int) -> str:
        if not 0 <= index < self.count:
            raise ValueError(_("shared string {index}, but the workbook's table has {count}").format(index=index, count=self.count))
        block = bisect_right(self._firsts, index) - 1
        strings = self._cache.get(block)
        if strings is None:
            strings = self._read(block)
        else:
            self._cache.move_to_end(block)
        return strings[index - self._firsts[block]]

    def _read(self, block: int) -> list[str]:
        assert self._file is not None
        start, end = self._offsets[block], self._offsets[block + 1]
        self._file.seek(start)
        data = self._aead.decrypt(self._nonce(block), self._file.read(end - start), None)
        strings = data.decode("utf-8").split(_SEP)
        if len(self._cache) >= CACHED_BLOCKS:
            _block, dropped = self._cache.popitem(last=False)
            self.held -= len(dropped)
        self._cache[block] = strings
        self.held += len(strings)
        self.most_held = max(self.most_held, self.held)
        return strings

    def close(self) -> None:
        self._cache.clear()
        self.held = 0
        if self._file is not None:
            self._file.close()
            self._file = None
