"""Retention (保存期間): remove the personal data of incidents closed longer ago than the retention period.

Seed 000 keeps case records five years after the case ends and then disposes of them; the store's
`retention_years` (default 5) says how long here. What is removed is what holds personal data outside
the record: the roster, the sending batches and the rendered notices — every entry of the store's
`rosters/`, `batches/` and `notices/` directories named after the incident (`2023-0012`,
`2023-0012.roster`, `2023-0012-letters/` …), what the backend keeps of them elsewhere (on the shared
register, the sealed roster and batch files and the batch's journal in the database, listed by name
without being brought to this machine: a dry run writes no personal data here), and the files written elsewhere that the record's `notices`
section lists with a count of people (a PDF print run, an mbox, the per-person files of a mail merge
directory — never anything else in that directory). The record itself (the incident's summary) and the audit
log remain; each purge adds a timeline event and an audit entry listing what was removed.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from incident import dates
from incident.fsutil import LockBusy, file_lock
from incident.i18n import _
from incident.register import record as rec
from incident.register import sections
from incident.register.backend import RegisterStore
from incident.register.store import PERSONAL_DATA_DIRS

if TYPE_CHECKING:
    from incident.law.context import Context

"""The store directories that hold an incident's personal data, one entry (or more) per incident."""


@dataclass(frozen=True)
class PurgeItem:
    """One incident whose personal data is due for removal."""

    incident: str
    closed_on: date
    paths: tuple[Path, ...]
    """Store-relative paths of the files and directories to remove."""
    size: int
    """Bytes they hold."""


@dataclass(frozen=True)
class Holding:
    """What one incident still holds of people's data, and from when purge removes it."""

    incident: str
    status: str
    closed_on: date | None
    due_from: date | None
    """The first day purge removes it (None while the incident is not closed)."""
    paths: tuple[Path, ...]
    """Store-relative inside the store, absolute outside."""
    notes: tuple[str, ...] = ()
    """Recorded output outside the store that is gone or no longer as written."""


@dataclass(frozen=True)
class PurgePlan:
    today: date
    retention_years: int
    items: tuple[PurgeItem, ...]
    holdings: tuple[Holding, ...] = ()
    stray: tuple[Path, ...] = ()
    """Temporary files a killed run left (e.g. a roster import): removed by every purge."""

    @property
    def paths(self) -> int:
        return sum(len(i.paths) for i in self.items)

    def to_json(self) -> dict[str, Any]:
        return {
            "today": self.today.isoformat(), "retention_years": self.retention_years,
            "incidents": [{"incident": i.incident, "closed_on": i.closed_on.isoformat(),
                           "paths": [p.as_posix() for p in i.paths], "bytes": i.size} for i in self.items],
            "holdings": [{"incident": h.incident, "status": h.status,
                          "closed_on": h.closed_on.isoformat() if h.closed_on else None,
                          "due_from": h.due_from.isoformat() if h.due_from else None,
                          "paths": [p.as_posix() for p in h.paths], "notes": list(h.notes)} for h in self.holdings],
            "stray": [p.as_posix() for p in self.stray],
        }


def add_years(day: date, years: int) -> date:
    """The same calendar day `years` later (29 February becomes 28 February in a common year)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def retention_ends(closed_on: date, years: int) -> date:
    """The last day of the retention period: personal data may be removed from the day after."""
    return add_years(closed_on, years)


def closing_dates(store: RegisterStore) -> dict[str, datetime]:
    """When each incident was last closed, from the audit log (a status change or edit to `closed`)."""
    closed: dict[str, datetime] = {}
    for entry in store.audit_entries():
        incident = entry.get("incident")
        change = entry.get("changes", {}).get("status") if isinstance(entry.get("changes"), dict) else None
        if incident and isinstance(change, list) and len(change) == 2 and change[1] == "closed":
            closed[str(incident)] = datetime.fromisoformat(str(entry["ts"]))
    return closed


def _closed_at(record: rec.Record, from_log: Mapping[str, datetime]) -> datetime | None:
    if record.status != "closed":
        return None
    if record.id in from_log:
        return from_log[record.id]
    status_events = [e.at for e in record.timeline if e.kind == "status"]
    if status_events:
        return max(status_events)
    updated = record.get("updated_at") or record.get("created_at")
    return updated if isinstance(updated, datetime) else None


def personal_data_paths(store: RegisterStore, incident_id: str) -> list[Path]:
    """Entries of the personal-data directories named after the incident (store-relative)."""
    return store.personal_data_paths(incident_id)


def kept_elsewhere(store: RegisterStore, incident_id: str, local: list[Path]) -> dict[Path, int]:
    """What the backend keeps of the incident's personal data besides the store directory (a database's
    sealed files), by name with its size, leaving out what a local entry covers (the same file, or a file of
    a directory here); read without writing any of it to disk."""
    found: dict[Path, int] = {}
    for name, size in sorted(store.personal_data_kept(incident_id).items()):
        path = Path(name)
        if not any(path == entry or entry in path.parents for entry in local):
            found[path] = size
    return found


PER_PERSON_FILE = re.compile(r"p[0-9]{6}\.(?:txt|html|eml|docx|pdf)")
"""The name a mail merge gives each person's file (roster key and format)."""


def recorded_paths(store: RegisterStore, record: rec.Record) -> list[Path]:
    """Files outside the store that the record says hold people's data: the `path` of each `notices`
    entry that counts people (a print run, an mbox, a mail-merge directory's per-person files)."""
    found: list[Path] = []
    root = store.root.resolve()
    for entry in sections.notices_of(record.sections):
        if entry.count is None or not entry.path:
            continue
        path = Path(entry.path)
        if not path.is_absolute() or path.resolve().is_relative_to(root):
            continue  # inside the store, personal_data_paths finds it; a relative path cannot be resolved now
        if path.is_file() and not path.is_symlink():
            found.append(path)
        elif path.is_dir() and not path.is_symlink():
            found.extend(sorted(f for f in path.iterdir() if PER_PERSON_FILE.fullmatch(f.name) and f.is_file()))
    return sorted(set(found))


