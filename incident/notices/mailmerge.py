"""Mail merge: one notice per person of the roster, and the `--check` that proves each names only its own.

`mail_merge` streams the roster through a `notices.Renderer` into one file per person (`<key>.txt`,
`.html`, `.eml`) or one mbox, so memory stays flat however large the roster; `check_outputs` re-reads
what was written and, with an `IdentityIndex` of every roster name and address, reports any document
that names someone else (by roster key, never by name).
"""

from __future__ import annotations

import hashlib
import html
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from pathlib import Path
from typing import BinaryIO, Literal, Self

from incident.errors import InputError
from incident.fsutil import fsync_dir, set_private
from incident.i18n import N_, _
from incident.notices.batch import OutgoingMessage
from incident.notices.delivery import build_email, recipient_of
from incident.notices.render import Renderer
from incident.notices.roster import Person
from incident.outputs import output_file, private_output_dir
from incident.register.config import Config
from incident.text import normalize

MergeFormat = Literal["txt", "html", "eml"]
MERGE_FORMATS: tuple[MergeFormat, ...] = ("txt", "html", "eml")

_SAFE_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


def require_sender(config: Config) -> None:
    """E-mails are written as they will be sent, so the store's sender address must be set first."""
    if not config.smtp.from_addr:
        raise InputError(_("e-mails are written as they will be sent, from the store's sender address: set it "
                           "with `incident config set smtp.from_addr=…` (and smtp.from_name)"), field="smtp.from_addr")


def safe_key(key: str) -> str:
    """A roster key usable as a file name (never a person's name)."""
    if not _SAFE_KEY.match(key):
        raise InputError(_("roster key {key!r} cannot be used as a file name").format(key=key), field="key")
    return key


_FROM_LINE = re.compile(rb"^(>*From )", re.MULTILINE)


class _Sink:
    """Where merged documents go: one file per person in a directory, or one mbox file.

    Files are written in the rendering thread with os.open/os.write (writer threads only fought the
    renderer for the GIL), never through a symlink, mode 0600. Nothing is fsynced per document (that
    would cost more than rendering it, and every document can be rendered again from the roster): the
    directory (or the mbox) is fsynced once when the merge is complete.
    """

    def __init__(self, out_dir: Path | None, mbox: Path | None, now: datetime) -> None:
        self.where = out_dir or mbox
        self.out_dir = out_dir
        self.dir_fd: int | None = None
        self.mbox: BinaryIO | None = None
        try:
            if out_dir is not None and _DIR_FD:
                self.dir_fd = os.open(out_dir, os.O_RDONLY | _DIRECTORY | _NOFOLLOW)
            if mbox is not None:
                fd = os.open(mbox, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | _NOFOLLOW | _CLOEXEC | _BINARY, 0o600)
                self.mbox = os.fdopen(fd, "wb")
                set_private(fd)  # an existing file keeps its mode otherwise
        except OSError as exc:
            self.close()
            raise InputError(_("cannot write the notices: {strerror}").format(strerror=exc.strerror), file=self.where) from None
        self.stamp = b"From incident@localhost " + now.strftime("%a %b %d %H:%M:%S %Y").encode() + b"\n"

    def put(self, name: str, data: bytes) -> None:
        try:
            if self.mbox is not None:
                body = _FROM_LINE.sub(rb">\1", data.replace(b"\r\n", b"\n"))
                self.mbox.write(self.stamp + body.rstrip(b"\n") + b"\n\n")
                return
            # relative to the opened directory where the platform can (no symlink swapped in between)
            target: str | Path = name if self.dir_fd is not None else (self.out_dir or Path()) / name
            try:
                fd = os.open(target, _CREATE, 0o600, dir_fd=self.dir_fd)
            except FileExistsError:  # a re-run into the same directory: replace it, and make it private
                fd = os.open(target, _REPLACE, 0o600, dir_fd=self.dir_fd)
                set_private(fd)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
            finally:
                os.close(fd)
        except OSError as exc:
            raise InputError(_("cannot write the notice {name}: {strerror}")
                             .format(name=name, strerror=exc.strerror), file=self.where) from None

    def finish(self) -> None:
        """Make the whole output durable: one fsync of the directory, or of the mbox."""
        try:
            if self.mbox is not None:
                self.mbox.flush()
                os.fsync(self.mbox.fileno())
            if self.dir_fd is not None:
                os.fsync(self.dir_fd)
            elif self.out_dir is not None:
                fsync_dir(self.out_dir)
        except OSError as exc:
            raise InputError(_("cannot write the notices: {strerror}").format(strerror=exc.strerror), file=self.where) from None

    def close(self) -> None:
        if self.mbox is not None:
            self.mbox.close()
        if self.dir_fd is not None:
            os.close(self.dir_fd)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# flags that only some platforms have (Windows has no O_NOFOLLOW, O_DIRECTORY, O_CLOEXEC or dir_fd, and
