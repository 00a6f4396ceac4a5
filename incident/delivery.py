"""E-mail delivery of individual notices: one recipient per message, an approved batch, a journal.

A batch lives in one directory: ``messages.jsonl`` (one message a line), ``manifest.json`` (count,
SHA-256 of the messages file, a sample, who prepared and who approved it) and ``journal.jsonl``
(append-only, one fsync'd line per state change: ``sending`` before the SMTP transaction, then ``sent``
or ``failed``). A recipient whose last state is ``sent`` is never sent again; one left at ``sending`` by
a crash is sent again on resume with the same deterministic Message-ID, so a crash costs at most one
duplicate that mail clients can recognise. The preparer cannot approve their own batch (ダブルチェック).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import smtplib
import socket
import ssl
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any, BinaryIO, Literal, NamedTuple, get_args

from incident.errors import InputError, NotFoundError, RefusedError

Security = Literal["starttls", "tls", "none"]
JournalState = Literal["sending", "sent", "failed"]

MESSAGES = "messages.jsonl"
MANIFEST = "manifest.json"
JOURNAL = "journal.jsonl"
_LOCK = "send.lock"
_MANIFEST_FORMAT = 1

_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_ADDR_RE = re.compile(
    rf"{_ATEXT}(?:\.{_ATEXT})*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{{0,61}}[A-Za-z0-9])?\.)+[A-Za-z]{{2,63}}"
)
_MESSAGE_FIELDS = ("recipient_key", "to_addr", "to_name", "subject", "body")


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
class SmtpSettings:
    """Where and how to send. The password is never part of the settings."""

    host: str
    port: int
    security: Security
    user: str | None
    from_addr: str
    from_name: str
    timeout: float = 30.0

    def __post_init__(self) -> None:
        if self.security not in get_args(Security):
            raise InputError(f"SMTP security must be starttls, tls or none, not {self.security!r}",
                             field="security")
        if not 0 < self.port < 65536:
            raise InputError(f"SMTP port must be 1-65535, not {self.port}", field="port")
        if self.security == "none" and self.user:
            raise InputError("refusing to send an SMTP password over an unencrypted connection; "
                             "use security starttls or tls", field="security")
        _check_address(self.from_addr, "SMTP settings", "from_addr")
        _check_header_text(self.from_name, "SMTP settings", "from_name")


@dataclass(frozen=True)
class BatchManifest:
    """What was prepared, and by whom it was prepared and approved."""

    incident_id: str
    count: int
    sha256: str
    """SHA-256 of ``messages.jsonl``."""
    sample: OutgoingMessage
    """The first message of the batch, for the approver to read."""
    prepared_by: str
    prepared_at: str
    approved_by: str | None = None
    approved_at: str | None = None
    approved_sha256: str | None = None


class FailedRecipient(NamedTuple):
    key: str
    addr: str
    error: str


@dataclass(frozen=True)
class SendReport:
    """What one `send_batch` run did. ``stopped`` is set when a connection-level failure ended it early."""

    dry_run: bool
    total: int
    sent: int
    skipped_already_sent: int
    failed: tuple[FailedRecipient, ...]
    would_send: int = 0
    """Dry run only: messages a real run would send."""
    resent_after_interruption: tuple[str, ...] = ()
    """Keys sent again after an attempt with unknown outcome (possible duplicate, same Message-ID)."""
    stopped: str | None = None
    not_attempted: int = 0
    journal_repaired: bool = False
    """A torn last journal line (a crash mid-write) was dropped and the file truncated."""


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


def _check_header_text(value: str, who: str, field: str) -> None:
    for ch in value:
        if unicodedata.category(ch) in ("Cc", "Zl", "Zp"):
            raise InputError(
                f"{who}: {field} contains a line break or control character "
                f"(U+{ord(ch):04X}); header fields must be a single line", field=field)


def _check_address(addr: str, who: str, field: str) -> None:
    _check_header_text(addr, who, field)
    if not _ADDR_RE.fullmatch(addr):
        raise InputError(
            f"{who}: {field} {addr!r} is not exactly one e-mail address "
            "(one recipient per message; expected local-part@domain in ASCII)", field=field)


def validate_message(msg: OutgoingMessage) -> None:
    """Refuse anything that could add a recipient or a header (InputError naming key and field)."""
    if not msg.recipient_key.strip():
        raise InputError("a message has an empty recipient_key", field="recipient_key")
    who = f"recipient {msg.recipient_key}"
    _check_header_text(msg.recipient_key, who, "recipient_key")
    _check_address(msg.to_addr, who, "to_addr")
    _check_header_text(msg.to_name, who, "to_name")
    _check_header_text(msg.subject, who, "subject")


def message_id(incident_id: str, recipient_key: str, from_addr: str) -> str:
    """Deterministic ``<incident.key.hash@from-domain>``: the same on every (re)send."""
    digest = hashlib.sha256(f"{incident_id}\x1f{recipient_key}".encode()).hexdigest()[:12]

    def safe(text: str) -> str:
        return re.sub(r"[^A-Za-z0-9_-]", "_", text)[:64]

    return f"<{safe(incident_id)}.{safe(recipient_key)}.{digest}@{from_addr.rsplit('@', 1)[1]}>"


def build_email(
    msg: OutgoingMessage, settings: SmtpSettings, incident_id: str, *, date: datetime | None = None
) -> EmailMessage:
    """The message for one person: exactly one address in To, no Cc or Bcc, a deterministic Message-ID."""
    validate_message(msg)
    _check_header_text(incident_id, "incident", "incident_id")
    email = EmailMessage(policy=policy.SMTP)
    email["From"] = Address(display_name=settings.from_name.strip(), addr_spec=settings.from_addr)
    email["To"] = Address(display_name=msg.to_name.strip(), addr_spec=msg.to_addr)
    email["Subject"] = msg.subject.strip()  # edge whitespace does not survive a header round trip
    email["Date"] = format_datetime(date or datetime.now(UTC))
    email["Message-ID"] = message_id(incident_id, msg.recipient_key, settings.from_addr)
    email.set_content(msg.body, charset="utf-8", cte=None if msg.body.isascii() else "base64")
    return email


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _actor(actor: str) -> str:
    if not actor.strip():
        raise InputError("an actor (who is doing this) is required", field="actor")
    return actor.strip()


def _same_person(a: str, b: str) -> bool:
    return unicodedata.normalize("NFKC", a).casefold() == unicodedata.normalize("NFKC", b).casefold()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


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
    _fsync_dir(path.parent)


@contextmanager
def _batch_lock(batch_dir: Path) -> Iterator[None]:
    """An exclusive lock on the batch: one writer at a time (released by the OS if the process dies)."""
    if not batch_dir.is_dir():
        raise NotFoundError(f"no prepared batch in {batch_dir}; prepare one first")
    fd = os.open(batch_dir / _LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise RefusedError(f"another prepare, approve or send is running on {batch_dir}") from None
        yield
    finally:
        os.close(fd)


def _file_sha256(f: BinaryIO) -> str:
    digest = hashlib.sha256()
    for chunk in iter(lambda: f.read(1 << 20), b""):
        digest.update(chunk)
    return digest.hexdigest()


def _write_manifest(batch_dir: Path, manifest: BatchManifest) -> None:
    with _atomic_open(batch_dir / MANIFEST) as out:
        out.write(json.dumps({"format": _MANIFEST_FORMAT, **asdict(manifest)}, ensure_ascii=False,
                             indent=2).encode())


def load_manifest(batch_dir: Path) -> BatchManifest:
    """The batch's manifest (NotFoundError when no batch was prepared there)."""
    path = batch_dir / MANIFEST
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        if data.pop("format") != _MANIFEST_FORMAT:
            raise InputError("unsupported batch manifest format; prepare the batch again", file=path)
        data["sample"] = OutgoingMessage(**data["sample"])
        return BatchManifest(**data)
    except FileNotFoundError:
        raise NotFoundError(f"no prepared batch in {batch_dir}; prepare one first") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(f"the batch manifest is unreadable ({exc}); prepare the batch again",
                         file=path) from None


