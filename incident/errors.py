"""One error family for the whole toolkit.

Every domain error derives from :class:`IncidentError` and carries where it came from
(file, line, field, CSV row). The CLI maps the family to exit codes in one place:
:class:`InputError` and its subclasses exit 2 (bad input or usage), anything else 1.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from incident.i18n import _

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path


class IncidentError(Exception):
    """Base of every error the toolkit raises on purpose. Exit status 1."""

    exit_code = 1

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        field: str | None = None,
        line: int | None = None,
        row: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.file = str(file) if file is not None else None
        self.field = field
        self.line = line
        self.row = row

    def location(self) -> str:
        """`FILE:LINE: field 'x'` (the parts that are known), or ''."""
        parts: list[str] = []
        where = self.file or ""
        if self.line is not None:
            where = f"{where}:{self.line}" if where else _("line {line}").format(line=self.line)
        if self.row is not None:
            row = _("row {row}").format(row=self.row)
            where = f"{where}: {row}" if where else row
        if where:
            parts.append(where)
        if self.field:
            parts.append(_("field '{field}'").format(field=self.field))
        return ": ".join(parts)

    def __str__(self) -> str:
        loc = self.location()
        return f"{loc}: {self.message}" if loc else self.message


class InputError(IncidentError):
    """Bad input or usage: a malformed file, an invalid value, an unknown ID. Exit status 2."""

    exit_code = 2


class NotFoundError(InputError):
    """An incident, action, obligation or playbook that does not exist."""


class StoreError(InputError):
    """The store is missing or unusable (say how to create it)."""


class RefusedError(InputError):
    """A request the rules refuse (closing with open actions, approving one's own batch, ...)."""


class MultipleErrors(InputError):
    """Several problems collected at once (a checker collects; an evaluator fails fast)."""

    def __init__(self, errors: Sequence[IncidentError], *, file: str | Path | None = None) -> None:
        self.errors = list(errors)
        first = self.errors[0] if self.errors else None
        super().__init__(
            _("{count} problem(s); first: {first}").format(count=len(self.errors), first=first) if first
            else _("no problems"), file=file
        )

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self.errors)
