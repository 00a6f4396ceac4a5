"""Who is acting: one comparison of people's names for every check that needs two different people.

The double check of a sending batch (the preparer may not approve) and the effectiveness check of a
corrective action (the owner may not verify) both ask "is this the same person?". Names are compared
as people type and disguise them: `incident.text.normalize` (full-width letters, compatibility forms,
every dash and the minus sign as one hyphen), format characters
removed (zero-width space and joiners, BOM, soft hyphen, bidi marks) with variation selectors and
control characters, every run of white space removed (「山田 太郎」 is 「山田太郎」), and case folded.

Who made an audit entry (`author_of`): on a shared register the authenticated database role that wrote it
(`role`, which the database checks); an entry copied from another register's log by `incident db import`
or `db export` carries its author as the source recorded it (`imported`: the source entry's sequence
number and hash, and the role of its author where the source had one), never the role of whoever copied
it. Two authors are the same person when both have a role and the roles are equal; otherwise their names
are compared (`same_actor`), as the file store always does.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from incident.text import normalize

_INVISIBLE_CATEGORIES = ("Cf", "Cc", "Cs", "Co", "Cn")


def _invisible(char: str) -> bool:
    code = ord(char)
    return (unicodedata.category(char) in _INVISIBLE_CATEGORIES
            or 0xFE00 <= code <= 0xFE0F or 0xE0100 <= code <= 0xE01EF  # variation selectors
            or code in (0x115F, 0x1160, 0x3164, 0xFFA0, 0x034F))  # fillers and the grapheme joiner


def actor_key(name: str) -> str:
    """The form two names are compared in (never shown: the name as typed is what gets recorded)."""
    text = normalize(name)
    text = "".join(c for c in text if not _invisible(c))
    text = "".join(text.split())
    return normalize(text.casefold())


def same_actor(a: str, b: str) -> bool:
    """Whether two names denote the same person for a check that needs two people."""
    return actor_key(a) == actor_key(b)


#: the mark of an audit entry copied from another register's log (see `imported_mark`)
IMPORTED = "imported"


@dataclass(frozen=True)
class Author:
    """Who made an audit entry, as its log records it."""

    #: the name given (`--actor`): on a shared register a display name beside the role
    name: str
    #: the authenticated database role, None where the log recorded none (the file store)
    role: str | None = None
    #: copied from another register's log: name and role are as that log recorded them
    imported: bool = False


def author_of(entry: Mapping[str, Any]) -> Author:
    """The author of an audit entry: for an imported one its author as the source recorded it (not the role
    that wrote the copy), else the role that wrote it and the name it gave."""
    mark = entry.get(IMPORTED)
    role = mark.get("role") if isinstance(mark, Mapping) else entry.get("role")
    return Author(str(entry.get("actor", "")), role if isinstance(role, str) and role else None,
                  isinstance(mark, Mapping))


def imported_mark(entry: Mapping[str, Any]) -> dict[str, Any]:
    """What an entry copied into another log carries of its source entry: the source's sequence number and
    hash, and its author's role where the source recorded one (an entry the source had itself imported
    keeps its first author)."""
    mark: dict[str, Any] = {"seq": entry.get("seq"), "hash": entry.get("hash")}
    role = author_of(entry).role
    if role is not None:
        mark["role"] = role
    return mark


def same_author(a: Author, b: Author) -> bool:
    """Whether two authors are one person for a check that needs two: by role where both have one, else by
    the names given (`same_actor`)."""
    if a.role is not None and b.role is not None:
        return a.role == b.role
    return same_actor(a.name, b.name)


@dataclass(frozen=True)
class Identities:
    """How a double check told its people apart: "roles" (authenticated database roles) or "names" (the names
    given), and whether some of them are as an imported log recorded them."""

    compared: str
    imported: bool

    def to_json(self) -> dict[str, Any]:
        return {"compared": self.compared, "imported": self.imported}


def identities(*authors: Author) -> Identities:
    """How `same_author` compares these authors."""
    roles = all(a.role is not None for a in authors)
    return Identities("roles" if roles else "names", any(a.imported for a in authors))


def signed_in_as_one_of(me: Author, authors: Iterable[Author]) -> bool:
    """Whether `me` is signed in (has a role) as the role of one of `authors`: the same person under any name."""
    return me.role is not None and any(a.role == me.role for a in authors)


def told_apart(me: Author, earlier: Sequence[Author], named: str) -> Identities:
    """How `me` is told apart from who made the earlier step of a double check: its authors as the log
    records them, or, where it records none, the name the record gives (`named`)."""
    return identities(me, *earlier) if earlier else identities(me, Author(named))