# needs O_BINARY): each is 0 where it does not exist
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_BINARY = getattr(os, "O_BINARY", 0)
_DIR_FD = bool(_DIRECTORY) and os.open in os.supports_dir_fd
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _CLOEXEC | _BINARY
_REPLACE = os.O_WRONLY | os.O_TRUNC | _NOFOLLOW | _CLOEXEC | _BINARY


@dataclass(frozen=True)
class MergeResult:
    """What a mail merge wrote: counts and one hash over every document, no personal data."""

    count: int
    sha256: str
    skipped_no_email: int = 0
    no_address: int = 0
    target: str = ""


PROGRESS_EVERY = 100
"""Rows between progress reports (a per-row update of a progress bar costs more than a row's write)."""


def mail_merge(renderer: Renderer, people: Iterable[Person], *, out_dir: Path | None = None,
               mbox: Path | None = None, fmt: MergeFormat = "txt",
               progress: Callable[[int], None] | None = None) -> MergeResult:
    """Render one document per person into `out_dir/<key>.<fmt>` or one mbox; streams (memory stays flat).

    E-mail outputs (`eml`, `mbox`) leave out people without an address and count them.
    """
    if (out_dir is None) == (mbox is None):
        raise InputError(_("give either an output directory (--out) or an mbox file (--mbox)"), field="out")
    if fmt not in MERGE_FORMATS:
        raise InputError(_("unknown merge format {fmt!r}; valid: {join}")
                         .format(fmt=fmt, join=', '.join(MERGE_FORMATS)), field="format")
    emails = mbox is not None or fmt == "eml"
    if emails and not renderer.spec.email:
        raise InputError(_("{id} is not an e-mail notice; use individual-email for .eml or --mbox")
                         .format(id=renderer.spec.id),
                         field="format")
    if emails:
        require_sender(renderer.settings.config)
    digest = hashlib.sha256()
    count = no_email = no_address = 0

    if out_dir is not None:
        private_output_dir(out_dir, option="--out")
    if mbox is not None:
        output_file(mbox, option="--mbox", personal=True)
    config, incident_id, now, render = renderer.settings.config, renderer.record.id, renderer.now, renderer.render
    suffix = f".{fmt}"
    with _Sink(out_dir, mbox, now) as sink:
        for person in people:
            key = safe_key(person.key)
            if emails and not person.email:
                no_email += 1
                continue
            if not person.address:
                no_address += 1
            rendered = render(person, number=count + 1)
            if emails:
                data = build_email(OutgoingMessage(person.key, person.email, person.name, rendered.subject,
                                                   rendered.text), config.smtp, incident_id, date=now)
            else:
                data = rendered.text.encode("utf-8")
            digest.update(key.encode() + b"\0" + hashlib.sha256(data).digest())
            sink.put(key + suffix, data)
            count += 1
            if progress is not None and count % PROGRESS_EVERY == 0:
                progress(count)
        sink.finish()
    if progress is not None:
        progress(count)
    return MergeResult(count, digest.hexdigest(), no_email, no_address, str(out_dir or mbox))


# --------------------------------------------------------------------------- --check


_WS = re.compile(r"\s+")
_TAGS = re.compile(r"<[^>]*>")


def email_messages(renderer: Renderer, people: Iterable[Person],
                   counts: dict[str, int]) -> Iterator[OutgoingMessage]:
    """One e-mail per person with an address, each rendered for that person alone (for a sending batch);
    people without an address are counted in `counts["no_email"]`."""
    for person in people:
        if not person.email:
            counts["no_email"] = counts.get("no_email", 0) + 1
            continue
        rendered = renderer.render(person)
        if not rendered.subject:
            raise InputError(_("the template of {id} sets no subject").format(id=renderer.spec.id), field="template")
        yield OutgoingMessage(person.key, person.email, person.name, rendered.subject, rendered.text)


def _norm(text: str) -> str:
    return _WS.sub("", normalize(text).casefold())


