"""A batch of individual e-mail notices on disk: prepared, approved by a second person, journaled.

A batch lives in one 0700 directory and holds no personal data in plaintext:

``messages.sealed``
    the messages, encrypted with the store's roster key (AES-256-GCM) as a sealed file
    (`incident.notices.sealed`, magic ``INCBTCH1``, no META frame, nothing after the END frame): a header
    with a key check, ROWS_Z frames of up to 1,000 messages (1 MiB) each, compressed before they are
    encrypted (the messages repeat one wording: a batch is a fraction of the size of the encrypted
    roster), an END frame with the count;
    frames cannot be dropped, reordered or moved between files unnoticed.
``manifest.json``
    count, SHA-256 of the messages file *as stored* (the ciphertext), who prepared and who approved it.
    Hashing the ciphertext lets approval and sending check the file without the key, and the hash
    (which goes to the audit log) reveals nothing: random nonces make it unrelated to the contents.
    The sample the approver reads is the batch's first message, decrypted on demand (`read_sample`).
``journal.jsonl``
    append-only, one line per state change: recipient key, state (``sending`` before the SMTP
    transaction, then ``sent`` or ``failed``), Message-ID, time and error, with any e-mail address in
    an error replaced by ``<address>``. No names, no addresses.

What a failure can cost. Every journal entry is one os.write of a whole line, and the ``sending``
entry is written before the message's SMTP transaction starts. Written data sits in the OS page
cache, which outlives the process, so a crash or a SIGKILL at any point loses no entry: a recipient
whose last state is ``sent`` is never sent again, and one left at ``sending`` is sent again on resume
with the same deterministic Message-ID (at most one such duplicate per crash, which mail clients can
recognise). fsync only protects against a power loss or an OS crash, so the journal is fsync'd every
`JournalWriter.SYNC_EVERY` (100) entries, on close, and when a run stops on an error. A power loss
can lose at most the entries after the last fsync, one group of 100: a resume then sends again at
most 51 messages (the at most 50 whose outcome was among those entries, plus the one in flight),
each with its same Message-ID. A torn last line is dropped on resume.

On the shared register the store keeps the batch in the database too (`RegisterStore.batch` hands the
functions here a `BatchFiles`, `incident.register.batchfiles`): each journal line reaches the database
before the local file, committed, so the guarantee above holds across machines, and a power loss of the
sending machine loses no entry that was committed.

The preparer cannot approve their own batch (ダブルチェック). Sending itself (SMTP) is in
`incident.notices.delivery`.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, Final, Literal, NamedTuple, get_args

from incident.errors import InputError, NotFoundError, RefusedError
from incident.fsutil import LockBusy, file_lock, fsync_dir
from incident.i18n import N_, _
from incident.notices import sealed
from incident.notices.emailaddr import check_email
from incident.register.actors import (
    Author,
    Identities,
    author_of,
    identities,
    same_actor,
    same_author,
    signed_in_as_one_of,
    told_apart,
)
from incident.register.batchfiles import JOURNAL, LOCK, MANIFEST, MESSAGES, BatchFiles, file_sha256

JournalState = Literal["sending", "sent", "failed"]

Where = Path | BatchFiles
"""A batch's directory, or the store's `BatchFiles` of it (`RegisterStore.batch`: where else it is kept)."""
_LEGACY_MESSAGES = "messages.jsonl"
"""The plaintext messages file of manifest format 1: removed when a batch is prepared again."""
_MANIFEST_FORMAT = 2

MAGIC: Final = b"INCBTCH1"
_DAMAGED = N_("the batch messages file is truncated, damaged or altered (frame {index}); prepare the batch again")
FORMAT: Final = sealed.SealedFormat(
    magic=MAGIC,
    key_noun="batch",
    meta=False,
    not_sealed=N_("not an encrypted batch messages file; prepare the batch again"),
    wrong_key=N_("the key does not match this batch (it was prepared with another roster key: check "
                 "INCIDENT_KEY_FILE / key_file, or the keyring of the machine that prepared it)"),
    truncated=_DAMAGED,
    damaged=_DAMAGED,
    altered=_DAMAGED,
    bad_kind=N_("the batch messages file is damaged (frame kind {kind}); prepare the batch again"),
    count_mismatch=N_("the batch messages file is damaged (count mismatch)"),
    data_after_end=N_("the batch messages file is damaged (data after the end frame)"),
    compress=True,
)

_ANY_ADDRESS = re.compile(r"<?(?<![^\s<>@])[^\s<>@]+@[^\s<>@]+>?")
"""An address, bracketed or not. The look-behind starts a match only where a run of address characters
starts (after white space, <, > or @, or at the start): the leftmost match always starts there anyway,
and without it a long run with no @ costs as many tries as it has characters, each of up to its length
(quadratic: a hostile server's 100 KB reply took a minute)."""


@dataclass(frozen=True)
class OutgoingMessage:
    """One rendered notice for one person (plain text, UTF-8)."""

    recipient_key: str
    """Stable roster key of the person; the journal and the Message-ID are keyed by it."""
    to_addr: str
    to_name: str
    subject: str
    body: str


@dataclass(frozen=True)
class BatchManifest:
    """What was prepared, and by whom it was prepared and approved."""

    incident_id: str
    count: int
    sha256: str
    """SHA-256 of the messages file as stored (encrypted)."""
    prepared_by: str
    prepared_at: str
    approved_by: str | None = None
    approved_at: str | None = None
    approved_sha256: str | None = None


@dataclass(frozen=True)
class BatchStatus:
    """Counts per recipient state, from the manifest and the journal's last entry per recipient."""

    incident_id: str
    total: int
    pending: int
    sending: int
    sent: int
    failed: int
    prepared_by: str
    approved_by: str | None
    failures: tuple[tuple[str, str], ...] = ()
    """(key, error) of each recipient whose last attempt failed: retried on the next resume."""


_HEADER_BREAKING = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
"""The characters of Unicode categories Cc, Zl and Zp: all of them, and nothing else."""


def check_header_text(value: str, who: str, field: str) -> None:
    """InputError when `value` holds a line break or control character (it could start a new header)."""
    found = _HEADER_BREAKING.search(value)
    if found is not None:
        raise InputError(
            _("{who}: {field} contains a line break or control character (U+{ord:04X}); header fields must be a single line")
            .format(who=who, field=field, ord=ord(found[0])), field=field)


def check_address(addr: str, who: str, field: str) -> None:
    """InputError unless `addr` is exactly one bare ASCII address (no list, no display name), by the
    rule roster import applies (`incident.notices.emailaddr`)."""
    check_header_text(addr, who, field)
    check_email(addr, who, field)


def validate_message(msg: OutgoingMessage) -> None:
    """Refuse anything that could add a recipient or a header (InputError naming key and field)."""
    if not msg.recipient_key.strip():
        raise InputError(_("a message has an empty recipient_key"), field="recipient_key")
    who = f"recipient {msg.recipient_key}"
    check_header_text(msg.recipient_key, who, "recipient_key")
    check_address(msg.to_addr, who, "to_addr")
    check_header_text(msg.to_name, who, "to_name")
    check_header_text(msg.subject, who, "subject")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _actor(actor: str) -> str:
    if not actor.strip():
        raise InputError(_("an actor (who is doing this) is required"), field="actor")
    return actor.strip()


def _same_person(a: str, b: str) -> bool:
    return same_actor(a, b)


@contextmanager
def _atomic_open(path: Path) -> Iterator[BinaryIO]:
    """Write a temporary file beside `path` (mode 0600), fsync it, then os.replace it into place."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def _files(where: Where) -> BatchFiles:
    return where if isinstance(where, BatchFiles) else BatchFiles(where)


@contextmanager
def _batch_lock(where: Where) -> Iterator[None]:
    """An exclusive lock on the batch: one writer at a time (released by the OS if the process dies), and
    the store's share of it (`BatchFiles.shared`: where the batch is kept besides this directory)."""
    files = _files(where)
    batch_dir = files.path
    if not batch_dir.is_dir():  # made here for a batch the store keeps elsewhere, brought by `shared()`
        if MANIFEST not in files.read(MANIFEST):
            raise NotFoundError(_("no prepared batch in {batch_dir}; prepare one first")
                                .format(batch_dir=batch_dir))
        batch_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        with file_lock(batch_dir / LOCK, wait=False), files.shared():
            yield
    except LockBusy:
        raise RefusedError(_("another prepare, approve or send is running on {batch_dir}")
                           .format(batch_dir=batch_dir)) from None


def check_logged_approval(entries: Iterable[Mapping[str, Any]], incident_id: str,
                          manifest: BatchManifest) -> Identities:
    """The double check as the audit log records it, not as the manifest says: the batch with this hash
    was prepared by one person and approved by another, each in an entry of the (verified) log; how the two
    were told apart (authenticated roles, or names; as an imported log recorded them).

    RefusedError otherwise: a manifest edited by hand to look approved sends nothing.
    """
    preparers: list[Author] = []
    approvers: list[Author] = []
    for entry in entries:
        if entry.get("incident") != incident_id or not isinstance(entry.get("changes"), dict):
            continue
        if entry["changes"].get("sha256") != manifest.sha256:
            continue
        if entry.get("action") == "send-prepare":
            preparers.append(author_of(entry))
        elif entry.get("action") == "send-approve":
            approvers.append(author_of(entry))
    if not preparers:
        raise RefusedError(_("the audit log has no preparation of the batch {value}… of {incident_id}; prepare it again (`incident send {incident_id} --prepare`)")
                           .format(value=manifest.sha256[:16], incident_id=incident_id))
    second = [a for a in approvers if not any(same_author(a, p) for p in preparers)]
    if not second:
        raise RefusedError(_("the audit log has no approval of the batch {value}… of {incident_id} by someone other than its preparer; a second person must run `incident send {incident_id} --approve` (ダブルチェック)")
                           .format(value=manifest.sha256[:16], incident_id=incident_id))
    return identities(second[0], *preparers)


def check_approver(entries: Iterable[Mapping[str, Any]], manifest: BatchManifest, actor: str,
                   identity: str | None) -> Identities:
    """Refuse an approval by the authenticated identity that prepared the batch under another name (the
    preparation's author as the log records it: for an imported entry the source's, never the importer's
    role); with no identity (the file store), or the preparer's own name, `approve_batch` compares the
    names. How the approver and the preparer are told apart."""
    me = Author(actor, identity)
    preparers = [author_of(entry) for entry in entries
                 if entry.get("incident") == manifest.incident_id and entry.get("action") == "send-prepare" and
                 isinstance(entry.get("changes"), dict) and entry["changes"].get("sha256") == manifest.sha256]
    if not _same_person(actor, manifest.prepared_by) and signed_in_as_one_of(me, preparers):
        raise RefusedError(_("{identity} prepared this batch; a second person, signed in as someone else, must approve it (ダブルチェック)")
                           .format(identity=identity))
    return told_apart(me, preparers, manifest.prepared_by)


def _write_manifest(batch_dir: Path, manifest: BatchManifest) -> None:
    with _atomic_open(batch_dir / MANIFEST) as out:
        out.write(json.dumps({"format": _MANIFEST_FORMAT, **asdict(manifest)}, ensure_ascii=False,
                             indent=2).encode())


def load_manifest(where: Where) -> BatchManifest:
    """The batch's manifest in its directory (NotFoundError when no batch was prepared there)."""
    return read_manifest(_files(where).path)


def read_manifest(where: Where) -> BatchManifest:
    """The batch's manifest where the store keeps it (`BatchFiles.read`), nothing written to disk."""
    files = _files(where)
    return _manifest_of(files.read(MANIFEST).get(MANIFEST), files.path)


def _manifest_of(raw: bytes | None, batch_dir: Path) -> BatchManifest:
    """The manifest from its file's content (None: there is none)."""
    path = batch_dir / MANIFEST
    if raw is None:
        raise NotFoundError(_("no prepared batch in {batch_dir}; prepare one first")
                            .format(batch_dir=batch_dir))
    try:
        data: dict[str, Any] = json.loads(raw.decode("utf-8"))
        if data.pop("format") != _MANIFEST_FORMAT:
            raise InputError(_("unsupported batch manifest format; prepare the batch again"), file=path)
        return BatchManifest(**data)
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(_("the batch manifest is unreadable ({exc}); prepare the batch again")
                         .format(exc=exc),
                         file=path) from None


class Journal(NamedTuple):
    """What the journal says so far."""

    last: dict[str, tuple[JournalState, str | None]]
    """Per recipient key: the last state and its error."""
    entries: int
    torn: bool
    """The last line was torn (a crash mid-write)."""


def read_journal(path: Path, *, repair: bool) -> Journal:
    """Last state per key. A torn last line is ignored (and truncated away when `repair`)."""
    if not path.exists():
        return Journal({}, 0, False)
    with open(path, "rb") as f:
        journal, good_end = _journal_of(f, path)
    if journal.torn and repair:
        with open(path, "r+b") as torn:
            torn.truncate(good_end)
            os.fsync(torn.fileno())
    return journal


def _journal_of(lines: Iterable[bytes], path: Path) -> tuple[Journal, int]:
    """What the journal's lines (each with its line break) say, and the length of its whole entries."""
    last: dict[str, tuple[JournalState, str | None]] = {}
    entries = good_end = 0
    bad_line: int | None = None
    for number, raw in enumerate(lines, 1):
        if bad_line is not None:
            raise InputError(_("the send journal is corrupt (a line that is not the last one is unreadable)"),
                             file=path, line=bad_line)
        try:
            entry = json.loads(raw) if raw.endswith(b"\n") else None
            if not (isinstance(entry, dict) and isinstance(entry.get("key"), str)
                    and entry.get("state") in get_args(JournalState)):
                raise ValueError
        except ValueError:
            bad_line = number
            continue
        last[entry["key"]] = (entry["state"], entry.get("error"))
        entries += 1
        good_end += len(raw)
    return Journal(last, entries, bad_line is not None), good_end


def redact_addresses(text: str) -> str:
    """`text` with every e-mail address (bracketed or not) replaced by ``<address>``."""
    return _ANY_ADDRESS.sub("<address>", text)


class JournalWriter:
    """Append-only journal: one os.write of a whole line per entry, fsync'd every SYNC_EVERY entries
    and on close (the module docstring says what a crash or a power loss can cost). `sink`: where each
    line goes first (the store's `BatchFiles.journal_sink`: the journal another machine resumes from)."""

    SYNC_EVERY: Final = 100

    def __init__(self, path: Path, sink: Callable[[str], None] | None = None) -> None:
        existed = path.exists()
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._unsynced = 0
        self._sink = sink
        if not existed:
            fsync_dir(path.parent)

    def append(self, key: str, state: JournalState, mid: str, error: str | None = None) -> None:
        """Journal one state change; any address in `error` is redacted."""
        entry = {"key": key, "state": state, "message_id": mid, "at": _now(),
                 "error": None if error is None else redact_addresses(error)}
        line = json.dumps(entry, ensure_ascii=False)
        if self._sink is not None:  # kept there before here: what the local file says, the store says too
            self._sink(line)
        os.write(self._fd, (line + "\n").encode())
        self._unsynced += 1
        if self._unsynced >= self.SYNC_EVERY:
            self.sync()

    def sync(self) -> None:
        """fsync what was appended since the last one."""
        if self._unsynced:
            os.fsync(self._fd)
            self._unsynced = 0

    def close(self) -> None:
        try:
            self.sync()
        finally:
            os.close(self._fd)


# -- the encrypted messages file -----------------------------------------------------------------------


class _Hashing:
    """Writes through to `out` and hashes every byte written."""

    def __init__(self, out: BinaryIO) -> None:
        self._out, self.digest = out, hashlib.sha256()

    def write(self, data: bytes, /) -> None:
        self.digest.update(data)
        self._out.write(data)


def _unsealed(f: BinaryIO, key: bytes, path: Path) -> Iterator[OutgoingMessage]:
    """The messages, decrypted one frame at a time."""
    for recipient_key, to_addr, to_name, subject, body in sealed.SealedReader(f, key, FORMAT, path).rows():
        yield OutgoingMessage(recipient_key, to_addr, to_name, subject, body)


def read_sample(where: Where, key: bytes) -> OutgoingMessage:
    """The batch's first message, decrypted, for the preparer and the approver to read."""
    batch_dir = _files(where).path
    try:
        with open(batch_dir / MESSAGES, "rb") as f:
            return next(iter(_unsealed(f, key, batch_dir / MESSAGES)))
    except FileNotFoundError:
        raise NotFoundError(_("no prepared batch in {batch_dir}; prepare one first")
                            .format(batch_dir=batch_dir)) from None


# -- prepare, approve, status, send ------------------------------------------------------------------------


def prepare_batch(
    where: Where, incident_id: str, messages: Iterable[OutgoingMessage], actor: str, *, key: bytes
) -> BatchManifest:
    """Encrypt the messages (streamed) with `key` and write an unapproved manifest.

    Refused once sending has started.
    """
    actor = _actor(actor)
    check_header_text(incident_id, "incident", "incident_id")
    sealed.check_key(key, FORMAT)  # a key of the wrong length fails before anything is written
    batch_dir = _files(where).path
    batch_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    batch_dir.chmod(0o700)
    with _batch_lock(where):
        if read_journal(batch_dir / JOURNAL, repair=False).entries:
            raise RefusedError(_("sending of the batch in {batch_dir} has already started; finish it with --resume instead of preparing it again")
                               .format(batch_dir=batch_dir))
        (batch_dir / JOURNAL).unlink(missing_ok=True)
        keys: set[str] = set()
        with _atomic_open(batch_dir / MESSAGES) as out:
            hashing = _Hashing(out)
            writer = sealed.SealedWriter(hashing, key, FORMAT)
            for msg in messages:
                validate_message(msg)
                if msg.recipient_key in keys:
                    raise InputError(_("recipient {recipient_key} appears twice in the batch")
                                     .format(recipient_key=msg.recipient_key),
                                     field="recipient_key")
                keys.add(msg.recipient_key)
                writer.add([msg.recipient_key, msg.to_addr, msg.to_name, msg.subject, msg.body],
                           len(msg.body) + len(msg.subject) + len(msg.to_name) + len(msg.to_addr))
            if not keys:
                raise InputError(_("nothing to send: the batch has no messages"))
            writer.finish()
            sha256 = hashing.digest.hexdigest()
        (batch_dir / _LEGACY_MESSAGES).unlink(missing_ok=True)
        manifest = BatchManifest(incident_id=incident_id, count=len(keys), sha256=sha256, prepared_by=actor,
                                 prepared_at=_now())
        _write_manifest(batch_dir, manifest)
    return manifest


def approve_batch(where: Where, actor: str) -> BatchManifest:
    """Record a second person's approval (refused for the preparer or a changed messages file)."""
    actor = _actor(actor)
    batch_dir = _files(where).path
    with _batch_lock(where):
        manifest = load_manifest(batch_dir)
        if _same_person(actor, manifest.prepared_by):
            raise RefusedError(_("{actor} prepared this batch and cannot also approve it: the double check (ダブルチェック) needs a second person")
                               .format(actor=actor))
        if manifest.approved_by is not None:
            raise RefusedError(_("the batch was already approved by {approved_by} at {approved_at}")
                               .format(approved_by=manifest.approved_by, approved_at=manifest.approved_at))
        with open(batch_dir / MESSAGES, "rb") as f:
            if file_sha256(f) != manifest.sha256:
                raise RefusedError(_("{value} changed after it was prepared; prepare it again")
                                   .format(value=batch_dir / MESSAGES))
        approved = replace(manifest, approved_by=actor, approved_at=_now(), approved_sha256=manifest.sha256)
        _write_manifest(batch_dir, approved)
    return approved


def batch_status(where: Where) -> BatchStatus:
    """Counts per state (the last journal entry of each recipient); read-only, needs no key. The manifest and
    the journal are read through `BatchFiles.read` (where the store keeps them; nothing is written to disk)."""
    files = _files(where)
    found = files.read(MANIFEST, JOURNAL)
    manifest = _manifest_of(found.get(MANIFEST), files.path)
    journal, _end = _journal_of(io.BytesIO(found.get(JOURNAL, b"")), files.path / JOURNAL)
    states = [state for state, _unused in journal.last.values()]
    failures = tuple((key, error or "") for key, (state, error) in journal.last.items() if state == "failed")
    return BatchStatus(
        incident_id=manifest.incident_id, total=manifest.count, pending=manifest.count - len(states),
        sending=states.count("sending"), sent=states.count("sent"), failed=len(failures),
        prepared_by=manifest.prepared_by, approved_by=manifest.approved_by, failures=failures)


@dataclass(frozen=True)
class OpenBatch:
    """An approved batch opened for sending, under its lock (see `open_approved`)."""

    manifest: BatchManifest
    journal: Journal
    """The journal as it was when the batch was opened."""
    messages: Iterator[OutgoingMessage]
    """The messages in prepared order, decrypted as they are consumed."""
    writer: JournalWriter | None
    """None for a dry run: nothing is journaled."""


@contextmanager
def open_approved(where: Where, key: bytes, *, resume: bool, dry_run: bool,
                  approval: Callable[[BatchManifest], None] | None = None,
                  started: Callable[[BatchManifest], None] | None = None) -> Iterator[OpenBatch]:
    """Lock an approved batch whose messages file still hashes to what was approved, for sending.

    Refused when another run holds the batch, when it is not approved (`approval` can refuse too), when
    sending has started and `resume` is not set, or when the messages file changed; InputError for the
    wrong key or a damaged file, also before anything is sent. A torn last journal line is truncated away
    unless `dry_run`. `started` is called under the lock once every check has passed, before the first
    message (the run's audit entry: a refused run records no start).
    """
    files = _files(where)
    batch_dir = files.path
    with _batch_lock(files):
        manifest = load_manifest(batch_dir)
        if manifest.approved_by is None:
            raise RefusedError(_("the batch prepared by {prepared_by} is not approved; a second person must approve it first (ダブルチェック)")
                               .format(prepared_by=manifest.prepared_by))
        if approval is not None:
            approval(manifest)
        journal = read_journal(batch_dir / JOURNAL, repair=not dry_run)
        if journal.entries and not resume:
            raise RefusedError(_("sending this batch has already started ({entries} journal entries); use --resume to send only what was not sent")
                               .format(entries=journal.entries))
        with open(batch_dir / MESSAGES, "rb") as f:
            if not file_sha256(f) == manifest.sha256 == manifest.approved_sha256:
                raise RefusedError(_("{value} changed since it was approved; prepare and approve it again")
                                   .format(value=batch_dir / MESSAGES))
            f.seek(0)
            sealed.SealedReader(f, key, FORMAT, batch_dir / MESSAGES).verify(manifest.count)
            f.seek(0)
            if started is not None:
                started(manifest)
            writer = None if dry_run else JournalWriter(batch_dir / JOURNAL, files.journal_sink())
            try:
                yield OpenBatch(manifest, journal, _unsealed(f, key, batch_dir / MESSAGES), writer)
            finally:
                if writer is not None:
                    writer.close()
