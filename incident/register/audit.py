"""The append-only, tamper-evident audit log (JSON lines, chained and bound to a secret key).

Every entry carries the hash of the previous entry (`prev`) and its own (`hash`), an HMAC-SHA256 of its
canonical JSON under the store's audit key (`v = 2`), so only the toolkit can extend or rewrite the
chain: an edited entry breaks its own hash, a removed or reordered one breaks the link or the sequence,
a recomputed chain fails without the key. `audit.head` (the last sequence number and hash, with its
own HMAC) exposes entries cut off the end. An entry that changes a record names the SHA-256 of the
record file as written (`record_sha256`), so `verify` also finds a record whose content does not
match its last audited state (edited by hand, restored from elsewhere, or left without its entry).

A line torn by a crash is reported by `verify`; the next append moves the fragment to `audit.torn`
and records that repair as an entry of its own, with what the head said: a "torn" last line behind a
head that had already counted that entry is a removal made to look like a crash, and stays a failure.

Stores written before the key existed hold plain SHA-256 entries (no `v`): they stay readable, and the
first change by this version binds the log to a new key with an `audit.upgrade` entry naming the
records' state at that moment. Callers hold the store lock while appending.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from incident.fsutil import atomic_write_bytes, fsync_dir
from incident.i18n import N_, _
from incident.register.actors import IMPORTED

GENESIS = "0" * 64
VERSION = 2
UPGRADE = "audit.upgrade"
REPAIR = "audit.repair"

#: the store's audit key: (key, created just now) or None where the store has none yet
KeyProvider = Callable[[bool], tuple[bytes, bool] | None]


def _canonical(entry: Mapping[str, Any]) -> bytes:
    body = {k: v for k, v in entry.items() if k != "hash"}
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str).encode()


def entry_hash(entry: Mapping[str, Any], key: bytes | None = None) -> str:
    """HMAC-SHA256 under `key` for a keyed entry (v = 2); plain SHA-256 for entries written before keys."""
    if entry.get("v") == VERSION:
        if key is None:
            return ""
        return hmac.new(key, _canonical(entry), hashlib.sha256).hexdigest()
    return hashlib.sha256(_canonical(entry)).hexdigest()


def _head_mac(key: bytes, seq: int, last_hash: str) -> str:
    return hmac.new(key, f"audit.head:{seq}:{last_hash}".encode(), hashlib.sha256).hexdigest()


def file_sha256(path: Path) -> str | None:
    """SHA-256 of a file's bytes, None when it does not exist."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return None


@dataclass(frozen=True)
class Problem:
    """What is wrong with a log: a message marked with N_() and its values, said in English (the JSON's
    `problem`) or in the run's language (what the officer reads)."""

    message: str
    values: Mapping[str, object] = field(default_factory=dict)

    def english(self) -> str:
        return self.message.format(**self.values)

    def __str__(self) -> str:
        return _(self.message).format(**self.values)


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    entries: int
    #: 1-based line number of the first bad line, when not ok (None for a problem outside the log)
    line: int | None = None
    #: what is wrong, when not ok
    found: Problem | None = None
    #: the last entry's hash (what `audit anchor` prints)
    head: str = ""
    keyed: bool = False

    @property
    def problem(self) -> str:
        """The problem in English, as JSON gives it ('' when ok)."""
        return self.found.english() if self.found else ""

    def shown(self) -> str:
        """The problem in the run's language ('' when ok)."""
        return str(self.found) if self.found else ""