@dataclass
class IdentityIndex:
    """Every roster name and e-mail address, normalized, for scanning documents in linear time."""

    names: dict[str, str] = field(default_factory=dict)
    """Normalized name or e-mail address -> the key of the (first) person who has it."""
    prefixes: dict[str, set[int]] = field(default_factory=dict)
    owners: dict[str, tuple[str, str]] = field(default_factory=dict)
    unchecked: int = 0
    """People whose name is too short (one character) to search for safely."""

    @classmethod
    def build(cls, people: Iterable[Person]) -> IdentityIndex:
        index = cls()
        for person in people:
            name, email = _norm(person.name), _norm(person.email)
            index.owners[person.key] = (name, email)
            if name and len(name) < 2:
                index.unchecked += 1
            for ident in (name, email):
                if len(ident) >= 2:
                    index.names.setdefault(ident, person.key)
                    index.prefixes.setdefault(ident[:2], set()).add(len(ident))
        return index

    def others_in(self, key: str, text: str) -> set[str]:
        """Keys of other people whose name or address appears in `text` (written for person `key`).

        Each bigram of the text that starts some roster name or address is looked up once, so the cost is
        linear in the text, whatever the roster's size. A match inside the person's own name or address
        (a shorter name, a namesake) does not count.
        """
        t = _norm(text)
        own = [(pos, pos + len(ident)) for ident in self.owners.get(key, ("", "")) if ident
               for pos in _positions(t, ident)]
        found: set[str] = set()
        for bigram in {t[i:i + 2] for i in range(len(t) - 1)}.intersection(self.prefixes):
            lengths = self.prefixes[bigram]
            for pos in _positions(t, bigram):
                for length in lengths:
                    owner = self.names.get(t[pos:pos + length])
                    if owner is None or owner == key or owner in found:
                        continue
                    if not any(start <= pos and pos + length <= end for start, end in own):
                        found.add(owner)
        return found


def _positions(text: str, needle: str) -> Iterator[int]:
    pos = text.find(needle)
    while pos != -1:
        yield pos
        pos = text.find(needle, pos + 1)


@dataclass(frozen=True)
class CheckFailure:
    """A document that names someone else (by their roster keys, never their names)."""

    key: str
    path: str
    others: tuple[str, ...]
    #: in English (JSON), marked for the catalogue: the command translates it when it shows it
    reason: str = N_("names other people")


@dataclass(frozen=True)
class CheckResult:
    checked: int
    failures: tuple[CheckFailure, ...]
    failure_count: int
    unchecked_names: int

    @property
    def ok(self) -> bool:
        return self.failure_count == 0


MAX_FAILURES = 1000


def document_text(data: bytes, suffix: str) -> str:
    """The readable text of a rendered document (tags stripped from HTML, an e-mail decoded)."""
    from email import message_from_bytes

    if suffix == "eml":
        msg = message_from_bytes(data, policy=policy.default)
        parts = [str(msg.get(h, "")) for h in ("To", "Subject")]
        body = msg.get_body(("plain", "html"))
        if body is not None:
            parts.append(body.get_content())
        return "\n".join(parts)
    text = data.decode("utf-8")
    if suffix == "html":
        text = html.unescape(_TAGS.sub(" ", text))
    return text


def iter_mbox(path: Path) -> Iterator[bytes]:
    """The messages of an mbox (mboxrd), one at a time."""
    current: list[bytes] = []
    with open(path, "rb") as fh:
        for line in fh:
            if line.startswith(b"From "):
                if current:
                    yield b"".join(current)
                current = []
                continue
            current.append(line[1:] if re.match(rb">+From ", line) else line)
    if current:
        yield b"".join(current)


def check_outputs(index: IdentityIndex, *, out_dir: Path | None = None, mbox: Path | None = None,
                  fmt: MergeFormat = "txt") -> CheckResult:
    """Re-read every document and prove each names only its own person; missing documents fail too."""
    failures: list[CheckFailure] = []
    count = checked = 0

    def fail(failure: CheckFailure) -> None:
        nonlocal count
        count += 1
        if len(failures) < MAX_FAILURES:
            failures.append(failure)

    if mbox is not None:
        for number, data in enumerate(iter_mbox(mbox), 1):
            from email import message_from_bytes

            key = recipient_of(str(message_from_bytes(data, policy=policy.default).get("Message-ID", ""))) or ""
            checked += 1
            where = f"{mbox}#{number}"
            if key not in index.owners:
                fail(CheckFailure(key or "?", where, (), N_("has no known recipient key")))
                continue
            others = index.others_in(key, document_text(data, "eml"))
            if others:
                fail(CheckFailure(key, where, tuple(sorted(others))))
    elif out_dir is not None:
        for key in index.owners:
            path = out_dir / f"{key}.{fmt}"
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                if fmt == "eml" and not index.owners[key][1]:
                    continue  # no e-mail address: no e-mail was written
                fail(CheckFailure(key, str(path), (), N_("is missing")))
                continue
            checked += 1
            others = index.others_in(key, document_text(data, fmt))
            if others:
                fail(CheckFailure(key, str(path), tuple(sorted(others))))
    return CheckResult(checked, tuple(failures), count, index.unchecked)
