"""Where the files of one incident's sending batch are kept: `batches/<ID>/` of the local store directory,
and, on a backend that shares them, somewhere every officer reaches too (`RegisterStore.batch`).

A batch (`incident.notices.batch`) is three files: ``messages.sealed`` (the messages, sealed with the roster
key), ``manifest.json`` (count, hash of the sealed file, who prepared and who approved it) and
``journal.jsonl`` (append-only, one line per recipient state change; no names, no addresses). The batch code
reads and writes them in the local directory, under the directory's own lock; `BatchFiles` is what a backend
adds around that:

- `shared()`, held inside the directory's lock by every prepare, approve and send: on the file store nothing;
  a backend that keeps the batch elsewhere too takes its lock there (one run at a time on any machine),
  brings its files here on entering and keeps the files changed here on leaving normally;
- `journal_sink()`: where each journal line is written before it is written to the local file (on the file
  store none), so that a recipient journaled as sent anywhere is skipped by a resume on any machine;
- `read(*names)`: some of the batch's files as they are now, read without writing anything to disk (a status
  needs the manifest and the journal, never the sealed messages): on the file store the directory's files,
  on a backend that keeps the batch elsewhere too, what it keeps there.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import BinaryIO

MESSAGES = "messages.sealed"
MANIFEST = "manifest.json"
JOURNAL = "journal.jsonl"
#: the lock of the batch directory, held by every prepare, approve and send on this machine
LOCK = "send.lock"
#: the files of a batch kept as they are (the sealed messages and the manifest); the journal is appended to
KEPT = (MESSAGES, MANIFEST)


def file_sha256(f: BinaryIO | Path) -> str:
    """The SHA-256 of a file, or of what is left to read in an open one, read in chunks (a sealed messages
    file can be large)."""
    if isinstance(f, Path):
        with open(f, "rb") as opened:
            return file_sha256(opened)
    digest = hashlib.sha256()
    for chunk in iter(lambda: f.read(1 << 20), b""):
        digest.update(chunk)
    return digest.hexdigest()


class BatchFiles:
    """The batch directory of one incident; on the file store it is all there is (see the module docstring)."""

    def __init__(self, path: Path, incident_id: str = "") -> None:
        self.path = path
        self.incident_id = incident_id

    def shared(self) -> AbstractContextManager[None]:
        """Held inside the batch directory's lock: nothing to do for files that are only here."""
        return nullcontext()

    def journal_sink(self) -> Callable[[str], None] | None:
        """Where a journal line (without its line break) goes before the local file: nowhere else here."""
        return None

    def read(self, *names: str) -> dict[str, bytes]:
        """The content of these files of the batch by name (one that does not exist is left out), read
        without writing anything: here, the batch directory's files."""
        found: dict[str, bytes] = {}
        for name in names:
            try:
                found[name] = (self.path / name).read_bytes()
            except (FileNotFoundError, NotADirectoryError):
                pass
        return found
