"""E-mail delivery of individual notices over SMTP: one recipient per message, from an approved batch.

`send_batch` sends a batch prepared and approved in `incident.notices.batch` (decrypting its messages with
the store's roster key as it goes), one SMTP transaction (one RCPT TO) per message over a reused
connection, journaling each step there: ``sending`` before the
transaction, then ``sent`` or ``failed``. A recipient whose last state is ``sent`` is never sent again;
one left at ``sending`` by a crash is sent again on resume with the same deterministic Message-ID, so
a crash costs at most one duplicate that mail clients can recognise (a power loss at most one group
of journal entries: see `incident.notices.batch`).
"""

from __future__ import annotations

import base64
import hashlib
import re
import smtplib
import socket
import ssl
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.header import Header
from email.utils import format_datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal, NamedTuple, Protocol, get_args

from incident.errors import InputError
from incident.i18n import _
from incident.notices.batch import (
    BatchManifest,
    Journal,
    JournalWriter,
    OutgoingMessage,
    Where,
    check_address,
    check_header_text,
    open_approved,
    redact_addresses,
    validate_message,
)
from incident.notices.emailaddr import smtp_address

if TYPE_CHECKING:
    from incident.register.config import SmtpConfig

__all__ = [
    "FailedRecipient",
    "OutgoingMessage",
    "Security",
    "SendReport",
    "SmtpSettings",
    "build_email",
    "message_id",
    "send_batch",
    "send_each",
    "validate_message",
]

Security = Literal["starttls", "tls", "none"]


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
            raise InputError(_("SMTP security must be starttls, tls or none, not {security!r}")
                             .format(security=self.security),
                             field="security")
        if not 0 < self.port < 65536:
            raise InputError(_("SMTP port must be 1-65535, not {port}").format(port=self.port), field="port")
        if self.security == "none" and self.user:
            raise InputError(_("refusing to send an SMTP password over an unencrypted connection; "
                             "use security starttls or tls"), field="security")
        check_address(self.from_addr, "SMTP settings", "from_addr")
        check_header_text(self.from_name, "SMTP settings", "from_name")

    @classmethod
    def from_config(cls, smtp: SmtpConfig, *, file: Path | None = None) -> SmtpSettings:
        """The `[smtp]` table of config.toml as delivery settings (the password is never there)."""
        if not smtp.host or not smtp.from_addr:
            raise InputError(_("set [smtp] host and from_addr in the store's config.toml (and port, security, "
                             "user, from_name) before sending"), file=file, field="smtp")
        return cls(host=smtp.host, port=smtp.port, security=smtp.security,  # type: ignore[arg-type]
                   user=smtp.user or None, from_addr=smtp.from_addr, from_name=smtp.from_name)


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


def message_id(incident_id: str, recipient_key: str, from_addr: str) -> str:
    """Deterministic ``<incident.key.hash@from-domain>``: the same on every (re)send."""
    digest = hashlib.sha256(f"{incident_id}\x1f{recipient_key}".encode()).hexdigest()[:12]

    def safe(text: str) -> str:
        return re.sub(r"[^A-Za-z0-9_-]", "_", text)[:64]

    return f"<{safe(incident_id)}.{safe(recipient_key)}.{digest}@{from_addr.rsplit('@', 1)[1]}>"


def recipient_of(message_id_header: str) -> str | None:
    """The roster key a Message-ID of `message_id` names, or None when it is not one of ours (its digest
    is checked, so a hand-made id naming another person is not believed)."""
    local = message_id_header.strip().removeprefix("<").split("@", 1)[0]
    parts = local.split(".")
    if len(parts) != 3:
        return None
    incident_id, key, digest = parts
    wanted = hashlib.sha256(f"{incident_id}\x1f{key}".encode()).hexdigest()[:12]
    return key if digest == wanted else None


class Sender(Protocol):
    """Whom an e-mail is from: the SMTP settings when sending, the store's [smtp] table for a preview."""

    @property
    def from_addr(self) -> str: ...

    @property
    def from_name(self) -> str: ...


