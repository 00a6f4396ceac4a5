"""The embedded store: one TOML file per incident, a config, an audit log, a lock, an index.

Layout of a store directory (0700; files 0600)::

    config.toml          the organization's settings
    incidents/YYYY-NNNN.toml
    counters.json        the last number issued per year (IDs are never reused)
    audit.log            append-only, hash-chained (see incident.register.audit)
    index.json           a cache of parsed records, keyed by each file's status and hash; rebuilt when stale
    list.json            each incident as `incident list` shows it, vouched for by its file's status
                         (incident.register.listing)
    playbooks/ templates/  the organization's overrides and additions
    rosters/ batches/ notices/   personal data and rendered documents of individual incidents

Every change runs under one exclusive lock: load, apply, validate, write atomically, append to
the audit log. Reads take no lock (atomic renames keep every file whole).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, date, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from incident import dates
from incident.dates import to_local_date
from incident.errors import InputError, NotFoundError, RefusedError, StoreError
from incident.fsutil import LockBusy, atomic_write_bytes, atomic_write_text, ensure_dir, file_lock, fsync_dir
from incident.i18n import _
from incident.register import record as rec
from incident.register.audit import AuditLog, VerifyResult, file_sha256
from incident.register.batchfiles import BatchFiles
from incident.register.config import Config, load_config
from incident.register.listing import LIST_FILE, SETTLED_NS, is_incident_file
from incident.register.listing import encode as encode_list
from incident.register.listing import signature as file_signature
from incident.register.paths import ENV_HOME, ID_RE
from incident.register.sections import TOOL_WRITTEN, reportable_of

if TYPE_CHECKING:
    from incident.register.listing import Summary

#: where the personal data of individual incidents lives, named after the incident (`incident purge`)
PERSONAL_DATA_DIRS = ("rosters", "batches", "notices")
#: the audit entry of a record change in progress (see Store._write_logged)
INTENT = "audit.intent"
#: the store's own id, which its keys are named after
STORE_ID = "store-id"


def summary_of(record: rec.Record, tz: str, type_names: Mapping[str, str]) -> Summary:
    """The record as `incident list` shows it, its discovery dated in the timezone `tz`, its type's
    Japanese name from `type_names` (id -> name)."""
    return completed_summary(record.id, stored_summary(record), tz, type_names)


def stored_summary(record: rec.Record) -> dict[str, Any]:
    """What a list shows of the record whatever the timezone and language (JSON: a backend may keep it)."""
    return {"discovered_at": record.discovered_at.isoformat(), "status": record.status, "type": record.get("type"),
            "title": record.get("title"), "department": record.get("department", ""),
            "persons": record.get("persons"), "reportable": reportable_of(record.sections),
            "assessed": "assessment" in record.sections}


def completed_summary(incident_id: str, stored: Mapping[str, Any], tz: str,
                      type_names: Mapping[str, str]) -> Summary:
    """A stored summary (`stored_summary`) with its discovery dated in `tz` and its type's Japanese name."""
    moment = datetime.fromisoformat(stored["discovered_at"])
    type_id = stored["type"]
    return {"id": incident_id, "status": stored["status"], "discovered_at": stored["discovered_at"],
            "discovered_on": to_local_date(moment, tz).isoformat(), "type": type_id,
            "type_ja": type_names.get(type_id) if isinstance(type_id, str) else None, "title": stored["title"],
            "department": stored["department"], "persons": stored["persons"], "reportable": stored["reportable"],
            "assessed": stored["assessed"]}


def diff_records(old: rec.Record | None, new: rec.Record) -> dict[str, Any]:
    """Top-level keys whose values differ: {key: [old, new]}; sections report only that they changed."""
    before = rec.to_toml_dict(old) if old else {}
    after = rec.to_toml_dict(new)
    out: dict[str, Any] = {}
    for key in dict.fromkeys([*before, *after]):
        if key in ("updated_at", "schema"):
            continue
        a, b = before.get(key), after.get(key)
        if a == b:
            continue
        if key in rec.SECTIONS:
            out[key] = "changed" if a is not None and b is not None else ("added" if b is not None else "removed")
        else:
            out[key] = [_jsonable(a), _jsonable(b)]
    return out