class _Journal(NamedTuple):
    last: dict[str, tuple[JournalState, str | None]]
    """Per recipient key: the last state and its error."""
    entries: int
    torn: bool


def _read_journal(path: Path, *, repair: bool) -> _Journal:
    """Last state per key. A torn last line is ignored (and truncated away when `repair`)."""
    last: dict[str, tuple[JournalState, str | None]] = {}
    entries = good_end = 0
    bad_line: int | None = None
    if not path.exists():
        return _Journal(last, 0, False)
    with open(path, "rb") as f:
        for number, raw in enumerate(f, 1):
            if bad_line is not None:
                raise InputError("the send journal is corrupt (a line that is not the last one is unreadable)",
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
    if bad_line is not None and repair:
        with open(path, "r+b") as torn:
            torn.truncate(good_end)
            os.fsync(torn.fileno())
    return _Journal(last, entries, bad_line is not None)


class _JournalWriter:
    """Append-only journal: one os.write of a whole line per entry, fsync'd before returning."""

    def __init__(self, path: Path) -> None:
        existed = path.exists()
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        if not existed:
            _fsync_dir(path.parent)

    def append(self, key: str, state: JournalState, mid: str, error: str | None = None) -> None:
        entry = {"key": key, "state": state, "message_id": mid, "at": _now(), "error": error}
        os.write(self._fd, (json.dumps(entry, ensure_ascii=False) + "\n").encode())
        os.fsync(self._fd)

    def close(self) -> None:
        os.close(self._fd)


def prepare_batch(
    batch_dir: Path, incident_id: str, messages: Iterable[OutgoingMessage], actor: str
) -> BatchManifest:
    """Write the messages (streamed) and an unapproved manifest. Refused once sending has started."""
    actor = _actor(actor)
    _check_header_text(incident_id, "incident", "incident_id")
    batch_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    batch_dir.chmod(0o700)
    with _batch_lock(batch_dir):
        if _read_journal(batch_dir / JOURNAL, repair=False).entries:
            raise RefusedError(f"sending of the batch in {batch_dir} has already started; "
                               "finish it with --resume instead of preparing it again")
        (batch_dir / JOURNAL).unlink(missing_ok=True)
        digest = hashlib.sha256()
        keys: set[str] = set()
        first: OutgoingMessage | None = None
        with _atomic_open(batch_dir / MESSAGES) as out:
            for msg in messages:
                validate_message(msg)
                if msg.recipient_key in keys:
                    raise InputError(f"recipient {msg.recipient_key} appears twice in the batch",
                                     field="recipient_key")
                keys.add(msg.recipient_key)
                first = first or msg
                line = (json.dumps(asdict(msg), ensure_ascii=False) + "\n").encode()
                digest.update(line)
                out.write(line)
            if first is None:
                raise InputError("nothing to send: the batch has no messages")
        manifest = BatchManifest(
            incident_id=incident_id, count=len(keys), sha256=digest.hexdigest(), sample=first,
            prepared_by=actor, prepared_at=_now())
        _write_manifest(batch_dir, manifest)
    return manifest


def approve_batch(batch_dir: Path, actor: str) -> BatchManifest:
    """Record a second person's approval (refused for the preparer or a changed messages file)."""
    actor = _actor(actor)
    with _batch_lock(batch_dir):
        manifest = load_manifest(batch_dir)
        if _same_person(actor, manifest.prepared_by):
            raise RefusedError(f"{actor} prepared this batch and cannot also approve it: the double check "
                               "(ダブルチェック) needs a second person")
        if manifest.approved_by is not None:
            raise RefusedError(f"the batch was already approved by {manifest.approved_by} "
                               f"at {manifest.approved_at}")
        with open(batch_dir / MESSAGES, "rb") as f:
            if _file_sha256(f) != manifest.sha256:
                raise RefusedError(f"{batch_dir / MESSAGES} changed after it was prepared; prepare it again")
        approved = replace(manifest, approved_by=actor, approved_at=_now(), approved_sha256=manifest.sha256)
        _write_manifest(batch_dir, approved)
    return approved


def batch_status(batch_dir: Path) -> BatchStatus:
    """Counts per state (the last journal entry of each recipient); read-only."""
    manifest = load_manifest(batch_dir)
    journal = _read_journal(batch_dir / JOURNAL, repair=False)
    states = [state for state, _ in journal.last.values()]
    failures = tuple((key, error or "") for key, (state, error) in journal.last.items() if state == "failed")
    return BatchStatus(
        incident_id=manifest.incident_id, total=manifest.count, pending=manifest.count - len(states),
        sending=states.count("sending"), sent=states.count("sent"), failed=len(failures),
        prepared_by=manifest.prepared_by, approved_by=manifest.approved_by, failures=failures)


class _Dropped(Exception):
    """The connection was lost or closed (421). `unknown`: it happened after the message data was sent."""

    def __init__(self, reason: str, *, unknown: bool) -> None:
        super().__init__(reason)
        self.unknown = unknown


class _Refused(Exception):
    """The server refused the transaction for a reason not tied to the recipient: stop the run."""


def _describe(code: int, text: bytes | str) -> str:
    return f"{code} {text.decode(errors='replace') if isinstance(text, bytes) else text}".strip()


class _Connection:
    """One SMTP connection reused for many messages; opened on demand, again after a drop."""

    def __init__(self, settings: SmtpSettings, password: str | None, tls: ssl.SSLContext | None) -> None:
        self._settings, self._password, self._tls = settings, password, tls
        self._smtp: smtplib.SMTP | None = None
        self._helo: str | None = None

    def get(self) -> smtplib.SMTP:
        if self._smtp is None:
            s = self._settings
            self._helo = self._helo or socket.getfqdn()
            context = self._tls or ssl.create_default_context()
            smtp = (smtplib.SMTP_SSL(s.host, s.port, self._helo, timeout=s.timeout, context=context)
                    if s.security == "tls" else smtplib.SMTP(s.host, s.port, self._helo, timeout=s.timeout))
            try:
                if s.security == "starttls":
                    smtp.starttls(context=context)
                if s.user:
                    smtp.login(s.user, self._password or "")
                smtp.ehlo_or_helo_if_needed()
            except BaseException:
                smtp.close()
                raise
            self._smtp = smtp
        return self._smtp

    def close(self, *, polite: bool = False) -> None:
        if self._smtp is not None:
            try:
                if polite:
                    self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                pass
            self._smtp.close()
            self._smtp = None

    def transmit(self, from_addr: str, to_addr: str, data: bytes) -> str | None:
        """One transaction with exactly one RCPT TO. None when accepted, else the recipient's refusal.

        Raises _Dropped when the connection is lost and _Refused for a server-level refusal.
        """
        stage_unknown = False
        try:
            smtp = self.get()
            code, text = smtp.mail(from_addr)
            if code != 250:
                self._reject(code, text, recipient_level=False)
            code, text = smtp.rcpt(to_addr)
            if code not in (250, 251):
                return self._reject(code, text, recipient_level=True)
            stage_unknown = True
            code, text = smtp.data(data)
            stage_unknown = False
            if code != 250:
                return self._reject(code, text, recipient_level=code >= 500)
            return None
        except smtplib.SMTPDataError as exc:  # refused DATA itself (not 354): nothing was delivered
            return self._reject(exc.smtp_code, exc.smtp_error, recipient_level=exc.smtp_code >= 500)
        except smtplib.SMTPServerDisconnected as exc:
            self.close()
            raise _Dropped(str(exc) or "server disconnected", unknown=stage_unknown) from None
        except smtplib.SMTPResponseException as exc:  # greeting, STARTTLS, AUTH refused
            self.close()
            raise _Refused(_describe(exc.smtp_code, exc.smtp_error)) from None
        except smtplib.SMTPException as exc:
            self.close()
            raise _Refused(str(exc)) from None
        except OSError as exc:
            self.close()
            raise _Dropped(f"{type(exc).__name__}: {exc}", unknown=stage_unknown) from None

    def _reject(self, code: int, text: bytes | str, *, recipient_level: bool) -> str:
        reason = _describe(code, text)
        if code == 421:
            self.close()
            raise _Dropped(reason, unknown=False)
        try:
            if self._smtp is not None:
                self._smtp.rset()
        except (smtplib.SMTPException, OSError):
            self.close()  # the next message reconnects
        if not recipient_level:
            raise _Refused(reason)
        return reason


class _Pacer:
    """At most `rate` messages per second: waits until 1/rate after the previous message started."""

    def __init__(self, rate: float, clock: Callable[[], float], sleep: Callable[[float], None]) -> None:
        self._interval, self._clock, self._sleep = 1.0 / rate, clock, sleep
        self._next: float | None = None

    def wait(self) -> None:
        now = self._clock()
        if self._next is not None and now < self._next:
            self._sleep(self._next - now)
            now = self._next
        self._next = now + self._interval


def _parse_line(raw: bytes, path: Path, number: int) -> OutgoingMessage:
    try:
        data = json.loads(raw)
        return OutgoingMessage(**{name: str(data[name]) for name in _MESSAGE_FIELDS})
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(f"unreadable message ({exc}); prepare the batch again", file=path, line=number) from None


def send_batch(
    batch_dir: Path,
    settings: SmtpSettings,
    password: str | None,
    *,
    resume: bool = False,
    dry_run: bool = False,
    rate: float | None = None,
    progress: Callable[[int, int], None] | None = None,
    tls_context: ssl.SSLContext | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> SendReport:
    """Send an approved batch, one SMTP transaction (one RCPT TO) per message, journaling each step.

    `rate`: at most that many messages per second. `tls_context`: verify the server against it
    instead of the system's CAs. A connection-level failure ends the run: the report says why in
    `stopped`; everything sent so far is journaled and `resume=True` continues.
    """
    if rate is not None and not rate > 0:
        raise InputError(f"the rate must be a positive number of messages per second, not {rate}",
                         field="rate")
    if settings.user and password is None:
        raise InputError("no SMTP password: set it with `incident secret set smtp` or in INCIDENT_SMTP_PASSWORD")
    with _batch_lock(batch_dir):
        manifest = load_manifest(batch_dir)
        if manifest.approved_by is None:
            raise RefusedError(f"the batch prepared by {manifest.prepared_by} is not approved; a second "
                               "person must approve it first (ダブルチェック)")
        journal = _read_journal(batch_dir / JOURNAL, repair=not dry_run)
        if journal.entries and not resume:
            raise RefusedError(f"sending this batch has already started ({journal.entries} journal entries); "
                               "use --resume to send only what was not sent")
        with open(batch_dir / MESSAGES, "rb") as f:
            if not _file_sha256(f) == manifest.sha256 == manifest.approved_sha256:
                raise RefusedError(f"{batch_dir / MESSAGES} changed since it was approved; "
                                   "prepare and approve it again")
            f.seek(0)
            run = _Run(manifest, settings, journal, progress)
            writer = None if dry_run else _JournalWriter(batch_dir / JOURNAL)
            conn = _Connection(settings, password, tls_context)
            pacer = _Pacer(rate, clock, sleep) if rate else None
            try:
                for number, raw in enumerate(f, 1):
                    if not run.step(_parse_line(raw, batch_dir / MESSAGES, number), writer, conn, pacer):
                        break
            finally:
                conn.close(polite=True)
                if writer is not None:
                    writer.close()
    return run.report(dry_run)


class _Run:
    """The counters and per-message decisions of one send_batch run."""

    def __init__(self, manifest: BatchManifest, settings: SmtpSettings, journal: _Journal, progress: Callable[[int, int], None] | None) -> None:
        self.manifest, self.settings, self.journal, self.progress = manifest, settings, journal, progress
        self.sent = self.skipped = self.would = self.done = 0
        self.failed: list[FailedRecipient] = []
        self.resent: list[str] = []
        self.stopped: str | None = None

    def step(self, msg: OutgoingMessage, writer: _JournalWriter | None, conn: _Connection,
             pacer: _Pacer | None) -> bool:
        """Handle one message; False when the run must stop."""
        key = msg.recipient_key
        state = self.journal.last.get(key, (None, None))[0]
        if state == "sent":
            self.skipped += 1
        elif writer is None:
            build_email(msg, self.settings, self.manifest.incident_id)
            self.would += 1
        else:
            email = build_email(msg, self.settings, self.manifest.incident_id)
            mid, data = str(email["Message-ID"]), email.as_bytes()
            if pacer is not None:
                pacer.wait()
            writer.append(key, "sending", mid)
            unknown = state == "sending"
            for attempt in (1, 2):
                try:
                    error = conn.transmit(self.settings.from_addr, msg.to_addr, data)
                    break
                except _Dropped as exc:
                    unknown = unknown or exc.unknown
                    if attempt == 2:  # the first drop is retried: servers close idle or long-used connections
                        return self._stop(writer, key, mid, f"SMTP connection failed while sending to {key}: {exc}",
                                          delivered_unknown=exc.unknown)
                except _Refused as exc:
                    return self._stop(writer, key, mid, f"the server refused the transaction for {key}: {exc}",
                                      delivered_unknown=False)
            if error is None:
                writer.append(key, "sent", mid)
                self.sent += 1
                if unknown:
                    self.resent.append(key)
            else:
                writer.append(key, "failed", mid, error)
                self.failed.append(FailedRecipient(key, msg.to_addr, error))
        self.done += 1
        if self.progress is not None:
            self.progress(self.done, self.manifest.count)
        return True

    def _stop(self, writer: _JournalWriter, key: str, mid: str, reason: str, *, delivered_unknown: bool) -> bool:
        """End the run. The message stays `sending` only when the server may have accepted it."""
        if not delivered_unknown:
            writer.append(key, "failed", mid, reason)
        self.stopped = reason
        return False

    def report(self, dry_run: bool) -> SendReport:
        return SendReport(
            dry_run=dry_run, total=self.manifest.count, sent=self.sent, skipped_already_sent=self.skipped,
            failed=tuple(self.failed), would_send=self.would, resent_after_interruption=tuple(self.resent),
            stopped=self.stopped, not_attempted=self.manifest.count - self.done - (self.stopped is not None),
            journal_repaired=self.journal.torn and not dry_run)
