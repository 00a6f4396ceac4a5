"""Plain aligned text tables: what a pipe, or a terminal shown more rows than a rich table draws quickly,
gets instead of a rich table (`incident list`, `incident deadlines`). Light to import: no rich."""

from __future__ import annotations

from unicodedata import east_asian_width as _east_asian_width

#: above this many rows a terminal gets the plain table too (rich tables grow slow with thousands of rows)
RICH_TABLE_MAX_ROWS = 200

#: terminal columns of each non-ASCII character met so far (a list of 1,000 titles repeats most of them)
_CHAR_WIDTHS: dict[str, int] = {}


def cell_width(text: str) -> int:
    """Terminal columns of `text`: East Asian wide and full-width characters take two."""
    if text.isascii():
        return len(text)
    widths = _CHAR_WIDTHS
    for ch in set(text).difference(widths):
        widths[ch] = 2 if _east_asian_width(ch) in "WF" else 1
    return sum(map(widths.__getitem__, text))


def plain_table(headers: tuple[str, ...], rows: list[list[str]], max_width: int = 40) -> str:
    """An aligned text table for pipes and long lists; cells longer than `max_width` columns are cut.

    Each cell's width is measured once (a 1,000-row list has 8,000 cells)."""

    seen: dict[str, tuple[str, int]] = {}  # the same text (a department, a step title) is measured once

    def measured(text: str) -> tuple[str, int]:
        known = seen.get(text)
        if known is not None:
            return known
        seen[text] = result = _measure(text)
        return result

    def _measure(text: str) -> tuple[str, int]:
        text = text.replace("\n", " ")
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

    cells = [[measured(c) for c in headers]] + [[measured(c) for c in row] for row in rows]
    widths = [max(row[i][1] for row in cells) for i in range(len(headers))]
    lines = []
    for row in cells:
        lines.append("  ".join(c + " " * (w - cw) for (c, cw), w in zip(row, widths)).rstrip())
    return "\n".join(lines) + "\n"
