"""The one normalizer of typed text: how a date, an id, a name or a phone number is read, looked up and
compared, whichever way it was typed.

NFKC makes full-width letters and digits ASCII, half-width katakana full-width and unfolds
compatibility forms (㈱, ①), but leaves alone the marks people type for a hyphen: the dashes (‐ ‒ – — ―),
the minus sign (−, what a Japanese IME gives for a full-width minus) and the long-vowel mark ー (what the
same key gives in kana mode). `normalize` makes them ASCII ``-`` where they are hyphens, as the use says:

- ``"keep"``: none of them (text shown or stored as typed: a label, an e-mail address);
- ``"dashes"``: every dash and the minus sign, and ー only between two digits (2024ー06ー03,
  1ー2ー3 in an address), never in a word (メール, データ), where it lengthens a vowel;
- ``"numeric"``: every dash and every ー (a postal code 〒123ー4567, a phone number 03ー1234ー5678).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final, Literal

Hyphens = Literal["keep", "dashes", "numeric"]

DASHES: Final = "\u2010\u2012\u2013\u2014\u2015\u2212\u2043\u2e3a\u2e3b"
"""‐ ‒ – — ― − ⁃ ⸺ ⸻: the dashes and the minus sign as NFKC leaves them (it makes ‑ ‐, ﹘ ︱ —, ︲ –, and
﹣ － ASCII ``-`` itself)."""

LONG_VOWEL: Final = "\u30fc"
"""ー, the long-vowel mark (NFKC makes the half-width ｰ this one)."""

_DASHES_TO_HYPHEN: Final = str.maketrans(dict.fromkeys(DASHES, "-"))
_ALL_TO_HYPHEN: Final = str.maketrans(dict.fromkeys(DASHES + LONG_VOWEL, "-"))
_LONG_VOWEL_IN_NUMBER: Final = re.compile(r"(?<=[0-9])\u30fc(?=[0-9])")


def normalize(text: str, hyphens: Hyphens = "dashes") -> str:
    """`text` in NFKC, with the hyphen-like marks NFKC keeps made ASCII ``-`` as `hyphens` says (see the
    module's docstring). Each mark becomes one ``-``: the result is as long as the NFKC form."""
    text = unicodedata.normalize("NFKC", text)
    if hyphens == "keep":
        return text
    if hyphens == "numeric":
        return text.translate(_ALL_TO_HYPHEN)
    text = text.translate(_DASHES_TO_HYPHEN)
    return _LONG_VOWEL_IN_NUMBER.sub("-", text) if LONG_VOWEL in text else text


def compare_key(text: str, hyphens: Hyphens = "dashes") -> str:
    """The form two texts are compared in (never shown): normalized, case-folded, without white space."""
    return "".join(normalize(normalize(text, hyphens).casefold(), hyphens).split())
