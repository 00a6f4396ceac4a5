"""The append-only, tamper-evident audit log (JSON lines, hash-chained).

Every entry carries the SHA-256 of the previous entry (`prev`) and its own (`hash`), computed over
its canonical JSON. `verify` recomputes the chain and names the first bad line: an edited entry
breaks its own hash, a removed or reordered one breaks the link or the sequence, and `audit.head`
(the last sequence number and hash, rewritten after each append) exposes entries cut off the end.
A line torn by a crash is reported by `verify`; the next append moves the fragment to
`audit.torn` and records that repair as an entry of its own, so it is never silently accepted.
Callers hold the store lock while appending.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from incident.fsutil import atomic_write_bytes, fsync_dir

GENESIS = "0" * 64


def _canonical(entry: Mapping[str, Any]) -> bytes:
    body = {k: v for k, v in entry.items() if k != "hash"}
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str).encode()


def entry_hash(entry: Mapping[str, Any]) -> str:
    return hashlib.sha256(_canonical(entry)).hexdigest()


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    entries: int
    #: 1-based line number of the first bad line, when not ok
    line: int | None = None
    problem: str = ""


class AuditLog:
    """The log file of one store."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.head_path = path.with_name(path.name.replace(".log", "") + ".head")
        self.torn_path = path.with_name(path.name.replace(".log", "") + ".torn")

    # ------------------------------------------------------------------ writing (caller holds the lock)

    def append(self, *, actor: str, action: str, incident: str | None, changes: Mapping[str, Any],
               at: datetime) -> dict[str, Any]:
        last_seq, last_hash = self._repair_and_tail(actor=actor, at=at)
        return self._write(last_seq + 1, last_hash, actor=actor, action=action, incident=incident,
                           changes=changes, at=at)

    def _write(self, seq: int, prev: str, *, actor: str, action: str, incident: str | None,
               changes: Mapping[str, Any], at: datetime) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "seq": seq, "ts": at.isoformat(), "actor": actor, "action": action, "incident": incident,
            "changes": dict(changes), "prev": prev,
        }
        entry["hash"] = entry_hash(entry)
        line = json.dumps(entry, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
        new = not self.path.exists()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, (line + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        if new:
            fsync_dir(self.path.parent)
        atomic_write_bytes(self.head_path, json.dumps({"seq": seq, "hash": entry["hash"]}).encode())
        return entry

    def _repair_and_tail(self, *, actor: str, at: datetime) -> tuple[int, str]:
        """The last complete entry's (seq, hash); a torn tail is moved aside and the repair logged."""
        if not self.path.exists():
            return 0, GENESIS
        data_end, torn = self._split_tail()
        if torn:
            fd = os.open(self.torn_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, torn + b"\n")
                os.fsync(fd)
            finally:
                os.close(fd)
            with open(self.path, "r+b") as fh:
                fh.truncate(data_end)
                fh.flush()
                os.fsync(fh.fileno())
        seq, last_hash = self._last_entry()
        if torn:
            entry = self._write(seq + 1, last_hash, actor=actor, action="audit.repair", incident=None,
                                changes={"torn_bytes": len(torn), "torn_sha256": hashlib.sha256(torn).hexdigest(),
                                         "moved_to": self.torn_path.name}, at=at)
            return int(entry["seq"]), str(entry["hash"])
        return seq, last_hash

    def _split_tail(self) -> tuple[int, bytes]:
        """(offset just after the last newline, bytes after it)."""
        size = self.path.stat().st_size
        with open(self.path, "rb") as fh:
            pos = size
            chunk = 4096
            tail = b""
            while pos > 0:
                start = max(0, pos - chunk)
                fh.seek(start)
                tail = fh.read(pos - start) + tail
                pos = start
                idx = tail.rfind(b"\n")
                if idx >= 0:
                    return start + idx + 1, tail[idx + 1:]
            return 0, tail

    def _last_entry(self) -> tuple[int, str]:
        size = self.path.stat().st_size
        if size == 0:
            return 0, GENESIS
        with open(self.path, "rb") as fh:
            pos = size - 1  # skip the final newline
            tail = b""
            while pos > 0:
                start = max(0, pos - 4096)
                fh.seek(start)
                tail = fh.read(pos - start) + tail
                pos = start
                if b"\n" in tail:
                    break
            line = tail.rsplit(b"\n", 1)[-1]
        entry = json.loads(line)
        return int(entry["seq"]), str(entry["hash"])

    # ------------------------------------------------------------------ reading

    def entries(self) -> Iterator[dict[str, Any]]:
        if not self.path.exists():
            return
        with open(self.path, "rb") as fh:
            for raw in fh:
                if raw.endswith(b"\n"):
                    yield json.loads(raw)

    def verify(self) -> VerifyResult:
        if not self.path.exists():
            return VerifyResult(ok=True, entries=0)
        prev = GENESIS
        before_last = GENESIS
        seq = 0
        lineno = 0
        with open(self.path, "rb") as fh:
            for raw in fh:
                lineno += 1
                if not raw.endswith(b"\n"):
                    return VerifyResult(False, seq, lineno, "incomplete last line (torn write, e.g. a crash); "
                                        "the next change moves it to audit.torn and logs the repair")
                try:
                    entry = json.loads(raw)
                except json.JSONDecodeError:
                    return VerifyResult(False, seq, lineno, "not valid JSON (edited or damaged)")
                if not isinstance(entry, dict) or "hash" not in entry:
                    return VerifyResult(False, seq, lineno, "not an audit entry")
                if entry_hash(entry) != entry["hash"]:
                    return VerifyResult(False, seq, lineno, "content does not match its hash (edited)")
                if entry.get("prev") != prev:
                    return VerifyResult(False, seq, lineno,
                                        "does not follow the entry before it (an entry removed or reordered)")
                if entry.get("seq") != seq + 1:
                    return VerifyResult(False, seq, lineno,
                                        f"sequence {entry.get('seq')} where {seq + 1} was expected")
                before_last, prev = prev, entry["hash"]
                seq += 1
        problem = self._check_head(seq, prev, before_last)
        if problem:
            return VerifyResult(False, seq, lineno + 1 if seq else 1, problem)
        return VerifyResult(ok=True, entries=seq)

    def _check_head(self, seq: int, last_hash: str, before_last: str) -> str:
        if not self.head_path.exists():
            return "" if seq == 0 else "audit.head is missing"
        try:
            head = json.loads(self.head_path.read_bytes())
        except (json.JSONDecodeError, OSError):
            return "audit.head is damaged"
        if head.get("seq") == seq and head.get("hash") == last_hash:
            return ""
        if head.get("seq") == seq - 1 and head.get("hash") == before_last:
            return ""  # a crash between the append and the head update: the chain itself is whole
        if isinstance(head.get("seq"), int) and head["seq"] > seq:
            return f"the log ends at entry {seq} but {head['seq']} were written (entries removed from the end)"
        return "audit.head does not match the last entry"
