"""The roster workflows: importing a roster into an incident (the `roster` section, the audit entry, the
refusal to replace a roster that notices were made from), showing a sample of it (a reveal is logged), and
whether its size agrees with the incident's `persons`.

The roster (本人一覧) is personal data: it is stored encrypted (incident.notices.roster) and the record
keeps only its count, columns and import time. A workflow that reads the roster takes a hook: on a
`persons` mismatch the hook is told (to warn the officer) and answers whether `persons` should become the
roster's count; the update is written here, with its audit entry, so a script that answers yes gets the
same record and log as the command line.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from incident.errors import InputError, RefusedError
from incident.i18n import _, ngettext
from incident.notices.roster import import_csv, import_xlsx, sample
from incident.notices.rosterfile import roster_info
from incident.register import sections
from incident.register.sections import RosterSection

if TYPE_CHECKING:
    from pathlib import Path

    from incident.law.context import Context
    from incident.notices.roster import ImportResult, Person
    from incident.notices.rosterfile import RosterInfo
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


def settle_persons(store: RegisterStore, mismatch: PersonsMismatch, actor: str, hook: PersonsHook) -> bool:
    """Tell the hook of the mismatch; when it says so, set `persons` to the roster's count (audit: `set`)."""
    if not hook(mismatch):
        return False
    store.update(mismatch.incident_id, lambda r: r.with_facts(persons=mismatch.count), actor=actor,
                 action="set", extra={"reason": "roster count"})
    return True


def check_persons(store: RegisterStore, record: Record, count: int, actor: str,
                  hook: PersonsHook | None) -> PersonsMismatch | None:
    """Compare the roster's `count` with `persons`, and settle a mismatch with the hook, if one is given."""
    mismatch = persons_mismatch(record, count)
    if mismatch is not None and hook is not None:
        settle_persons(store, mismatch, actor, hook)
    return mismatch


# --------------------------------------------------------------------------- import


@dataclass(frozen=True)
class Imported:
    """A roster imported by `import_roster`."""

    result: ImportResult
    section: Mapping[str, Any]
    """The record's new `roster` section."""
    persons: PersonsMismatch | None


def roster_in_use(record: Record) -> str:
    """Why the incident's roster must not be silently replaced ('' when nothing was made from it)."""
    sending = sections.sending_of(record.sections)
    if sending is not None:
        count = "?" if sending.count is None else sending.count
        return _("an e-mail batch of {count} was prepared from it ({state})").format(count=count, state=sending.state)
    mailed = [n for n in sections.notices_of(record.sections) if n.mailed_at is not None]
    if mailed:
        return ngettext("{count} letter print run made from it was mailed",
                        "{count} letter print runs made from it were mailed", len(mailed)).format(count=len(mailed))
    return ""


def check_replace(record: Record, dest: Path, replace: bool, reason: str) -> dict[str, Any]:
    """Refuse to replace a roster that notices were made from, unless `replace` with a reason; the audit
    entry's extra fields (the old roster's hash, the reason)."""
    if replace and not reason.strip():
        raise InputError(_("--replace needs --reason TEXT (it is logged)"), field="--reason")
    if not dest.exists():
        return {}
    used = roster_in_use(record)
    if used and not replace:
        raise RefusedError(_("{id} already has a roster and {used}; replace it with --replace --reason TEXT (the old roster's hash is logged)")
                           .format(id=record.id, used=used))
    old = {"replaced_sha256": hashlib.sha256(dest.read_bytes()).hexdigest()}
    return {**old, **({"reason": reason.strip()} if replace else {})}


def import_roster(ctx: Context, incident_id: str, file: Path, *, actor: str,
                  mapping: Mapping[str, str] | None = None, encoding: str | None = None, sheet: str | None = None,
                  skip_invalid: bool = False, replace: bool = False, reason: str = "") -> Imported:
    """Import the people of `file` (a CSV or an Excel workbook) for the incident, all or nothing (unless
    `skip_invalid`), encrypted with the store's roster key; record the `roster` section (`roster-import`).
    A `persons` mismatch is returned for the caller to settle (`settle_persons`) once it has shown the import."""
    from incident.notices.rosterxlsx import XLSX_SUFFIXES

    store = ctx.store

    excel = file.suffix.casefold() in XLSX_SUFFIXES
    if sheet is not None and not excel:
        raise InputError(_("--sheet is for an Excel workbook (.xlsx)"), field="--sheet")
    if encoding is not None and excel:
        raise InputError(_("--encoding is for a CSV; a workbook says its own"), field="--encoding")
    record = store.load(incident_id)
    if not file.is_file():
        raise InputError(_("no such file"), file=file)
    dest = store.roster_path(incident_id)
    replaced = check_replace(record, dest, replace, reason)
    # bad rows raise one error that lists them by line (the first 20, then a count): nothing is written
    with store.roster_import(incident_id):  # one import at a time; a killed one's temporary file removed
        if excel:
            result = import_xlsx(file, dest, store.roster_key(), sheet=sheet, mapping=mapping,
                                 skip_invalid=skip_invalid)
        else:
            result = import_csv(file, dest, store.roster_key(), encoding=encoding, mapping=mapping,
                                skip_invalid=skip_invalid)
    section = RosterSection(count=result.count, columns=tuple(result.columns), encoding=result.encoding,
                            imported_at=ctx.now().replace(microsecond=0), skipped=result.skipped_rows,
                            duplicates=result.duplicate_count).to_toml()
    store.update(incident_id, lambda r: r.with_section("roster", section), actor=actor,
                 action="roster-import", extra={"count": result.count, "skipped": result.skipped_rows, **replaced})
    return Imported(result, section, persons_mismatch(record, result.count))


# --------------------------------------------------------------------------- show


@dataclass(frozen=True)
class RosterSample:
    """The roster's size and columns (no key needed) and its first people, masked unless revealed."""

    info: RosterInfo
    people: tuple[Person, ...]
    masked: bool


def show_roster(store: RegisterStore, incident_id: str, *, actor: str, count: int = 5,
                reveal: bool = False) -> RosterSample:
    """The first `count` people of the roster, masked unless `reveal`, which is logged (`roster-reveal`)."""
    store.load(incident_id)
    path = store.roster_path(incident_id)
    meta = roster_info(path)
    people = sample(path, store.roster_key(), count, reveal)
    if reveal:
        store.log(actor, "roster-reveal", incident_id, {"shown": len(people)})
    return RosterSample(meta, people, not reveal)
