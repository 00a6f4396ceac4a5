"""The one rule for a person's e-mail address, used by roster import and by sending alike.

An address is accepted when it is ASCII, at most 254 characters, ``local@domain`` with a domain of
letter-digit-hyphen labels and an alphabetic top-level label, and a local part of at most 64 RFC 5322
``atext`` characters and dots. Dots may appear anywhere in the local part (``foo..bar.@docomo.ne.jp``):
older Japanese mobile carriers handed out such addresses and they still receive mail. They are not an
RFC 5321 ``Dot-string``, so `smtp_address` writes them as a quoted string (``"foo..bar."@docomo.ne.jp``),
which is what goes into ``RCPT TO`` and the ``To`` header; a conforming address is left as it is.
"""

from __future__ import annotations

import re
from typing import Final

from incident.errors import InputError
from incident.i18n import N_, _

MAX_LENGTH: Final = 254
MAX_LOCAL: Final = 64

_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_LOCAL = re.compile(rf"(?:{_ATEXT}|\.)+")
_DOT_ATOM = re.compile(rf"{_ATEXT}+(?:\.{_ATEXT}+)*")
_DOMAIN = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}")
_ACCEPTED = re.compile(rf"(?=.{{3,{MAX_LENGTH}}}\Z)(?:{_ATEXT}|\.){{1,{MAX_LOCAL}}}@{_DOMAIN.pattern}")
"""The whole rule in one expression (the common case, checked first); `email_problem` says why not."""


def email_problem(addr: str, *, english: bool = False) -> str | None:
    """Why `addr` cannot be sent to (one short clause, in the run's language or, with `english`, in English),
    or None when it can."""
    if _ACCEPTED.fullmatch(addr):
        return None
    said = _problem_of(addr)
    if said is None:
        return None
    message, values = said
    return (message if english else _(message)).format(**values)


def _problem_of(addr: str) -> tuple[str, dict[str, int]] | None:
    if not addr:
        return N_("empty"), {}
    if any(c in addr for c in "\r\n\u2028\u2029"):
        return N_("contains a line break"), {}
    if "," in addr or ";" in addr:
        return N_("contains a comma or semicolon (one address per person)"), {}
    if not addr.isascii():
        return N_("not ASCII (full-width or accented characters)"), {}
    if len(addr) > MAX_LENGTH:
        return N_("longer than {most} characters"), {"most": MAX_LENGTH}
    local, at, domain = addr.rpartition("@")
    if not at or not local:
        return N_("expected local-part@domain"), {}
    if len(local) > MAX_LOCAL:
        return N_("the part before @ is longer than {most} characters"), {"most": MAX_LOCAL}
    if not _LOCAL.fullmatch(local):
        return N_("the part before @ holds a character mail servers refuse (space, quote, @, <, > ...)"), {}
    if len(domain) > 253 or not _DOMAIN.fullmatch(domain):
        return N_("the domain after @ is not a valid host name (e.g. example.jp)"), {}
    return None


def is_valid_email(addr: str) -> bool:
    """True when `addr` passes the rule (see `email_problem`)."""
    return email_problem(addr) is None


def check_email(addr: str, who: str, field: str) -> None:
    """InputError naming `who` and `field` unless `addr` is one sendable address."""
    problem = email_problem(addr)
    if problem is not None:
        raise InputError(_("{who}: {field} {addr!r} is not one e-mail address that can be sent to ({problem})")
                         .format(who=who, field=field, addr=addr, problem=problem),
                         field=field)


def smtp_address(addr: str) -> str:
    """`addr` as written in ``RCPT TO`` and the ``To`` header: the local part quoted when it is not an
    RFC 5321 Dot-string (leading, trailing or consecutive dots). `addr` must pass `email_problem`."""
    local, _unused, domain = addr.rpartition("@")
    if _DOT_ATOM.fullmatch(local):
        return addr
    return f'"{local}"@{domain}'