def _jsonable_str(value: Any) -> str:
    return value.isoformat() if isinstance(value, (datetime, date)) else str(value)


def _jsonable(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


class LocalStore(ABC):
    """What every backend keeps in the local store directory: config.toml, the organization's playbooks/
    and templates/, the sealed personal data of individual incidents; and the record checks they share.

    The register depends on no stage: the vocabulary that records are validated against (data items,
    types, causes, regimes, all from playbooks) is handed in as a loader, called the first time a record
    is parsed. `incident.law.vocabulary.open_store` opens a store with the vocabulary of its playbooks.
    """

    def __init__(self, root: Path, vocabulary: Callable[[], rec.Vocabulary] | None = None, *,
                 config: Config | None = None) -> None:
        self.root = root
        self._vocabulary_loader = vocabulary
        if config is not None:  # already read (to choose the backend): the `config` property's value
            self.__dict__["config"] = config
        #: the incidents the last `records()` left out, each with its problem
        self.skipped: list[InputError] = []

    @cached_property
    def config(self) -> Config:
        return load_config(self.root / "config.toml")

    def reload_config(self) -> None:
        self.__dict__.pop("config", None)

    @property
    def tz(self) -> str:
        return self.config.timezone

    def extra_dirs(self, kind: str = "playbooks") -> tuple[Path, ...]:
        """The organization's own playbooks/ or templates/ directory, when it exists."""
        path = self.root / kind
        return (path,) if path.is_dir() else ()

    @cached_property
    def vocabulary(self) -> rec.Vocabulary:
        if self._vocabulary_loader is None:
            raise StoreError(_("the store at {root} was opened without a vocabulary to validate records; open it with incident.law.vocabulary.open_store")
                             .format(root=self.root))
        return self._vocabulary_loader()

    def private_dir(self, name: str) -> Path:
        return ensure_dir(self.root / name)

    # ------------------------------------------------------------------ personal data of one incident

    def roster_path(self, incident_id: str) -> Path:
        """`rosters/<ID>.roster`: the incident's affected-person list, encrypted."""
        self.check_id(incident_id)
        return self.private_dir("rosters") / f"{incident_id}.roster"

    @contextmanager
    def roster_import(self, incident_id: str) -> Iterator[Path]:
        """Hold the incident's import lock while a roster is written (one import at a time), after removing
        the temporary rosters a killed import left; yields the roster's path."""
        dest = self.roster_path(incident_id)
        try:
            with file_lock(dest.parent / f".{incident_id}.import.lock", wait=False):
                for stale in dest.parent.glob(f".{dest.name}.*.tmp"):
                    stale.unlink(missing_ok=True)
                yield dest
        except LockBusy:
            raise RefusedError(_("another roster import for {incident_id} is running; wait for it to finish")
                               .format(incident_id=incident_id)) \
                from None

    def batch_dir(self, incident_id: str) -> Path:
        """`batches/<ID>/`: the incident's e-mail batch, encrypted, with its journal."""
        self.check_id(incident_id)
        return self.private_dir("batches") / incident_id

    def batch(self, incident_id: str, *, fetch: bool = True) -> BatchFiles:
        """The incident's e-mail batch as the batch code reaches it: its directory, `batch_dir` (a backend that
        keeps batches elsewhere too returns its own `BatchFiles`; `fetch` is for such a backend: here every file
        is already in the directory)."""
        return BatchFiles(self.batch_dir(incident_id), incident_id)

    def personal_data_paths(self, incident_id: str) -> list[Path]:
        """Entries of the personal-data directories named after the incident (store-relative)."""
        found: list[Path] = []
        for name in PERSONAL_DATA_DIRS:
            directory = self.root / name
            if not directory.is_dir():
                continue
            for entry in sorted(directory.iterdir()):
                if belongs(entry.name, incident_id) and not entry.name.endswith(".lock"):
                    found.append(entry.relative_to(self.root))
        return found

    def roster_key(self) -> bytes:
        """The key of rosters and batches: the key file when one is configured, else the OS keyring (named
        after `key_identity`)."""
        from incident.register.secrets import key_file_from_env_or_config, load_or_create_key

        return load_or_create_key(self.root, key_file=key_file_from_env_or_config(self.config.key_file),
                                  identity=self.key_identity)

    @property
    def key_identity(self) -> str:
        """What the store's keys are named after: `store:<store id>` (see `store_id`)."""
        return f"store:{self.store_id}"

    @cached_property
    def store_id(self) -> str:
        """The store's own id (`store-id`, a random UUID made once): its keys are named after it, not after the
        directory, so a store that is moved, copied back from a backup or imported keeps them."""
        path = self.root / STORE_ID
        text = _read_store_id(path)
        if text is None:
            tmp = self.root / f".{STORE_ID}.{os.getpid()}.tmp"
            atomic_write_text(tmp, f"{uuid.uuid4()}\n")
            try:
                os.link(tmp, path)  # never replaces one made meanwhile by another process
            except FileExistsError:
                pass
            finally:
                tmp.unlink(missing_ok=True)
            fsync_dir(self.root)
            text = _read_store_id(path)
        try:
            return str(uuid.UUID(text or ""))
        except ValueError:
            raise InputError(_("{path} does not hold a store id (a UUID); restore it from a backup of the store")
                             .format(path=path), file=path) from None

    def close(self) -> None:
        """Nothing held open here (a database backend closes its connection)."""

    def identity(self) -> str | None:
        """No authentication of its own: None (see RegisterStore.identity)."""
        return None

    def personal_data_kept(self, incident_id: str) -> dict[str, int]:
        """Nothing beyond the files of the store directory: {}."""
        return {}

    def forget_personal_data(self, incident_id: str) -> list[str]:
        """Nothing beyond the files of the store directory: []."""
        return []

    # ------------------------------------------------------------------ records

    @staticmethod
    def check_id(incident_id: str) -> None:
        if not ID_RE.match(incident_id):
            raise InputError(_("{incident_id!r} is not an incident ID; IDs look like 2024-0007")
                             .format(incident_id=incident_id), field="ID")

    def record_file(self, incident_id: str) -> Path | str:
        """How errors name the record of an incident."""
        self.check_id(incident_id)
        return f"incident {incident_id}"

    def type_names(self) -> dict[str, str]:
        """Each incident type's Japanese name (誤送信), the organization's own types included: id -> name."""
        if self._vocabulary_loader is None:
            return {}
        return {type_id: name for name, type_id in self.vocabulary.labels.get("type", {}).items()}

    @abstractmethod
    def update(self, incident_id: str, change: Callable[[rec.Record], rec.Record], *, actor: str,
               action: str = "update", extra: Mapping[str, Any] | None = None,
               at: datetime | None = None) -> rec.Record:
        """Apply `change` to the stored record under the lock and save it with its audit entry; each
        backend saves in its own way."""

    def changed(self, incident_id: str, old: rec.Record, change: Callable[[rec.Record], rec.Record],
                extra: Mapping[str, Any] | None, moment: datetime) -> tuple[rec.Record, dict[str, Any]] | None:
        """What `update` saves, on every backend: `change` applied to `old` and validated, stamped
        `updated_at`, with the audit entry's changes (`extra` added); None when nothing changed."""
        new = self.validate(change(old).with_facts(id=incident_id), file=f"incident {incident_id}")
        changes = diff_records(old, new)
        if not changes and not extra:
            return None
        return new.with_facts(updated_at=moment.replace(microsecond=0)), {**changes, **(extra or {})}

    def validate(self, record: rec.Record, *, file: str | None = None) -> rec.Record:
        """Re-run the full validation on a record built in memory (e.g. after `incident set`)."""
        return rec.from_mapping(rec.to_toml_dict(record), vocab=self.vocabulary, tz=self.tz, file=file)

    def replace_text(self, incident_id: str, text: str, *, actor: str) -> rec.Record:
        """Save an edited TOML text (from `incident edit`) after full validation."""
        path = self.record_file(incident_id)
        parsed = rec.loads(text, vocab=self.vocabulary, tz=self.tz, file=path)
        if parsed.id and parsed.id != incident_id:
            raise InputError(_("the ID cannot be changed (it is {incident_id})")
                             .format(incident_id=incident_id), file=path, field="id")

        def change(old: rec.Record) -> rec.Record:
            if parsed.facts.get("status", old.status) != old.status:
                raise InputError(_("is {status}; change it with `incident status {incident_id} STATUS` (closing checks what is still open)")
                                 .format(status=old.status, incident_id=incident_id), file=path, field="status")
            for name in TOOL_WRITTEN:
                if parsed.sections.get(name) != old.sections.get(name):
                    raise InputError(_("[{name}] is written by the toolkit (and audited by the command that writes it); edit the facts, data and timeline only")
                                     .format(name=name), file=path, field=name)
            return parsed.with_facts(id=incident_id, status=old.status, created_at=old.get("created_at"))

        return self.update(incident_id, change, actor=actor, action="edit")



class Store(LocalStore):
    """An opened store directory (the embedded backend)."""

    def __init__(self, root: Path, vocabulary: Callable[[], rec.Vocabulary] | None = None, *,
                 config: Config | None = None) -> None:
        super().__init__(root, vocabulary, config=config)
        self.incidents_dir = root / "incidents"
        self.audit = AuditLog(root / "audit.log", key=self._audit_key, baseline=self.record_hashes)
        self._audit_key_cache: tuple[bytes, bool] | None = None

    # ------------------------------------------------------------------ creation and opening

    @classmethod
    def init(cls, root: Path, config: Config | None = None,
             vocabulary: Callable[[], rec.Vocabulary] | None = None) -> Store:
        ensure_dir(root)
        for sub in ("incidents", "playbooks", "templates"):
            ensure_dir(root / sub)
        cfg_path = root / "config.toml"
        if not cfg_path.exists():
            import tomli_w

            atomic_write_text(cfg_path, tomli_w.dumps((config or Config()).to_toml_dict()))
        return cls(root, vocabulary)

    @classmethod
    def open(cls, root: Path, vocabulary: Callable[[], rec.Vocabulary] | None = None, *,
             config: Config | None = None) -> Store:
        if not (root / "incidents").is_dir():
            raise StoreError(_("no incident store at {root}; create it with `incident init` (or name another with --store DIR or ${env_home})")
                             .format(root=root, env_home=ENV_HOME))
        return cls(root, vocabulary, config=config)

    # ------------------------------------------------------------------ locking and audit

    def _audit_key(self, create: bool) -> tuple[bytes, bool] | None:
        """The store's audit key, named after its store id (a key named after its path is filed anew)."""
        if self._audit_key_cache is None:
            from incident.register.secrets import key_file_from_env_or_config, stable_audit_key

            self._audit_key_cache = stable_audit_key(
                self.root, key_file=key_file_from_env_or_config(self.config.key_file), create=create,
                identity=self.key_identity)
        return self._audit_key_cache

    def record_hashes(self) -> dict[str, str]:
        """{incident: SHA-256 of its record file} for every incident file of the store."""
        out: dict[str, str] = {}
        if self.incidents_dir.is_dir():
            for path in self.incidents_dir.glob("*.toml"):
                if is_incident_file(path.name):
                    digest = file_sha256(path)
                    if digest is not None:
                        out[path.stem] = digest
        return out

    def verify_audit(self, *, anchor: str | None = None, records: bool = True) -> VerifyResult:
        """The audit chain, its head, and (with `records`) every record against its last audited state,
        after reconciling a change a crash left half-logged."""
        if (self.root / INTENT).exists():
            with self.locked():
                pass  # taking the lock reconciles
        return self.audit.verify(self.record_hashes() if records else None, anchor=anchor)

    @contextmanager
    def locked(self) -> Iterator[None]:
        """The store's lock; a change a crash left written but not logged is logged first."""
        with file_lock(self.root / ".lock"):
            self._reconcile()
            yield

    def _reconcile(self) -> None:
        """Finish what a killed run started: the intent is written before the record, the entry after."""
        path = self.root / INTENT
        try:
            intent = json.loads(path.read_bytes())
        except FileNotFoundError:
            return
        except ValueError:
            intent = None  # written atomically, so never torn; unreadable means nothing to finish
        if isinstance(intent, dict):
            last = self.audit.last()
            logged = last is not None and last.get("incident") == intent.get("incident") and \
                last.get("record_sha256") == intent.get("record_sha256") and last.get("action") == intent.get("action")
            incident = str(intent.get("incident", ""))
            on_disk = file_sha256(self.path_of(incident)) if ID_RE.match(incident) else None
            if not logged and on_disk is not None and on_disk == intent.get("record_sha256"):
                self.audit.append(actor=str(intent["actor"]), action=str(intent["action"]), incident=incident,
                                  changes={**intent.get("changes", {}), "logged_after_interruption": True},
                                  at=datetime.fromisoformat(str(intent["at"])), record_sha256=on_disk)
        path.unlink()
        fsync_dir(self.root)

    def append_audit(self, *, actor: str, action: str, incident: str | None, changes: Mapping[str, Any],
                     at: datetime) -> dict[str, Any]:
        """Append an audit entry (the caller holds `locked()`)."""
        return self.audit.append(actor=actor, action=action, incident=incident, changes=changes, at=at)

    def audit_entries(self) -> Iterator[dict[str, Any]]:
        return self.audit.entries()

    @property
    def audit_location(self) -> str:
        return str(self.audit.path)

    def log(self, actor: str, action: str, incident: str | None, changes: Mapping[str, Any],
            at: datetime | None = None) -> dict[str, Any]:
        """Append an audit entry for an action that changes no record (a send, a render); takes the lock."""
        with self.locked():
            return self.audit.append(actor=actor, action=action, incident=incident, changes=changes,
                                     at=at or dates.now(self.tz))

    # ------------------------------------------------------------------ records

    def path_of(self, incident_id: str) -> Path:
        if not ID_RE.match(incident_id):
            raise InputError(_("{incident_id!r} is not an incident ID; IDs look like 2024-0007")
                             .format(incident_id=incident_id), field="ID")
        return self.incidents_dir / f"{incident_id}.toml"

    def load(self, incident_id: str) -> rec.Record:
        path = self.path_of(incident_id)
        if not path.exists():
            raise NotFoundError(_("no incident {incident_id} in {root}; `incident list` shows them")
                                .format(incident_id=incident_id, root=self.root))
        return self.load_path(path)

    def load_path(self, path: Path) -> rec.Record:
        record = rec.read_file(path, vocab=self.vocabulary, tz=self.tz, now=_FAR_FUTURE)
        self._check_name(record, path)
        return record

    def parse_bytes(self, content: bytes, path: Path) -> rec.Record:
        """A record from the bytes of its file (read once by the caller), fully validated."""
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError:
            raise InputError(_("not UTF-8 text; save the record as UTF-8"), file=path) from None
        record = rec.loads(text, vocab=self.vocabulary, tz=self.tz, file=path, now=_FAR_FUTURE)
        self._check_name(record, path)
        return record

    @staticmethod
    def _check_name(record: rec.Record, path: Path) -> None:
        if record.id != path.stem:
            raise InputError(_("the file holds incident {value}, not {stem}")
                             .format(value=record.id or '(no id)', stem=path.stem), file=path,
                             field="id")

    def create(self, record: rec.Record, *, actor: str, at: datetime | None = None) -> rec.Record:
        """Assign the next ID for the year of discovery, save, and log the creation."""
        moment = at or dates.now(self.tz)
        year = to_local_date(record.discovered_at, self.tz).year
        with self.locked():
            number = self._next_number(year)
            incident_id = f"{year}-{number:04d}"
            new = record.with_facts(id=incident_id, status=record.status or "open",
                                    created_at=moment.replace(microsecond=0), updated_at=None)
            new = self.validate(new, file=f"incident {incident_id}")
            self._write_logged(new, actor=actor, action="create", changes=diff_records(None, new), at=moment)
        return new

    def update(self, incident_id: str, change: Callable[[rec.Record], rec.Record], *, actor: str,
               action: str = "update", extra: Mapping[str, Any] | None = None,
               at: datetime | None = None) -> rec.Record:
        """Load under the lock, apply `change`, validate, write atomically, log what changed."""
        moment = at or dates.now(self.tz)
        with self.locked():
            old = self.load(incident_id)
            result = self.changed(incident_id, old, change, extra, moment)
            if result is None:
                return old
            new, changes = result
            self._write_logged(new, actor=actor, action=action, changes=changes, at=moment)
        return new

    def _write_logged(self, record: rec.Record, *, actor: str, action: str, changes: Mapping[str, Any],
                      at: datetime) -> None:
        """Write the record and its audit entry so that a crash anywhere leaves both or neither: the
        intent (the entry to be) is made durable first, then the record, then the entry; the next run
        that takes the lock finishes an intent whose record was written (`_reconcile`)."""
        ensure_dir(self.incidents_dir)
        content = rec.dumps(record).encode("utf-8")
        digest = hashlib.sha256(content).hexdigest()
        intent = {"incident": record.id, "actor": actor, "action": action, "at": at.isoformat(),
                  "changes": changes, "record_sha256": digest}
        atomic_write_bytes(self.root / INTENT, json.dumps(intent, ensure_ascii=False, default=_jsonable_str)
                           .encode("utf-8"))
        atomic_write_bytes(self.path_of(record.id), content)
        self.audit.append(actor=actor, action=action, incident=record.id, changes=changes, at=at,
                          record_sha256=digest)
        (self.root / INTENT).unlink()

    def _next_number(self, year: int) -> int:
        counters_path = self.root / "counters.json"
        counters: dict[str, int] = {}
        if counters_path.exists():
            counters = json.loads(counters_path.read_text())
        highest = counters.get(str(year), 0)
        for path in self.incidents_dir.glob(f"{year}-*.toml"):
            match = ID_RE.match(path.stem)
            if match:
                highest = max(highest, int(match.group(2)))
        counters[str(year)] = highest + 1
        atomic_write_bytes(counters_path, json.dumps(counters, sort_keys=True).encode())
        return highest + 1

    # ------------------------------------------------------------------ listing (through the index)

    def records(self, *, fresh: bool = False) -> list[rec.Record]:
        """Every incident, newest discovery first; parsed files are cached in index.json.

        A file that cannot be read or does not validate is left out and kept in `skipped` (the
        command line warns about each), so one bad file never stops the register. With `fresh`, every
        file is parsed again and the index is not consulted (for decisions such as purge).
        """
        self.skipped = []
        if fresh:
            return self._fresh_records(self._left_out)
        return self._index().records(on_skip=self._left_out)

    def summaries(self) -> list[Summary]:
        """Every incident as listed, newest discovery first; written to `list.json` as well, from which
        `incident list` answers without opening the store while no incident file changes
        (`incident.register.listing`)."""
        self.skipped = []
        index = self._index()
        records = index.records(on_skip=self._left_out)
        tz, names = self.tz, self.type_names()
        summaries = [summary_of(r, tz, names) for r in records]
        if not self.skipped:
            self._cache_list(index, summaries)
        return summaries

    def _left_out(self, path: Path, problem: InputError) -> None:
        """A file a listing leaves out, with its problem (the command line warns about each)."""
        self.skipped.append(problem)

    def _cache_list(self, index: _Index, summaries: list[Summary]) -> None:
        """Write `list.json` when it would say something new (a cache: a failure to write is no error)."""
        data = encode_list(root=self.root, taken_ns=index.taken_ns, files=index.statuses,
                           summaries=summaries)
        path = self.root / LIST_FILE
        try:
            if data is None:
                path.unlink(missing_ok=True)
            elif not path.is_file() or path.read_bytes() != data:
                atomic_write_bytes(path, data)
        except OSError:
            pass  # a read-only store still lists correctly

    def _fresh_records(self, on_skip: Callable[[Path, InputError], None]) -> list[rec.Record]:
        records: list[rec.Record] = []
        if not self.incidents_dir.is_dir():
            return records
        for path in sorted(self.incidents_dir.glob("*.toml")):
            if not is_incident_file(path.name):
                continue
            try:
                records.append(self.load_path(path))
            except InputError as exc:
                on_skip(path, exc)
        records.sort(key=lambda r: (r.discovered_at, r.id), reverse=True)
        return records

    def _index(self) -> _Index:
        return _Index(self)


def _read_store_id(path: Path) -> str | None:
    try:
        return path.read_text(encoding="ascii").strip() or None
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(_("cannot read the store id: {exc}").format(exc=exc), file=path) from None


def belongs(name: str, incident_id: str) -> bool:
    """`2023-0012`, `2023-0012.roster`, `2023-0012-x` (and their hidden temporary files) belong to 2023-0012;
    `2023-00123` does not."""
    name = name.lstrip(".")
    if not name.startswith(incident_id):
        return False
    rest = name[len(incident_id):]
    return rest == "" or not rest[0].isdigit()


#: stored records were checked against the clock when saved; loading does not judge "in the future" again
_FAR_FUTURE = datetime(9999, 1, 1, tzinfo=UTC)
_TAG = "__dt__"


def _tag(value: Any) -> Any:
    """json default: dates and datetimes as tagged strings (revived by `_revive`)."""
    if isinstance(value, datetime):
        return {_TAG: value.isoformat()}
    if isinstance(value, date):
        return {"__d__": value.isoformat()}
    raise TypeError(_("{name} is not JSON serializable").format(name=type(value).__name__))


def _revive(obj: dict[str, Any]) -> Any:
    """json object_hook: the tagged dates of `_encode` back to date and datetime objects."""
    if len(obj) == 1:
        if _TAG in obj:
            return datetime.fromisoformat(obj[_TAG])
        if "__d__" in obj:
            return date.fromisoformat(obj["__d__"])
    return obj


class _Index:
    """index.json: each incident file's parsed content, keyed by the SHA-256 of the file's bytes and by its
    status (size, modification and change times, inode).

    Only a cache for listing. An entry is used without reading its file when the file's status is the one
    recorded and the file had settled (its last change at least `SETTLED_NS` before the index recorded
    it; a later change within the file system's clock tick could leave the status alike). Otherwise the
    file is read and used when it still hashes to the entry's key; anything malformed or stale is parsed
    again from the file, and the index is rewritten. Decisions (purge) read the incident files themselves.
    """

    VERSION = 4
    #: how long before the index's writing a file must have last changed for its status alone to vouch for it
    SETTLED_NS = SETTLED_NS

    def __init__(self, store: Store) -> None:
        self.store = store
        self.path = store.root / "index.json"
        #: after `records`: the status of each file listed, and when the statuses were taken
        self.statuses: dict[str, list[int]] = {}
        self.taken_ns = 0

    def _cached(self) -> tuple[dict[str, Any], int]:
        """(the entries, when the statuses in them were taken in ns since the epoch) of the stored index."""
        try:
            data = json.loads(self.path.read_bytes(), object_hook=_revive)
        except FileNotFoundError:
            return {}, 0
        except (ValueError, OSError, RecursionError, TypeError):
            return {}, 0  # damaged: rebuilt below
        if not isinstance(data, dict) or data.get("version") != self.VERSION:
            return {}, 0
        entries, taken = data.get("entries"), data.get("taken_ns")
        if not isinstance(entries, dict):
            return {}, 0
        return entries, taken if isinstance(taken, int) and not isinstance(taken, bool) else 0

    def records(self, on_skip: Callable[[Path, InputError], None] | None = None) -> list[rec.Record]:
        if not self.store.incidents_dir.is_dir():
            return []
        cached, taken_ns = self._cached()
        now_ns = time.time_ns()  # before any status is taken: a later change has a later change time
        entries: dict[str, Any] = {}
        records: list[rec.Record] = []
        dirty = False
        with os.scandir(self.store.incidents_dir) as it:
            files = [e for e in it if is_incident_file(e.name)]
        for entry in files:
            try:
                status = entry.stat()
            except OSError as exc:
                if on_skip is not None:
                    on_skip(Path(entry.path), InputError(_("cannot read the file: {strerror}")
                                                         .format(strerror=exc.strerror), file=entry.path))
                continue
            signature = file_signature(status)
            hit: Any = cached.get(entry.name)
            if (isinstance(hit, dict) and hit.get("status") == signature
                    and status.st_ctime_ns < taken_ns - self.SETTLED_NS):
                record = _from_cache(hit, str(hit.get("key")), entry.name)
                if record is not None:
                    records.append(record)
                    entries[entry.name] = hit
                    continue
            path = Path(entry.path)
            try:
                content = path.read_bytes()
            except OSError as exc:
                if on_skip is not None:
                    on_skip(path, InputError(_("cannot read the file: {strerror}")
                                             .format(strerror=exc.strerror), file=path))
                continue
            key = hashlib.sha256(content).hexdigest()
            settled = status.st_ctime_ns < now_ns - self.SETTLED_NS
            record = _from_cache(hit, key, entry.name)
            if record is not None:
                records.append(record)
                entries[entry.name] = {**hit, "status": signature}
                dirty = dirty or settled  # from now on its status vouches for it
                continue
            try:
                record = self.store.parse_bytes(content, path)
            except InputError as exc:
                if on_skip is not None:
                    on_skip(path, exc)
                dirty = True
                continue
            records.append(record)
            entries[entry.name] = {"key": key, "status": signature, "record": rec.to_toml_dict(record)}
            dirty = True
        self.statuses = {name: entry["status"] for name, entry in entries.items()}
        self.taken_ns = now_ns
        if dirty or len(entries) != len(cached):
            try:
                atomic_write_bytes(self.path, json.dumps({"version": self.VERSION, "taken_ns": now_ns,
                                                          "entries": entries},
                                                         ensure_ascii=False, default=_tag).encode())
            except OSError:
                pass  # the index is a cache; a read-only store still lists correctly
        records.sort(key=lambda r: (r.discovered_at, r.id), reverse=True)
        return records


def _from_cache(hit: Any, key: str, name: str) -> rec.Record | None:
    """The cached record when the entry is well formed, matches the file and names it; else None."""
    if not isinstance(hit, dict) or hit.get("key") != key or not isinstance(hit.get("record"), dict):
        return None
    try:
        record = rec.from_trusted(hit["record"])
        if f"{record.id}.toml" != name or not isinstance(record.facts.get("discovered_at"), datetime):
            return None
        return record
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