def build_email(
    msg: OutgoingMessage, settings: Sender, incident_id: str, *, date: datetime | None = None
) -> bytes:
    """The message for one person, as sent: exactly one address in To, no Cc or Bcc, a deterministic
    Message-ID, CRLF line ends. The one builder of e-mails: a mail merge's .eml and mbox previews are
    these bytes too (only Date, the time of writing, differs from a later send).

    Display names and the subject are always RFC 2047 encoded words (`email.header.Header`), so
    nothing in them can be read as an address or a header; edge white space is stripped. The body is base64 (7bit when it is ASCII in lines of at most 78).
    Composed directly rather than through `EmailMessage`, whose header folding cost ten times more.
    """
    validate_message(msg)
    check_header_text(incident_id, "incident", "incident_id")
    lines = msg.body.encode().splitlines()
    if msg.body.isascii() and all(len(line) <= _MAX_LINE for line in lines):
        cte, body = "7bit", b"".join(line + b"\r\n" for line in lines)
    else:
        cte, body = "base64", base64.encodebytes(b"".join(line + b"\r\n" for line in lines))
        body = body.replace(b"\n", b"\r\n")
    head = (
        f"From: {_mailbox('From', settings.from_name, smtp_address(settings.from_addr))}\r\n"
        f"To: {_mailbox('To', msg.to_name, smtp_address(msg.to_addr))}\r\n"
        f"Subject: {_encoded_words(msg.subject.strip(), 'Subject')}\r\n"
        f"Date: {format_datetime(date or datetime.now(UTC))}\r\n"
        f"Message-ID: {message_id(incident_id, msg.recipient_key, settings.from_addr)}\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: text/plain; charset="utf-8"\r\n'
        f"Content-Transfer-Encoding: {cte}\r\n\r\n"
    )
    return head.encode("ascii") + body


_CRLF = "\r\n"
_MAX_LINE = 78


@lru_cache(maxsize=64)  # the From name and the subject repeat in every message of a batch
def _encoded_words(text: str, header: str) -> str:
    """`text` as RFC 2047 encoded words (UTF-8), folded with CRLF to fit a line after ``header: ``."""
    return Header(text, "utf-8", header_name=header).encode(linesep=_CRLF)


def _mailbox(header: str, name: str, addr: str) -> str:
    """``=?utf-8?...?= <addr>`` (folded before the address when the line would pass 78), or bare `addr`."""
    if not name.strip():
        return addr
    phrase = _encoded_words(name.strip(), header)
    last = phrase.rsplit(_CRLF, 1)[-1]
    fits = len(last) + len(addr) + 3 + (len(header) + 2 if last == phrase else 0) <= _MAX_LINE
    return f"{phrase}{' ' if fits else _CRLF + ' '}<{addr}>"


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


def send_batch(
    batch_dir: Where,
    settings: SmtpSettings,
    password: str | None,
    *,
    key: bytes,
    resume: bool = False,
    dry_run: bool = False,
    rate: float | None = None,
    progress: Callable[[int, int], None] | None = None,
    tls_context: ssl.SSLContext | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    approval: Callable[[BatchManifest], None] | None = None,
    started: Callable[[BatchManifest], None] | None = None,
) -> SendReport:
    """Send an approved batch, one SMTP transaction (one RCPT TO) per message, journaling each step.

    `key`: the store's roster key, which decrypts the messages. `rate`: at most that many messages
    per second. `tls_context`: verify the server against it instead of the system's CAs. A
    connection-level failure ends the run: the report says why in `stopped`; everything sent so far
    is journaled and `resume=True` continues. Error texts have e-mail addresses replaced by
    ``<address>`` (the report's `FailedRecipient.addr` says whose message failed). `approval` checks,
    under the batch's lock, that the approval is on record beyond the manifest (the store's audit log);
    `started` is called under the lock once the run is sure to go ahead (`open_approved`).
    """
    if rate is not None and not rate > 0:
        raise InputError(_("the rate must be a positive number of messages per second, not {rate}")
                         .format(rate=rate),
                         field="rate")
    if settings.user and password is None:
        raise InputError(_("no SMTP password: set it with `incident secret set smtp` or in INCIDENT_SMTP_PASSWORD"))
    with open_approved(batch_dir, key, resume=resume, dry_run=dry_run, approval=approval,
                       started=started) as batch:
        run = _Run(batch.manifest, settings, batch.journal, progress)
        conn = _Connection(settings, password, tls_context)
        pacer = _Pacer(rate, clock, sleep) if rate else None
        try:
            for msg in batch.messages:
                if not run.step(msg, batch.writer, conn, pacer):
                    break
        finally:
            conn.close(polite=True)
    return run.report(dry_run)