class AuditLog:
    """The log file of one store."""

    def __init__(self, path: Path, key: KeyProvider | None = None,
                 baseline: Callable[[], Mapping[str, str]] | None = None) -> None:
        """`key` gives the store's audit key; `baseline` the SHA-256 of every record file (for an upgrade)."""
        self.path = path
        self.head_path = path.with_name(path.name.replace(".log", "") + ".head")
        self.torn_path = path.with_name(path.name.replace(".log", "") + ".torn")
        self._key_provider = key
        self._baseline = baseline

    def _key(self, create: bool) -> tuple[bytes, bool] | None:
        return self._key_provider(create) if self._key_provider is not None else None

    # ------------------------------------------------------------------ writing (caller holds the lock)

    def append(self, *, actor: str, action: str, incident: str | None, changes: Mapping[str, Any],
               at: datetime, record_sha256: str | None = None) -> dict[str, Any]:
        """Append one entry (`record_sha256`: the record file as this change wrote it)."""
        found = self._key(True)
        key = found[0] if found else None
        last_seq, last_hash, keyed = self._repair_and_tail(actor=actor, at=at, key=key)
        if key is not None and not keyed and last_seq > 0 and found is not None and found[1]:
            # a store from before keys, bound now: say so, with the records' state at this moment
            upgrade = self._write(last_seq + 1, last_hash, key, actor=actor, action=UPGRADE, incident=None,
                                  changes={"from": "sha256", "to": "hmac-sha256", "legacy_entries": last_seq,
                                           "records": dict(self._baseline() if self._baseline else {})},
                                  at=at)
            last_seq, last_hash = int(upgrade["seq"]), str(upgrade["hash"])
        return self._write(last_seq + 1, last_hash, key, actor=actor, action=action, incident=incident,
                           changes=changes, at=at, record_sha256=record_sha256)

    def _write(self, seq: int, prev: str, key: bytes | None, *, actor: str, action: str, incident: str | None,
               changes: Mapping[str, Any], at: datetime, record_sha256: str | None = None,
               role: str | None = None, imported: Mapping[str, Any] | None = None) -> dict[str, Any]:
        entry, line = make_entry(seq, prev, key, actor=actor, action=action, incident=incident, changes=changes,
                                 at=at, record_sha256=record_sha256, role=role, imported=imported)
        new = not self.path.exists()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, (line + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        if new:
            fsync_dir(self.path.parent)
        atomic_write_bytes(self.head_path, json.dumps(make_head(seq, entry["hash"], key)).encode())
        return entry

    def _repair_and_tail(self, *, actor: str, at: datetime, key: bytes | None) -> tuple[int, str, bool]:
        """The last complete entry's (seq, hash, keyed); a torn tail is moved aside and the repair logged."""
        if not self.path.exists():
            return 0, GENESIS, False
        data_end, torn = self._split_tail()
        head = self._read_head()
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
        seq, last_hash, keyed = self._last_entry()
        if torn:
            head_seq = head.get("seq") if isinstance(head, dict) else None
            entry = self._write(seq + 1, last_hash, key, actor=actor, action=REPAIR, incident=None,
                                changes={"torn_bytes": len(torn), "torn_sha256": hashlib.sha256(torn).hexdigest(),
                                         "moved_to": self.torn_path.name, "last_complete": seq,
                                         "head_seq": head_seq if isinstance(head_seq, int) else None},
                                at=at)
            return int(entry["seq"]), str(entry["hash"]), key is not None
        return seq, last_hash, keyed

    def _read_head(self) -> dict[str, Any] | None:
        try:
            head = json.loads(self.head_path.read_bytes())
        except (FileNotFoundError, ValueError, OSError):
            return None
        return head if isinstance(head, dict) else None

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

    def _last_entry(self) -> tuple[int, str, bool]:
        """(seq, hash, whether the log holds a keyed entry) of the last complete entry."""
        seq, last_hash, keyed = 0, GENESIS, False
        for entry in self.entries():
            seq, last_hash = int(entry["seq"]), str(entry["hash"])
            keyed = keyed or entry.get("v") == VERSION
        return seq, last_hash, keyed

    # ------------------------------------------------------------------ reading

    def entries(self) -> Iterator[dict[str, Any]]:
        if not self.path.exists():
            return
        with open(self.path, "rb") as fh:
            for raw in fh:
                if raw.endswith(b"\n"):
                    yield json.loads(raw)

    def last(self) -> dict[str, Any] | None:
        found = None
        for found in self.entries():
            pass
        return found

    def verify(self, records: Mapping[str, str] | None = None, *, anchor: str | None = None) -> VerifyResult:
        """Check the chain, the head and, given {incident: SHA-256 of its file}, every record's content."""
        found = self._key(False)
        if not self.path.exists():
            return verify_lines((), self._read_head(), self.head_path.exists(), found[0] if found else None,
                                records, anchor=anchor)
        with open(self.path, "rb") as fh:
            return verify_lines(fh, self._read_head(), self.head_path.exists(), found[0] if found else None,
                                records, anchor=anchor)


def make_entry(seq: int, prev: str, key: bytes | None, *, actor: str, action: str, incident: str | None,
               changes: Mapping[str, Any], at: datetime, record_sha256: str | None = None,
               role: str | None = None, imported: Mapping[str, Any] | None = None) -> tuple[dict[str, Any], str]:
    """The entry that follows `prev` as `seq`, and its line (canonical JSON, without the newline). `role`: the
    authenticated identity that writes it where the backend has one (a database role); `actor` is then the
    name the person gave, recorded for display. `imported`: the entry is a copy of another log's entry
    (`incident db import`, `db export`), whose author is `actor` and the mark's `role`, at `at` as the source
    recorded them (`incident.register.actors.author_of`); the mark names the source entry's `seq` and
    `hash`. The hash covers it like every other field."""
    entry: dict[str, Any] = {
        "seq": seq, "ts": at.isoformat(), "actor": actor, "action": action, "incident": incident,
        "changes": dict(changes), "prev": prev,
    }
    if role is not None:
        entry["role"] = role
    if imported is not None:
        entry[IMPORTED] = dict(imported)
    if record_sha256 is not None:
        entry["record_sha256"] = record_sha256
    if key is not None:
        entry["v"] = VERSION
    entry["hash"] = entry_hash(entry, key)
    return entry, json.dumps(entry, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def make_head(seq: int, last_hash: str, key: bytes | None) -> dict[str, Any]:
    """The head after entry `seq` (signed under the key)."""
    head: dict[str, Any] = {"seq": seq, "hash": last_hash}
    if key is not None:
        head["mac"] = _head_mac(key, seq, last_hash)
    return head


@dataclass(frozen=True)
class Link:
    """An entry the verifier may not read (another department's, on a shared register): only its place in
    the chain, which is checked; its content is checked by whoever may read it."""

    seq: int
    hash: str
    prev: str


def verify_lines(lines: Iterable[bytes | Link], head: dict[str, Any] | None, head_exists: bool, key: bytes | None,
                 records: Mapping[str, str] | None = None, *, anchor: str | None = None) -> VerifyResult:
    """Check a log given as its lines (each with its newline), its head, and, given {incident: SHA-256 of its
    record}, every record's content; the same checks whichever backend keeps the lines."""
    state = _ChainState(key)
    lineno = 0
    for raw in lines:
        lineno += 1
        problem = state.feed_link(raw) if isinstance(raw, Link) else state.feed(raw)
        if problem:
            return VerifyResult(False, state.seq, lineno, problem, state.prev, state.keyed)
    problem = state.finish(head, head_exists)
    if problem:
        return VerifyResult(False, state.seq, lineno + 1 if state.seq else 1, problem, state.prev, state.keyed)
    if records is not None:
        problem = state.check_records(records)
        if problem:
            return VerifyResult(False, state.seq, None, problem, state.prev, state.keyed)
    if anchor is not None and anchor.split(":")[-1] not in state.hashes:
        return VerifyResult(False, state.seq, None, Problem(N_("the anchor {anchor} is not in the log (the log was "
                                                                "rewritten or cut before it)"), {"anchor": anchor}),
                            state.prev, state.keyed)
    return VerifyResult(True, state.seq, head=state.prev, keyed=state.keyed)


class _ChainState:
    """What `verify` has learned so far, line by line."""

    def __init__(self, key: bytes | None) -> None:
        self.key = key
        self.prev = GENESIS
        self.before_last = GENESIS
        self.seq = 0
        self.keyed = False
        self.upgraded = False
        self.hashes: set[str] = set()
        #: incident -> SHA-256 of its file after the last audited change (None: audited before hashes)
        self.audited: dict[str, str | None] = {}

    def feed(self, raw: bytes) -> Problem | None:
        if not raw.endswith(b"\n"):
            return Problem(N_("incomplete last line (torn write, e.g. a crash); the next change moves it to "
                              "audit.torn and logs the repair"))
        try:
            entry = json.loads(raw)
        except ValueError:
            return Problem(N_("not valid JSON (edited or damaged)"))
        if not isinstance(entry, dict) or not isinstance(entry.get("hash"), str):
            return Problem(N_("not an audit entry"))
        if entry.get("v") == VERSION:
            if self.key is None:
                return Problem(N_("a keyed entry, but this store's audit key is missing (keyring entry or key file "
                                  "removed)"))
            self.keyed = True
        elif self.keyed or (self.key is not None and self.upgraded):
            return Problem(N_("an entry without the key's signature after the log was bound to its key (forged)"))
        if not hmac.compare_digest(entry_hash(entry, self.key), entry["hash"]):
            return Problem(N_("content does not match its hash (edited, or the chain recomputed without the key)"))
        if entry.get("prev") != self.prev:
            return Problem(N_("does not follow the entry before it (an entry removed or reordered)"))
        if entry.get("seq") != self.seq + 1:
            return Problem(N_("sequence {found} where {expected} was expected"),
                           {"found": entry.get("seq"), "expected": self.seq + 1})
        problem = self._note(entry)
        if problem:
            return problem
        self.before_last, self.prev = self.prev, entry["hash"]
        self.hashes.add(entry["hash"])
        self.seq += 1
        return None

    def feed_link(self, link: Link) -> Problem | None:
        if link.prev != self.prev:
            return Problem(N_("does not follow the entry before it (an entry removed or reordered)"))
        if link.seq != self.seq + 1:
            return Problem(N_("sequence {found} where {expected} was expected"),
                           {"found": link.seq, "expected": self.seq + 1})
        if self.key is not None:
            self.keyed = True  # entries written on a shared register are all keyed
        self.before_last, self.prev = self.prev, link.hash
        self.hashes.add(link.hash)
        self.seq += 1
        return None

    def _note(self, entry: Mapping[str, Any]) -> Problem | None:
        changes = entry.get("changes") if isinstance(entry.get("changes"), dict) else {}
        assert isinstance(changes, dict)
        action = entry.get("action")
        if action == UPGRADE and entry.get("v") == VERSION:
            self.upgraded = True
            records = changes.get("records")
            if isinstance(records, dict):
                self.audited.update({str(k): str(v) for k, v in records.items()})
        if action == REPAIR:
            head_seq, last = changes.get("head_seq"), changes.get("last_complete")
            if isinstance(head_seq, int) and isinstance(last, int) and head_seq > last:
                return Problem(N_("entries {first}..{last} were removed and the end made to look like a torn "
                                  "write (the head had counted them)"), {"first": last + 1, "last": head_seq})
        incident = entry.get("incident")
        if isinstance(incident, str) and incident:
            sha = entry.get("record_sha256")
            if isinstance(sha, str):
                self.audited[incident] = sha
            elif entry.get("v") != VERSION:
                self.audited.setdefault(incident, None)
        return None

    def finish(self, head: dict[str, Any] | None, head_exists: bool) -> Problem | None:
        if self.key is not None and self.seq and not self.keyed:
            return Problem(N_("this store has an audit key but the log holds no entry made with it (the log was "
                              "replaced)"))
        if not head_exists:
            return None if self.seq == 0 else Problem(N_("audit.head is missing"))
        if head is None:
            return Problem(N_("audit.head is damaged"))
        if self.keyed:
            seq, last_hash = head.get("seq"), head.get("hash")
            if not isinstance(seq, int) or not isinstance(last_hash, str) or self.key is None or \
                    not hmac.compare_digest(str(head.get("mac", "")), _head_mac(self.key, seq, last_hash)):
                return Problem(N_("audit.head is not the toolkit's (its signature does not match)"))
        if head.get("seq") == self.seq and head.get("hash") == self.prev:
            return None
        if head.get("seq") == self.seq - 1 and head.get("hash") == self.before_last:
            return None  # a crash between the append and the head update: the chain itself is whole
        if isinstance(head.get("seq"), int) and head["seq"] > self.seq:
            return Problem(N_("the log ends at entry {seq} but {written} were written (entries removed from the "
                              "end)"), {"seq": self.seq, "written": head["seq"]})
        return Problem(N_("audit.head does not match the last entry"))

    def check_records(self, records: Mapping[str, str]) -> Problem | None:
        for incident in sorted(records):
            if incident not in self.audited:
                return Problem(N_("incident {incident} has no audit entry (its record was made or restored outside "
                                  "the toolkit, or the log was cut)"), {"incident": incident})
            expected = self.audited[incident]
            if expected is not None and expected != records[incident]:
                return Problem(N_("incident {incident} does not match its last audited state (the record was "
                                  "changed outside the toolkit)"), {"incident": incident})
        for incident in sorted(set(self.audited) - set(records)):
            if self.audited[incident] is not None:
                return Problem(N_("incident {incident} is in the log but its record is gone"), {"incident": incident})
        return None
