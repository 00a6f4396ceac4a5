"""Plain aligned text tables: what a pipe, or a terminal shown more rows than a rich table draws quickly,
gets instead of a rich table (`incident list`, `incident deadlines`). Light to import: no rich."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from unicodedata import east_asian_width as _east_asian_width

#: above this many rows a terminal gets the plain table too (rich tables grow slow with thousands of rows)
RICH_TABLE_MAX_ROWS = 200

#: terminal columns of each non-ASCII character met so far (a list of 1,000 titles repeats most of them)
_CHAR_WIDTHS: dict[str, int] = {}


def cell_width(text: str) -> int:
    """Terminal columns of `text`: East Asian wide and full-width characters take two."""
    if text.isascii():
        return len(text)
    widths = _measured(set(text))
    return sum(map(widths.__getitem__, text))


def _measured(chars: set[str]) -> dict[str, int]:
    """The table of character widths, with every one of `chars` in it."""
    widths = _CHAR_WIDTHS
    for ch in chars.difference(widths):
        widths[ch] = 2 if _east_asian_width(ch) in "WF" else 1
    return widths


def plain_table(headers: Sequence[str], rows: Sequence[Sequence[str]], max_width: int = 40,
                clean: Callable[[str], str] | None = None) -> str:
    """An aligned text table for pipes and long lists; cells longer than `max_width` columns are cut.

    `clean` (which works character by character, e.g. making control characters visible) is applied to
    every cell. The work is done once per distinct text of a column, not per cell (a 1,000-row list has
    8,000 cells, most of them repeated: statuses, dates, departments), and a column's texts are checked
    for what `clean` would change and for wide characters together, as one text."""
    columns: list[Sequence[str]] = list(zip(headers, *rows)) if rows else [(h,) for h in headers]
    shown: list[Iterable[str]] = []
    for column in columns:
        distinct = set(column)
        joined = "\t".join(distinct)
        if "\n" in joined or (clean is not None and clean(joined) != joined):
            fixed = {text: (clean(text) if clean else text).replace("\n", " ") for text in distinct}
            column = [fixed[text] for text in column]
            distinct = set(column)
            joined = "\t".join(distinct)
        if joined.isascii():
            measured = {text: _cut(text, max_width) if len(text) > max_width else (text, len(text))
                        for text in distinct}
        else:
            wide = _wide_characters(set(joined))
            measured = {text: _cut(text, max_width) if (w := len(text.translate(wide))) > max_width else (text, w)
                        for text in distinct}
        width = max(w for _, w in measured.values())
        padded = {text: cut + " " * (width - w) for text, (cut, w) in measured.items()}
        shown.append(map(padded.__getitem__, column))
    return "\n".join("  ".join(line).rstrip() for line in zip(*shown)) + "\n"


def _wide_characters(chars: set[str]) -> dict[int, str]:
    """A translation table that doubles each wide character of `chars` (a text's length is then its width)."""
    widths = _measured(chars)
    return {ord(ch): ch + ch for ch in chars if widths[ch] == 2}


def _cut(text: str, max_width: int) -> tuple[str, int]:
    """`text` cut to `max_width` columns (ending in …), and its width."""
    width = cell_width(text)
    if width <= max_width:
        return text, width
    out, used = [], 0
    for ch in text:
        w = cell_width(ch)
        if used + w > max_width - 1:
            break
        out.append(ch)
        used += w
    return "".join(out) + "…", used + 1