def send_each(settings: SmtpSettings, password: str | None, messages: Iterable[tuple[str, OutgoingMessage]], *,
              tls_context: ssl.SSLContext | None = None) -> list[str | None]:
    """Send a few messages that are not a batch (reminders to staff), one transaction (one RCPT TO) each,
    over one connection: None for each accepted, else why it was not (addresses redacted).

    `messages` are (a name for the Message-ID, the message). A dropped connection is tried once more.
    """
    if settings.user and password is None:
        raise InputError(_("no SMTP password: set it with `incident secret set smtp` or in INCIDENT_SMTP_PASSWORD"))
    conn = _Connection(settings, password, tls_context)
    results: list[str | None] = []
    try:
        for name, msg in messages:
            data = build_email(msg, settings, name)
            for attempt in (1, 2):
                try:
                    error = conn.transmit(settings.from_addr, msg.to_addr, data)
                    break
                except _Dropped as exc:
                    error = _("SMTP connection failed: {exc}").format(exc=exc)
                    if attempt == 2:
                        break
                except _Refused as exc:
                    error = _("the server refused the transaction: {exc}").format(exc=exc)
                    break
            results.append(None if error is None else redact_addresses(error))
    finally:
        conn.close(polite=True)
    return results


class _Run:
    """The counters and per-message decisions of one send_batch run."""

    def __init__(self, manifest: BatchManifest, settings: SmtpSettings, journal: Journal,
                 progress: Callable[[int, int], None] | None) -> None:
        self.manifest, self.settings, self.journal, self.progress = manifest, settings, journal, progress
        self.sent = self.skipped = self.would = self.done = 0
        self.failed: list[FailedRecipient] = []
        self.resent: list[str] = []
        self.stopped: str | None = None

    def step(self, msg: OutgoingMessage, writer: JournalWriter | None, conn: _Connection,
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
            data = build_email(msg, self.settings, self.manifest.incident_id)
            mid = message_id(self.manifest.incident_id, key, self.settings.from_addr)
            if pacer is not None:
                pacer.wait()
            writer.append(key, "sending", mid)
            unknown = state == "sending"
            for attempt in (1, 2):
                try:
                    error = conn.transmit(smtp_address(self.settings.from_addr), smtp_address(msg.to_addr), data)
                    break
                except _Dropped as exc:
                    unknown = unknown or exc.unknown
                    if attempt == 2:  # the first drop is retried: servers close idle or long-used connections
                        return self._stop(writer, key, mid, _("SMTP connection failed while sending to {key}: {exc}")
                                          .format(key=key, exc=exc),
                                          delivered_unknown=exc.unknown)
                except _Refused as exc:
                    return self._stop(writer, key, mid, _("the server refused the transaction for {key}: {exc}")
                                      .format(key=key, exc=exc),
                                      delivered_unknown=False)
            if error is None:
                writer.append(key, "sent", mid)
                self.sent += 1
                if unknown:
                    self.resent.append(key)
            else:
                error = redact_addresses(error)  # servers quote the address; the journal must not hold it
                writer.append(key, "failed", mid, error)
                self.failed.append(FailedRecipient(key, msg.to_addr, error))
        self.done += 1
        if self.progress is not None:
            self.progress(self.done, self.manifest.count)
        return True

    def _stop(self, writer: JournalWriter, key: str, mid: str, reason: str, *, delivered_unknown: bool) -> bool:
        """End the run. The message stays `sending` only when the server may have accepted it."""
        reason = redact_addresses(reason)
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
