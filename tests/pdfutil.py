"""Helpers for tests that open the PDFs the toolkit writes: a Japanese font must be installed for
them; in CI (where .ci/run installs fonts-ipaexfont) its absence fails the run instead of skipping."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

MM = 72 / 25.4


def require_japanese_font() -> Path:
    from incident.errors import InputError
    from incident.notices.pdffont import locate

    try:
        return locate("")
    except InputError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"CI must be able to print PDF letters: {exc}")
        pytest.skip(f"no Japanese font for PDF letters (apt-get install fonts-ipaexfont): {exc}")


@dataclass(frozen=True)
class Line:
    text: str
    x0: float
    y0: float
    x1: float
    y1: float

    def inside(self, left: float, top: float, width: float, height: float) -> bool:
        """Within a box given in mm from the top left corner of an A4 page."""
        page_h = 297 * MM
        return (self.x0 >= left * MM and self.x1 <= (left + width) * MM
                and self.y1 <= page_h - top * MM and self.y0 >= page_h - (top + height) * MM)


def text_lines(path: Path) -> list[list[Line]]:
    """Every page's text lines with their boxes in PDF points (pdfminer, forms included)."""
    from pdfminer.high_level import extract_pages
    from pdfminer.layout import LAParams, LTComponent, LTTextLine

    def walk(item: LTComponent) -> list[Line]:
        if isinstance(item, LTTextLine):
            return [Line(item.get_text().strip(), item.x0, item.y0, item.x1, item.y1)]
        return [line for child in getattr(item, "_objs", []) for line in walk(child)]

    # all_texts: the text drawn from form XObjects (what repeats in a print run) is laid out into lines too
    return [walk(page) for page in extract_pages(str(path), laparams=LAParams(all_texts=True))]
