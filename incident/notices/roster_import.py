"""The roster's place in the record: whether its size agrees with the incident's `persons`, and the
update of `persons` from it (logged), shared by every workflow that reads the roster.

A workflow that reads the roster hands it a hook: on a mismatch the hook is told (to warn the officer)
and answers whether `persons` should become the roster's count; the update is written here, with its
audit entry, so a script that answers yes gets the same record and log as the command line.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from incident.register.backend import RegisterStore
    from incident.register.record import Record


@dataclass(frozen=True)
class PersonsMismatch:
    """The roster has more people than the incident's `persons` (本人の数) says, or none is recorded."""

    incident_id: str
    count: int
    """People in the roster."""
    persons: int | None
    """The record's `persons`; None when not recorded."""


#: told of a mismatch; answers whether `persons` should be set to the roster's count
PersonsHook = Callable[[PersonsMismatch], bool]


def persons_mismatch(record: Record, count: int) -> PersonsMismatch | None:
    """The mismatch between the roster's `count` and the record's `persons`, if any."""
    persons = record.get("persons")
    if persons is not None and count <= persons:
        return None
    return PersonsMismatch(record.id, count, persons)


def check_persons(store: RegisterStore, record: Record, count: int, actor: str,
                  hook: PersonsHook | None) -> PersonsMismatch | None:
    """Compare the roster's `count` with `persons`; when the hook says so, set `persons` (audit: `set`)."""
    mismatch = persons_mismatch(record, count)
    if mismatch is not None and hook is not None and hook(mismatch):
        store.update(record.id, lambda r: r.with_facts(persons=count), actor=actor, action="set",
                     extra={"reason": "roster count"})
    return mismatch
