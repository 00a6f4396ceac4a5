"""Stored text made safe for where it is shown: a terminal, a spreadsheet, a Markdown viewer.

Text an officer or a file put in the store (a title, a name, a note, an SMTP reply) may hold what
the place it is shown in would act on rather than show:

- a terminal: escape sequences (ESC …) that move the cursor, rewrite the screen or the window title,
  other control characters, and bidirectional overrides that reorder what is read. `terminal_safe`
  shows each of them as a visible escape (``\\x1b``, ``\\u202e``) instead;
- a spreadsheet: a CSV cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is run
  as a formula by Excel and LibreOffice (CSV injection). `csv_cell` prefixes such a cell with ``'``
  (the OWASP rule), the full-width forms included, which Excel also reads as formula signs;
- Markdown: raw HTML is rendered by most viewers. `md_text` escapes ``&``, ``<`` and ``>``.
"""

from __future__ import annotations

import re
from typing import Any, Final

_UNSAFE_TERMINAL: Final = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)
"""Control characters but line feed and tab, and the bidirectional marks and overrides."""


def _visible(match: re.Match[str]) -> str:
    code = ord(match[0])
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def terminal_safe(text: str) -> str:
    """`text` with every control character but line feed and tab shown as a visible escape."""
    return _UNSAFE_TERMINAL.sub(_visible, text) if _UNSAFE_TERMINAL.search(text) else text


FORMULA_STARTS: Final = frozenset("=+-@\t\r＝＋－＠")
"""First characters that make a spreadsheet read a CSV cell as a formula."""


def csv_cell(value: Any) -> Any:
    """`value` for a CSV cell: a string starting like a formula gets a leading ``'``; other values as is."""
    if isinstance(value, str) and value and value[0] in FORMULA_STARTS:
        return "'" + value
    return value


def md_text(value: Any) -> str:
    """`value` as Markdown text with no raw HTML: ``&``, ``<`` and ``>`` escaped as entities."""
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
