"""Moving a register between the file store and PostgreSQL: `incident db import DIR`, `incident db export DIR`.

Both directions copy every incident as its record text, byte for byte (so each audit entry's
`record_sha256` still names it), the personal data of individual incidents (rosters/, batches/: sealed
files, copied as they are) and the audit log. The source's audit chain is verified first (nothing is copied
from a log that does not verify); its entries are then written again, in order, into the target's chain
under the target's key, after an entry that names the source and its head (`db-import` / `db-export`, with
the hash `incident audit anchor` printed there), so the target's log tells where its history came from.

A copied entry says honestly what it is. It keeps the source entry's time, action, incident, changes and
record hash, and its author as the source recorded it: the name given (`actor`) and, where the source had
one, the author's database role; and it carries the mark `imported` = {seq, hash of the source entry,
role of its author where recorded} (`incident.register.actors.imported_mark`), covered by the chain's hash
like every other field. On PostgreSQL the copy is written, like every entry, in the importer's
authenticated role (`role`, which the database checks; migration 0006 accepts the mark only in the
transaction of an import into a register that never held an incident); on the file store it names no
role. Every check that needs two people compares a copied entry's author as the source recorded it
(`incident.register.actors.author_of`), never the role that copied it, so an approval that a second person
made before the move is still one, and one person's two steps are still one person's. The target's chain
is verified at the end (on PostgreSQL in the import's own transaction, so a failure leaves nothing
imported).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from incident.errors import InputError, RefusedError
from incident.fsutil import atomic_write_bytes, atomic_write_text, ensure_dir
from incident.i18n import _
from incident.register.actors import imported_mark
from incident.register.audit import GENESIS, VerifyResult
from incident.register.backend import RegisterStore
from incident.register.paths import ID_RE
from incident.register.pgstore import PgStore
from incident.register.store import Store

#: the personal-data directories copied as they are (sealed files named after their incident)
SEALED_DIRS = ("rosters", "batches")


@dataclass(frozen=True)
class TransferResult:
    """What was copied, and the verification of both ends."""

    source: str
    target: str
    incidents: int
    entries: int
    personal_files: int
    source_head: str
    verified: VerifyResult


def _entries_of(lines: Iterator[dict[str, Any]]) -> list[dict[str, Any]]:
    return list(lines)


def _copied(entry: Mapping[str, Any]) -> dict[str, Any]:
    """What the copy of a source entry says (the keywords of the target's append): the source's time, action,
    incident, changes and record hash, its author as the source recorded it and the mark `imported`."""
    return {"actor": str(entry.get("actor", "")), "action": str(entry.get("action", "")),
            "incident": entry.get("incident"), "changes": entry.get("changes") or {},
            "at": datetime.fromisoformat(str(entry["ts"])), "record_sha256": entry.get("record_sha256"),
            "imported": imported_mark(entry)}


def _checked_source(verify: Callable[[], VerifyResult], where: str) -> VerifyResult:
    result = verify()
    if not result.ok:
        raise RefusedError(_("the audit log of {where} does not verify ({problem}); nothing is copied until "
                             "`incident audit verify` passes there").format(where=where, problem=result.shown()))
    return result


def _same_roster_key(source: Store | PgStore, target: Store | PgStore) -> None:
    if any((source.root / d).is_dir() and any((source.root / d).iterdir()) for d in SEALED_DIRS) and \
            source.roster_key() != target.roster_key():
        raise RefusedError(_("the rosters and batches are sealed with a key the target does not have; give both "
                             "the same key file (INCIDENT_KEY_FILE or key_file in config.toml) and run again"))


def _copy_sealed(source_root: Path, target_root: Path) -> list[Path]:
    copied: list[Path] = []
    for name in SEALED_DIRS:
        directory = source_root / name
        if not directory.is_dir():
            continue
        for path in sorted(directory.rglob("*")):
            if path.is_symlink() or not path.is_file() or path.name.endswith(".lock") or path.name.endswith(".tmp"):
                continue
            dest = target_root / path.relative_to(source_root)
            if dest.exists():
                raise RefusedError(_("{path} exists already; the target holds personal data of its own")
                                   .format(path=dest))
            ensure_dir(dest.parent)
            atomic_write_bytes(dest, path.read_bytes())
            copied.append(dest)
    return copied


def _database(store: RegisterStore) -> PgStore:
    if not isinstance(store, PgStore):
        raise InputError(_("the store at {path} keeps its register in files; `incident db import` and `db "
                           "export` move a register to and from a database (`incident init --database URL`)")
                         .format(path=store.root), field="database_url")
    return store


def import_files(register: RegisterStore, source_root: Path, *, actor: str, at: datetime) -> TransferResult:
    """Copy the file store at `source_root` into the register on PostgreSQL (which holds no incident yet)."""
    target = _database(register)
    if not (source_root / "incidents").is_dir():
        raise InputError(_("no file store at {path} (no incidents/ directory)").format(path=source_root),
                         file=source_root)
    source = Store.open(source_root, lambda: target.vocabulary)
    before = _checked_source(source.verify_audit, str(source_root))
    entries = _entries_of(source.audit_entries())
    texts = {path.stem: path.read_bytes().decode("utf-8") for path in sorted(source.incidents_dir.glob("*.toml"))
             if ID_RE.match(path.stem)}
    records = {incident_id: target._parse(incident_id, text) for incident_id, text in texts.items()}
    _same_roster_key(source, target)
    conn = target.conn
    with target._guarded(), conn.transaction(), conn.cursor() as cur:
        cur.execute("SELECT seq FROM audit_head FOR UPDATE")
        if cur.execute("SELECT 1 FROM incidents LIMIT 1").fetchone():
            raise RefusedError(_("the register at {where} holds incidents already; import into an empty one")
                               .format(where=target.where))
        # the import's own entry first: the database accepts it only while the register never held an
        # incident, and the entries marked imported only after it, in this transaction (migration 0006)
        target._append(cur, actor=actor, action="db-import", incident=None,
                       changes={"source": str(source_root), "entries": len(entries), "incidents": len(records),
                                "source_head": before.head}, at=at)
        for incident_id, record in records.items():
            target._write(cur, record, insert=True, content=texts[incident_id])
        for entry in entries:
            target._append(cur, **_copied(entry))
        counters = source.root / "counters.json"
        if counters.exists():
            for year, last in json.loads(counters.read_text(encoding="utf-8")).items():
                cur.execute("INSERT INTO id_counters (year, last) VALUES (%s, %s) ON CONFLICT (year) DO UPDATE "
                            "SET last = greatest(id_counters.last, excluded.last)", (int(year), int(last)))
        after = target.verify_now()
        if not after.ok:
            raise RefusedError(_("the imported audit log does not verify ({problem}); nothing was imported")
                               .format(problem=after.shown()))
    personal = _copy_sealed(source_root, target.root)
    for dest in personal:  # a roster is kept in the database too, as the sealed file
        if dest.parent.name == "rosters" and dest.suffix == ".roster" and dest.stem in records:
            target._put_sealed(dest.stem, dest)
    for incident_id in sorted({d.parent.name for d in personal if d.parent.parent.name == "batches"} & set(records)):
        target.keep_batch(incident_id)  # and a batch, its journal with it
    return TransferResult(str(source_root), target.where, len(records), len(entries), len(personal), before.head,
                          after)


def export_files(register: RegisterStore, target_root: Path, *, actor: str, at: datetime) -> TransferResult:
    """Write the register on PostgreSQL out as a new file store at `target_root` (a directory that does not
    exist or is empty)."""
    source = _database(register)
    if target_root.exists() and (not target_root.is_dir() or any(target_root.iterdir())):
        raise InputError(_("{path} is not an empty directory; export into a new one").format(path=target_root),
                         file=target_root)
    with source.conn.transaction():  # one snapshot of the records and the log
        source.conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        if not source.sees_all():
            raise RefusedError(_("the role {role} sees only some of the register's incidents; export as the "
                                 "central desk").format(role=source.role))
        before = _checked_source(source.verify_now, source.where)
        entries = _entries_of(source.audit_entries())
        rows = source.conn.execute("SELECT id, content FROM incidents ORDER BY id").fetchall()
    config = source.config
    store = Store.init(target_root, dataclasses.replace(config, database_url=""), lambda: source.vocabulary)
    for incident_id, content in rows:
        atomic_write_text(store.path_of(str(incident_id)), str(content))
    with store.locked():
        store.append_audit(actor=actor, action="db-export", incident=None,
                           changes={"source": source.where, "entries": len(entries), "incidents": len(rows),
                                    "source_head": before.head}, at=at)
        for entry in entries:
            _append_as(store, entry)
    years: dict[str, int] = {}
    for (incident_id, _content) in rows:
        year, number = str(incident_id).split("-")
        years[year] = max(years.get(year, 0), int(number))
    atomic_write_bytes(store.root / "counters.json", json.dumps(years, sort_keys=True).encode())
    for (incident_id, _content) in rows:  # the rosters and batches kept in the database, brought here first
        source.fetch_personal_data(str(incident_id))
    _same_roster_key(source, store)
    personal = _copy_sealed(source.root, store.root)
    source.log(actor, "db-export", None, {"target": str(target_root), "incidents": len(rows)}, at=at)
    after = store.verify_audit()
    return TransferResult(source.where, str(target_root), len(rows), len(entries), len(personal), before.head, after)


def _append_as(store: Store, entry: Mapping[str, Any]) -> None:
    """An entry of the source written again at the end of the file store's chain, marked as copied, with its
    author as the source recorded it (the file store names no role of its own; the caller holds the store's
    lock)."""
    found = store._audit_key(True)
    key = found[0] if found else None
    last = store.audit.last()
    seq, prev = (int(last["seq"]), str(last["hash"])) if last else (0, GENESIS)
    store.audit._write(seq + 1, prev, key, **_copied(entry))
