"""One notice per person without running the whole template per person: render once, stamp many.

A builtin notice to a person differs from the next person's only where that person's fields are
printed, and in what the template decides from whether a field is empty (an address block, a guardian's
line). `Stamper` therefore renders the template once per *shape* (which fields are empty, and the
person's own data items) with a placeholder in place of each non-empty field, and makes each person's
notice by writing their values into the placeholders, which costs microseconds instead of a template run.

It is exact only for templates that print a person's fields as they are and branch on nothing but
whether they are empty, which the builtin templates do (a test renders every per-person kind both ways
for many people). So that a change of template cannot turn that into a wrong letter in silence, the
first `VERIFY_PER_SHAPE` people of every shape are also rendered in full and compared, and a shape whose
placeholders do not come through intact (a field cut, changed case, escaped) or whose stamped notice
differs is rendered in full for everyone. Organization templates (untrusted) are never stamped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Final

VERIFY_PER_SHAPE: Final = 3
"""People of each shape rendered in full too and compared with their stamped notice."""
MAX_SHAPES: Final = 4096
"""Shapes remembered; past that, new shapes are rendered in full (memory stays flat)."""

_OPEN, _CLOSE = "\ue000", "\ue001"
_SLOT = re.compile(f"{_OPEN}([0-9]+){_CLOSE}")
_MARKS = re.compile(f"[{_OPEN}{_CLOSE}]")

Render = Callable[[Mapping[str, str]], tuple[str, str]]
"""A full render for a person's fields: (text, subject), before any tidying."""


@dataclass
class _Shape:
    text: str
    """The render with placeholders, as a `str.format` pattern (``{0}`` for the first field …)."""
    subject: str
    stampable: bool
    verified: int = 0


class Stamper:
    """Notices for people of the same shape, stamped from one render (see the module docstring)."""

    def __init__(self) -> None:
        self._shapes: dict[Hashable, _Shape] = {}
        self.stamped = 0
        """Notices made by stamping (those of a shape still being verified were rendered in full too)."""

    def render(self, fields: Mapping[str, str], variant: Hashable, full: Render) -> tuple[str, str]:
        """(text, subject) for the person with `fields`; `variant` is whatever else of the person the
        template sees (their own data items); `full` renders a person's fields in full."""
        values = tuple(fields.values())
        if _MARKS.search("".join(values)):
            return full(fields)  # a value that looks like a placeholder: never stamped
        key = (variant, tuple(fields), tuple(map(bool, values)))
        shape = self._shapes.get(key)
        if shape is None:
            if len(self._shapes) >= MAX_SHAPES:
                return full(fields)
            shape = self._shapes[key] = self._shape(fields, full)
        if not shape.stampable:
            return full(fields)
        stamped = shape.text.format(*values), shape.subject.format(*values)
        if shape.verified < VERIFY_PER_SHAPE:
            shape.verified += 1
            real = full(fields)
            if real != stamped:
                shape.stampable = False
                return real
        self.stamped += 1
        return stamped

    @staticmethod
    def _shape(fields: Mapping[str, str], full: Render) -> _Shape:
        placeholders = {k: f"{_OPEN}{i}{_CLOSE}" if v else "" for i, (k, v) in enumerate(fields.items())}
        text, subject = full(placeholders)
        # every placeholder that came out must have come out whole
        intact = not _MARKS.search(_SLOT.sub("", text + subject))
        return _Shape(_pattern(text), _pattern(subject), stampable=intact)


def _pattern(text: str) -> str:
    """`text` as a `str.format` pattern: braces doubled, each placeholder ``{N}``."""
    return _SLOT.sub(r"{\1}", text.replace("{", "{{").replace("}", "}}"))