def recorded_notes(store: RegisterStore, record: rec.Record) -> list[str]:
    """Recorded output outside the store that is gone, or whose per-person files no longer number what was
    written (purge says so rather than guess what became of it)."""
    notes: list[str] = []
    root = store.root.resolve()
    for entry in sections.notices_of(record.sections):
        if entry.count is None or not entry.path:
            continue
        path = Path(entry.path)
        if not path.is_absolute() or path.resolve().is_relative_to(root):
            continue
        if not path.exists():
            notes.append(_("{path}: gone (recorded {at}, {count} people); not checked further")
                         .format(path=path, at=entry.at, count=entry.count))
        elif path.is_dir() and not path.is_symlink() and entry.state != "writing":
            present = sum(1 for f in path.iterdir() if PER_PERSON_FILE.fullmatch(f.name))
            if present != entry.count:
                notes.append(_("{path}: changed since written ({present} of {count} per-person files)")
                             .format(path=path, present=present, count=entry.count))
    return notes


def stray_temp_files(store: RegisterStore) -> list[Path]:
    """Temporary files a killed run left in the personal-data directories (`.2024-0001.roster.*.tmp`),
    store-relative; one that a running import is still writing (its lock held) is left alone."""
    found: list[Path] = []
    for name in PERSONAL_DATA_DIRS:
        directory = store.root / name
        if not directory.is_dir():
            continue
        for entry in sorted(directory.glob(".*.tmp")):
            incident = entry.name[1:].split(".", 1)[0]
            try:
                with file_lock(directory / f".{incident}.import.lock", wait=False):
                    found.append(entry.relative_to(store.root))
            except LockBusy:
                continue
    return found


def _size(path: Path) -> int:
    if path.is_symlink() or not path.is_dir():
        return path.lstat().st_size
    return sum(p.lstat().st_size for p in path.rglob("*"))


def plan_purge(ctx: Context, *, today: date | None = None, records: Iterable[rec.Record] | None = None) -> PurgePlan:
    """What `incident purge` would remove today; nothing is changed."""
    store = ctx.store
    years = ctx.config.retention_years
    day = today or dates.to_local_date(ctx.now(), ctx.tz)
    from_log = closing_dates(store)
    items: list[PurgeItem] = []
    holdings: list[Holding] = []
    for record in sorted(records if records is not None else store.records(fresh=True), key=lambda r: r.id):
        local = personal_data_paths(store, record.id)
        elsewhere = kept_elsewhere(store, record.id, local)
        paths = local + list(elsewhere) + recorded_paths(store, record)
        notes = recorded_notes(store, record)
        closed = _closed_at(record, from_log)
        closed_on = dates.to_local_date(closed, ctx.tz) if closed is not None else None
        due_from = retention_ends(closed_on, years) + timedelta(days=1) if closed_on is not None else None
        if paths or notes:
            holdings.append(Holding(incident=record.id, status=record.status, closed_on=closed_on,
                                    due_from=due_from, paths=tuple(paths), notes=tuple(notes)))
        if closed_on is None or day <= retention_ends(closed_on, years):
            continue
        if paths:
            items.append(PurgeItem(incident=record.id, closed_on=closed_on, paths=tuple(paths),
                                   size=sum(elsewhere[p] if p in elsewhere else _size(store.root / p)
                                            for p in paths)))
    return PurgePlan(today=day, retention_years=years, items=tuple(items), holdings=tuple(holdings),
                     stray=tuple(stray_temp_files(store)))


def execute_purge(ctx: Context, plan: PurgePlan, *, actor: str, at: datetime | None = None) -> list[PurgeItem]:
    """Remove what the plan lists, then record it on each incident (timeline event and audit entry).

    The files are removed before the record is updated: should the update fail, running the purge
    again finds nothing left to remove but still logs the removal it did.
    """
    store = ctx.store
    moment = (at or ctx.now()).replace(microsecond=0)
    stray = [p for p in plan.stray if _remove(store.root / p)]
    if stray:
        store.log(actor, "purge.stray", None, {"removed": [p.as_posix() for p in stray]}, at=moment)
    done: list[PurgeItem] = []
    for item in plan.items:
        removed = [p for p in item.paths if _remove(store.root / p)]
        forgotten = store.forget_personal_data(item.incident)  # the sealed copies a database keeps
        named = [p.as_posix() for p in removed]
        text = (f"保存期間（閉鎖後{plan.retention_years}年）の経過により個人データを削除: "
                + ", ".join(named + [name for name in forgotten if name not in named]))
        store.update(item.incident, _add_event(rec.Event(at=moment, text=text, actor=actor, kind="purge")),
                     actor=actor, action="purge", at=moment,
                     extra={"removed": [p.as_posix() for p in removed], "bytes": item.size,
                            "closed_on": item.closed_on.isoformat(), "retention_years": plan.retention_years,
                            **({"deleted_from_database": forgotten} if forgotten else {})})
        done.append(item)
    return done


def _add_event(event: rec.Event) -> Callable[[rec.Record], rec.Record]:
    return lambda record: record.with_event(event)


def _remove(path: Path) -> bool:
    """Delete a file or a directory tree; False when it was already gone."""
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            os.unlink(path)
    except FileNotFoundError:
        return False
    return True
