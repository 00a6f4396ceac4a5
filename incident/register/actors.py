"""Who is acting: one comparison of people's names for every check that needs two different people.

The double check of a sending batch (the preparer may not approve) and the effectiveness check of a
corrective action (the owner may not verify) both ask "is this the same person?". Names are compared
as people type and disguise them: `incident.text.normalize` (full-width letters, compatibility forms,
every dash and the minus sign as one hyphen), format characters
removed (zero-width space and joiners, BOM, soft hyphen, bidi marks) with variation selectors and
control characters, every run of white space removed (「山田 太郎」 is 「山田太郎」), and case folded.
"""

from __future__ import annotations

import unicodedata

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
