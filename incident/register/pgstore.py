"""The shared register on PostgreSQL: the same records, ids, audit chain and checks as the file store.

Chosen by `incident init --database URL`, `database_url` in config.toml or `$INCIDENT_DATABASE_URL`
(which wins). The local store directory keeps config.toml, the organization's playbooks/ and templates/
and a copy of the sealed personal data of individual incidents (rosters/, batches/); the database keeps:

- `incidents`: each record as the TOML text the file store would write (its SHA-256 is what the audit
  names), the validated record as JSON for listing, and the columns lists filter on;
- `id_counters`: the last number issued per year, taken under a row lock (`SELECT … FOR UPDATE`);
- `audit_log`: one row per entry, the line exactly as in the file store's audit.log, hash-chained and
  bound to the audit key, insert-only (a trigger refuses UPDATE, DELETE and TRUNCATE); `audit_head`: the
  signed head.

Who may see what (migration 0002): each person connects as their own role; `incident_members` maps a role
to one department or to the central desk (`grant`, `revoke`, run by the tables' owner); FORCEd row-level
security lets a department's role read and change only its department's incidents and their audit entries,
and `audit_links` (each entry's sequence, hash and previous hash) lets it check the links of the whole
chain. Each audit entry names its author's authenticated role (`role`, which a trigger checks against
`current_user`); the name given with `--actor` is kept beside it for display. An entry copied by `incident db
import` is written in the importer's role and carries its author as the source recorded it (the mark
`imported`, which migration 0006 accepts only in an import's own transaction; `incident.register.transfer`).

Sealed personal data (migration 0004): a roster imported here is also kept in `personal_data` as the sealed
file itself, under its incident's row-level security, brought to an officer's store directory when it is
missing or older there, and deleted by purge (`forget_personal_data`); the database never holds a
plaintext name or address.

E-mail batches (migration 0007, `SharedBatch`): a batch's sealed messages file and its manifest are kept in
`personal_data` as the files themselves (batches/<ID>/messages.sealed, batches/<ID>/manifest.json), its
journal in `batch_journal`, one row per line, under the same row-level security. Each journal line is
inserted (autocommit) before it is written to the local file, and a `sending` line before the message's
SMTP transaction starts, so a recipient journaled as sent is never sent again by a resume on any machine,
and one left `sending` is sent again with the same Message-ID, as on the file store. Every prepare, approve
and send holds the batch's advisory lock (`_batch_lock`, session-level: the server releases it when a
crashed client's session ends), brings the files the database keeps to the batch directory first (the
database's copy wins) and keeps the files changed there on leaving normally; a status reads the manifest
and the journal from the database and writes nothing (`_read_batch`), and a send brings the files only once
it holds the lock. Purge lists what the database keeps by name (`personal_data_kept`, nothing written to
disk) and deletes it with the journal rows.

Every change is one transaction: the record's row locked (`SELECT … FOR UPDATE`), changed, validated,
written, and its audit entry appended under the head's row lock, committed together or not at all.
The connection comes from the URL (host, port, dbname, user, sslmode …); the password from libpq's
`PGPASSWORD`, the OS keyring (`incident db password`) or `PGPASSFILE` (never from the URL, never from a
file of ours). Migrations are plain SQL
files shipped in the package (`incident/register/migrations/NNNN_name.sql`), applied in order in one
transaction under an advisory lock and recorded in `incident_migrations` with their SHA-256.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from incident import dates
from incident.dates import to_local_date
from incident.errors import InputError, NotFoundError, RefusedError, StoreError
from incident.fsutil import LockBusy, atomic_write_bytes, atomic_write_text, ensure_dir, file_lock
from incident.i18n import _
from incident.register import record as rec
from incident.register.audit import GENESIS, Link, VerifyResult, make_entry, make_head, verify_lines
from incident.register.batchfiles import JOURNAL, KEPT, LOCK, BatchFiles, file_sha256
from incident.register.config import Config
from incident.register.paths import ENV_DATABASE_URL
from incident.register.store import (
    _FAR_FUTURE,
    LocalStore,
    _jsonable_str,
    _revive,
    _tag,
    completed_summary,
    diff_records,
    stored_summary,
    summary_of,
)

if TYPE_CHECKING:
    import psycopg

    from incident.register.listing import Summary

MIGRATION_RE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
#: the advisory lock that serializes migrations (any constant; "incident" in ASCII)
_MIGRATION_LOCK = 0x696E636964656E74


def check_url(url: str, *, field: str = "--database") -> str:
    """A PostgreSQL connection URL without a password in it (InputError otherwise)."""
    url = url.strip()
    if not url.startswith(("postgresql://", "postgres://")):
        raise InputError(_("{url!r} is not a PostgreSQL URL; expected postgresql://USER@HOST:PORT/DBNAME")
                         .format(url=url), field=field)
    from psycopg.conninfo import conninfo_to_dict

    try:
        params = conninfo_to_dict(url)
    except Exception as exc:  # noqa: BLE001 - psycopg.ProgrammingError and others: an invalid URL
        raise InputError(_("not a valid connection URL ({problem})").format(problem=exc), field=field) from None
    if params.get("password"):
        raise InputError(_("the URL holds a password; leave it out and give it in PGPASSFILE (~/.pgpass) or "
                           "PGPASSWORD"), field=field)
    return url


def shown_url(url: str) -> str:
    """The URL as shown to the officer: host, port and database (never a password)."""
    from psycopg.conninfo import conninfo_to_dict

    params = conninfo_to_dict(url)
    host = params.get("host", "localhost")
    port = f":{params['port']}" if params.get("port") else ""
    user = f"{params['user']}@" if params.get("user") else ""
    return f"postgresql://{user}{host}{port}/{params.get('dbname', '')}"


def login_of(url: str) -> tuple[str, str]:
    """The user and host a URL connects as and to, as libpq defaults them (`$PGUSER`, the OS user;
    `$PGHOST`, localhost): what names its password in the keyring."""
    import getpass

    from psycopg.conninfo import conninfo_to_dict

    params = conninfo_to_dict(url)
    user = str(params.get("user") or os.environ.get("PGUSER") or getpass.getuser())
    host = str(params.get("host") or os.environ.get("PGHOST") or "localhost")
    return user, host


def database_url(root: Path, configured: str) -> str:
    """`$INCIDENT_DATABASE_URL`, else the config's `database_url`, else '' (the file store)."""
    env = os.environ.get(ENV_DATABASE_URL, "").strip()
    if env:
        return check_url(env, field=ENV_DATABASE_URL)
    if configured.strip():
        return check_url(configured, field="database_url")
    return ""


#: TCP keepalives, so that a peer that died without closing (an officer's machine losing power mid-send) is
#: noticed in about a minute rather than the hours the OS waits by default: only then does the server end its
#: session and release what it held (a batch's advisory lock). A setting the URL makes itself wins.
KEEPALIVES: dict[str, int] = {"keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10, "keepalives_count": 3}
#: how long sent data may go unacknowledged before the connection is dropped (milliseconds; libpq >= 12 on
#: Linux): the keepalives' minute, for a peer that vanishes while a statement is being sent
TCP_USER_TIMEOUT_MS = 60_000


def connection_settings(url: str) -> dict[str, Any]:
    """The libpq settings `connect` adds to `url`: the keepalives, and `tcp_user_timeout` where this libpq
    knows it, each unless the URL sets it itself."""
    from psycopg import pq
    from psycopg.conninfo import conninfo_to_dict

    given = conninfo_to_dict(url)
    wanted: dict[str, Any] = dict(KEEPALIVES)
    if b"tcp_user_timeout" in {option.keyword for option in pq.Conninfo.get_defaults()}:
        wanted["tcp_user_timeout"] = TCP_USER_TIMEOUT_MS
    return {key: value for key, value in wanted.items() if key not in given}


def connect(url: str) -> psycopg.Connection[Any]:
    """A connection to the register (autocommit: every change opens its own transaction). The password, never
    in the URL, is `$PGPASSWORD` when set, else the OS keyring's entry ``incident-db`` / ``user@host`` (`incident
    db password`), else whatever libpq finds in `$PGPASSFILE` (~/.pgpass). TCP keepalives are on
    (:data:`KEEPALIVES`) unless the URL sets them otherwise."""
    import psycopg

    extra: dict[str, Any] = connection_settings(url)
    if not os.environ.get("PGPASSWORD"):
        from incident.register.secrets import db_password

        user, host = login_of(url)
        password = db_password(user, host)
        if password:
            extra["password"] = password
    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=10, application_name="incident", **extra)
    except psycopg.OperationalError as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StoreError(_("cannot connect to the register at {url}: {problem}").format(
            url=shown_url(url), problem=message)) from None


# ---------------------------------------------------------------------- migrations


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.sql.encode("utf-8")).hexdigest()


def migrations() -> list[Migration]:
    """The migrations shipped in the package, in order."""
    found: list[Migration] = []
    for entry in resources.files("incident.register").joinpath("migrations").iterdir():
        match = MIGRATION_RE.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2), entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    twice = sorted({m.version for m in found if sum(1 for o in found if o.version == m.version) > 1})
    if twice:  # two files of one number: one of them would never be applied
        raise StoreError(_("the package ships two migrations numbered {version:04d}; renumber one of them")
                         .format(version=twice[0]))
    return found


@dataclass(frozen=True)
class MigrationState:
    version: int
    name: str
    applied_at: datetime | None
    #: the shipped file differs from the one applied (never edit an applied migration)
    changed: bool = False


_LEDGER = """CREATE TABLE IF NOT EXISTS incident_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    sha256     text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    applied_by name NOT NULL DEFAULT current_user
)"""


def migration_status(conn: psycopg.Connection[Any]) -> list[MigrationState]:
    """Every shipped migration with when it was applied (None: pending)."""
    exists = conn.execute("SELECT to_regclass('incident_migrations') IS NOT NULL").fetchone()
    applied: dict[int, tuple[str, datetime]] = {}
    if exists and exists[0]:
        for version, sha, at in conn.execute("SELECT version, sha256, applied_at FROM incident_migrations"):
            applied[int(version)] = (str(sha), at)
    shipped = {m.version: m for m in migrations()}
    unknown = sorted(set(applied) - set(shipped))
    if unknown:
        raise StoreError(_("the database has migration {version}, newer than this version of the toolkit "
                           "knows; upgrade the toolkit").format(version=unknown[-1]))
    return [MigrationState(m.version, m.name, applied[m.version][1] if m.version in applied else None,
                           changed=m.version in applied and applied[m.version][0] != m.sha256)
            for m in shipped.values()]


def upgrade(conn: psycopg.Connection[Any]) -> list[Migration]:
    """Apply the pending migrations in order, in one transaction; the ones applied."""
    done: list[Migration] = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        conn.execute(_LEDGER)
        states = {s.version: s for s in migration_status(conn)}
        changed = [s for s in states.values() if s.changed]
        if changed:
            raise StoreError(_("migration {version:04d}_{name} differs from the one applied to the database; "
                               "applied migrations are never edited").format(version=changed[0].version,
                                                                            name=changed[0].name))
        for migration in migrations():
            if states[migration.version].applied_at is not None:
                continue
            conn.execute(migration.sql.encode("utf-8"))
            conn.execute("INSERT INTO incident_migrations (version, name, sha256) VALUES (%s, %s, %s)",
                         (migration.version, migration.name, migration.sha256))
            done.append(migration)
    return done


# ---------------------------------------------------------------------- the store


class PgStore(LocalStore):
    """A register whose records and audit log are in a PostgreSQL database (see the module docstring)."""

    def __init__(self, root: Path, url: str, vocabulary: Callable[[], rec.Vocabulary] | None = None) -> None:
        super().__init__(root, vocabulary)
        self.url = url
        self._conn: psycopg.Connection[Any] | None = None
        self._audit_key_cache: tuple[bytes, bool] | None = None
        self._role: str | None = None

    @classmethod
    def init(cls, root: Path, config: Config, vocabulary: Callable[[], rec.Vocabulary] | None = None) -> PgStore:
        """The local directory (config.toml naming the database, playbooks/, templates/) and the schema."""
        url = check_url(config.database_url)
        with connect(url) as conn:
            upgrade(conn)
        ensure_dir(root)
        for sub in ("playbooks", "templates"):
            ensure_dir(root / sub)
        if not (root / "config.toml").exists():
            import tomli_w

            atomic_write_text(root / "config.toml", tomli_w.dumps(config.to_toml_dict()))
        return cls(root, url, vocabulary)

    @classmethod
    def open_url(cls, root: Path, url: str, vocabulary: Callable[[], rec.Vocabulary] | None = None) -> PgStore:
        if not (root / "config.toml").is_file():
            raise StoreError(_("no incident store at {root}; create it with `incident init --database URL`")
                             .format(root=root))
        return cls(root, url, vocabulary)

    @property
    def conn(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            import psycopg

            conn = connect(self.url)
            try:
                pending = [s for s in migration_status(conn) if s.applied_at is None]
            except psycopg.errors.InsufficientPrivilege:
                conn.close()
                raise RefusedError(_("the register at {url} has not granted this database role access; the "
                                     "register's owner runs `incident db grant ROLE --department NAME`")
                                   .format(url=shown_url(self.url))) from None
            if pending:
                conn.close()
                raise StoreError(_("the register at {url} needs migration {version:04d}_{name}; run "
                                   "`incident db upgrade`").format(url=shown_url(self.url),
                                                                   version=pending[0].version, name=pending[0].name))
            self._conn = conn
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        self._role = None

    @property
    def role(self) -> str:
        """The authenticated database role this store acts as: the identity its audit entries name."""
        if self._role is None or self._conn is None or self._conn.closed:
            row = self.conn.execute("SELECT current_user").fetchone()
            self._role = str(row[0]) if row else ""
        return self._role

    def sees_all(self) -> bool:
        """Whether this role reads every incident and audit entry: the central desk, or a role the database
        exempts from row-level security (a superuser, BYPASSRLS)."""
        row = self.conn.execute(
            "SELECT coalesce((SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user), false) "
            "OR EXISTS (SELECT 1 FROM incident_members WHERE role = current_user AND central)").fetchone()
        return bool(row and row[0])

    def identity(self) -> str | None:
        """The authenticated database role (the identity audit entries name)."""
        return self.role

    @contextmanager
    def _guarded(self) -> Iterator[None]:
        """The database's refusal (a row-level security policy, a privilege not granted) as a one-line error."""
        import psycopg

        try:
            yield
        except psycopg.errors.InsufficientPrivilege as exc:
            detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise RefusedError(_("the register at {where} refused this to the role {role} ({problem}); a role "
                                 "sees and changes only the incidents of the department it was granted "
                                 "(`incident db grant ROLE --department NAME`, run by the register's owner)")
                               .format(where=self.where, role=self.role, problem=detail)) from None

    @property
    def where(self) -> str:
        return shown_url(self.url)

    # ------------------------------------------------------------------ audit

    @property
    def register_id(self) -> str:
        """The register's identity, kept in the database (the same for every officer and every host name)."""
        row = self.conn.execute("SELECT id FROM register_identity").fetchone()
        if row is None:
            raise StoreError(_("the register at {where} has lost its identity row (register_identity)")
                             .format(where=self.where))
        return str(row[0])

    def _audit_key(self, create: bool) -> tuple[bytes, bool] | None:
        """One key per register, named after its identity (every officer's key file or keyring holds it). A
        key named after the database's address, as before the identity existed, is found and filed anew."""
        if self._audit_key_cache is None:
            from incident.register.secrets import key_file_from_env_or_config, stable_audit_key

            found = stable_audit_key(self.root, key_file=key_file_from_env_or_config(self.config.key_file),
                                     create=create, identity=self.key_identity, legacy=self.where)
            if found is None:
                return None
            self._audit_key_cache = found
        return self._audit_key_cache

    @property
    def key_identity(self) -> str:
        """What the register's keys (audit, and rosters' in the keyring) are named after: its identity in the
        database, the same for every officer."""
        return f"register:{self.register_id}"

    def _append(self, cur: psycopg.Cursor[Any], *, actor: str, action: str, incident: str | None,
                changes: Mapping[str, Any], at: datetime, record_sha256: str | None = None,
                imported: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Append an entry in the caller's transaction, under the head's row lock; always in this role's name
        (the database checks it), with `imported` the mark of a copied entry (`db import`)."""
        found = self._audit_key(True)
        key = found[0] if found else None
        row = cur.execute("SELECT seq, hash FROM audit_head FOR UPDATE").fetchone()
        seq, prev = (int(row[0]), str(row[1])) if row else (0, GENESIS)
        entry, line = make_entry(seq + 1, prev, key, actor=actor, action=action, incident=incident,
                                 changes=changes, at=at, record_sha256=record_sha256, role=self.role,
                                 imported=imported)
        cur.execute("INSERT INTO audit_log (seq, line, hash, incident, actor, action) VALUES (%s, %s, %s, %s, %s, %s)",
                    (entry["seq"], line, entry["hash"], incident, actor, action))
        head = make_head(int(entry["seq"]), str(entry["hash"]), key)
        cur.execute("UPDATE audit_head SET seq = %s, hash = %s, mac = %s", (head["seq"], head["hash"],
                                                                            head.get("mac", "")))
        return entry

    @contextmanager
    def locked(self) -> Iterator[None]:
        """One transaction holding the audit head's row lock (changes outside the records, e.g. config)."""
        with self._guarded(), self.conn.transaction():
            self.conn.execute("SELECT seq FROM audit_head FOR UPDATE")
            yield

    def append_audit(self, *, actor: str, action: str, incident: str | None, changes: Mapping[str, Any],
                     at: datetime) -> dict[str, Any]:
        with self._guarded(), self.conn.transaction(), self.conn.cursor() as cur:
            return self._append(cur, actor=actor, action=action, incident=incident, changes=changes, at=at)

    def log(self, actor: str, action: str, incident: str | None, changes: Mapping[str, Any],
            at: datetime | None = None) -> dict[str, Any]:
        return self.append_audit(actor=actor, action=action, incident=incident, changes=changes,
                                 at=at or dates.now(self.tz))

    def audit_entries(self) -> Iterator[dict[str, Any]]:
        """The entries this role may read (every one for the central desk), in order."""
        with self._guarded(), self.conn.cursor() as cur:
            for (line,) in cur.execute("SELECT line FROM audit_log ORDER BY seq"):
                yield json.loads(line)

    @property
    def audit_location(self) -> str:
        return f"the audit_log table of {self.where}"

    def record_hashes(self) -> dict[str, str]:
        return {str(i): str(h) for i, h in self.conn.execute("SELECT id, sha256 FROM incidents")}

    def verify_audit(self, *, anchor: str | None = None, records: bool = True) -> VerifyResult:
        """The whole chain: every entry this role may read in full, the others by their links (the central
        desk reads them all); with `records`, every incident it sees against its last audited state."""
        with self._guarded(), self.conn.transaction():  # one snapshot of the log, its head and the records
            self.conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            return self.verify_now(anchor=anchor, records=records)

    def verify_now(self, *, anchor: str | None = None, records: bool = True) -> VerifyResult:
        """`verify_audit` in the caller's transaction (e.g. before an import commits)."""
        found = self._audit_key(False)
        head_row = self.conn.execute("SELECT seq, hash, mac FROM audit_head").fetchone()
        head = None if head_row is None else {"seq": int(head_row[0]), "hash": str(head_row[1]),
                                              **({"mac": str(head_row[2])} if head_row[2] else {})}
        chain: list[bytes | Link] = []
        if self.sees_all():  # every line, and nothing but lines: a line missing is a line removed
            query = "SELECT seq, hash, '', line FROM audit_log ORDER BY seq"
        else:
            query = ("SELECT coalesce(k.seq, l.seq), coalesce(k.hash, l.hash), k.prev, l.line "
                     "FROM audit_links k FULL JOIN audit_log l ON l.seq = k.seq ORDER BY 1")
        for seq, link_hash, prev, line in self.conn.execute(query):
            chain.append((str(line) + "\n").encode("utf-8") if line is not None
                         else Link(int(seq), str(link_hash), str(prev)))
        hashes = self.record_hashes() if records else None
        return verify_lines(chain, head, head_row is not None, found[0] if found else None, hashes, anchor=anchor)

    # ------------------------------------------------------------------ sealed personal data

    @contextmanager
    def roster_import(self, incident_id: str) -> Iterator[Path]:
        """As in the file store; the sealed roster then goes to the database too (under the import's lock)."""
        with super().roster_import(incident_id) as dest:
            yield dest
            if dest.is_file():
                self._put_sealed(incident_id, dest)

    def roster_path(self, incident_id: str) -> Path:
        """The sealed roster, brought from the database when this machine's copy is missing or older."""
        path = super().roster_path(incident_id)
        self._fetch_sealed(incident_id, only=path.relative_to(self.root).as_posix())
        return path

    def personal_data_kept(self, incident_id: str) -> dict[str, int]:
        """The incident's sealed files in the database and its batch's journal, by name with their sizes, read
        without bringing any of them here (what a purge deletes there)."""
        with self._guarded():
            rows = self.conn.execute(
                "SELECT name, octet_length(blob) FROM personal_data WHERE incident = %s "
                "UNION ALL SELECT %s, sum(octet_length(line) + 1) FROM batch_journal WHERE incident = %s "
                "HAVING count(*) > 0", (incident_id, _batch_name(incident_id, JOURNAL), incident_id)).fetchall()
        return {str(name): int(size) for name, size in rows}

    def forget_personal_data(self, incident_id: str) -> list[str]:
        """Delete the incident's sealed files and its batch's journal from the database; their names."""
        with self._guarded(), self.conn.transaction():
            rows = self.conn.execute("DELETE FROM personal_data WHERE incident = %s RETURNING name",
                                     (incident_id,)).fetchall()
            journal = self.conn.execute("WITH gone AS (DELETE FROM batch_journal WHERE incident = %s RETURNING 1) "
                                        "SELECT count(*) > 0 FROM gone", (incident_id,)).fetchone()
        return sorted([str(r[0]) for r in rows] + ([_batch_name(incident_id, JOURNAL)] if journal and journal[0] else []))

    def fetch_personal_data(self, incident_id: str) -> None:
        """Bring every sealed file of the incident the database keeps here (its roster, its batch with the
        journal), where this machine's copy is missing or differs (`incident db export`)."""
        self._fetch_sealed(incident_id)
        self._pull_batch(incident_id, self.batch_dir(incident_id), adopt=False)

    def _put_sealed(self, incident_id: str, path: Path) -> None:
        blob = path.read_bytes()
        with self._guarded():
            self.conn.execute(_KEEP_FILE, (path.relative_to(self.root).as_posix(), incident_id, blob,
                                           hashlib.sha256(blob).hexdigest()))

    def _bring_file(self, name: str, local: Path) -> None:
        """Write the file the database keeps under `name` to `local`, atomically, in a private directory
        (nothing when the database no longer keeps it)."""
        with self._guarded():
            row = self.conn.execute("SELECT blob FROM personal_data WHERE name = %s", (name,)).fetchone()
        if row is not None:
            local.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            atomic_write_bytes(local, bytes(row[0]))

    def _fetch_sealed(self, incident_id: str, *, only: str | None = None) -> None:
        with self._guarded():  # the rosters (a batch's files come with its journal: `_pull_batch`)
            rows = self.conn.execute("SELECT name, sha256 FROM personal_data WHERE incident = %s AND NOT "
                                     "starts_with(name, 'batches/')", (incident_id,)).fetchall()
        for name, sha in rows:
            if only is not None and name != only:
                continue
            local = self.root / str(name)
            if local.is_file() and hashlib.sha256(local.read_bytes()).hexdigest() == sha:
                continue
            self._bring_file(str(name), local)

    # ------------------------------------------------------------------ e-mail batches

    def batch(self, incident_id: str, *, fetch: bool = True) -> BatchFiles:
        """The incident's batch, kept in the database too (`SharedBatch`): its files brought here when this
        machine's copy is missing or differs, unless a prepare, approve or send of this machine is at work on
        them (it holds the batch directory's lock; its files are the current ones). Without `fetch` nothing is
        brought here: what is read through it (`SharedBatch.read`, a status) comes from the database."""
        path = self.batch_dir(incident_id)
        if fetch:
            self._pull_batch(incident_id, path, adopt=False, lock=True)
        return SharedBatch(self, path, incident_id)

    def _pull_batch(self, incident_id: str, path: Path, *, adopt: bool, lock: bool = False) -> dict[str, str]:
        """Make the batch directory what the database keeps: the sealed messages and the manifest, the journal
        written out again from its rows; the SHA-256 of each file kept there, by file name. When the database
        keeps nothing of the batch, the directory is left as it is, and with `adopt` (under the batch's lock)
        a batch found there is kept in the database from now on (one made before the database kept batches,
        or copied here by `incident db import`), unless the incident's personal data was purged (a copy left
        on this machine is refused, not brought back). With `lock`, the batch directory's lock is taken for the
        writing, and nothing is written while a prepare, approve or send of this machine holds it."""
        prefix = _batch_name(incident_id, "")
        with self._guarded():
            kept = {str(name)[len(prefix):]: str(sha) for name, sha in self.conn.execute(
                "SELECT name, sha256 FROM personal_data WHERE incident = %s AND starts_with(name, %s)",
                (incident_id, prefix))}
            lines = [str(line) for (line,) in self.conn.execute(
                "SELECT line FROM batch_journal WHERE incident = %s ORDER BY seq", (incident_id,))]
        if not kept and not lines:
            if adopt and any((path / name).is_file() for name in (*KEPT, JOURNAL)):
                if any(event.kind == "purge" for event in self.load(incident_id).timeline):
                    raise RefusedError(_("the personal data of {incident_id} was purged from the register; this machine's copy of its batch ({path}) is not kept there again: remove it with `incident purge`")
                                       .format(incident_id=incident_id, path=path))
                self._push_batch(incident_id, path, {}, journal=True)
                return self._pull_batch(incident_id, path, adopt=False)
            return kept
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not lock:
            self._write_batch(incident_id, path, kept, lines)
            return kept
        try:
            with file_lock(path / LOCK, wait=False):
                self._write_batch(incident_id, path, kept, lines)
        except LockBusy:
            pass
        return kept

    def _read_batch(self, incident_id: str, path: Path, names: tuple[str, ...]) -> dict[str, bytes]:
        """These files of the batch as the database keeps them (the journal as its lines make it), read in one
        statement (one snapshot) and written nowhere; only the names asked for are sent, so a status never
        receives the sealed messages. When the database keeps nothing of the batch, the batch directory's
        files, as `_pull_batch` leaves them."""
        prefix = _batch_name(incident_id, "")
        with self._guarded():
            rows = self.conn.execute(
                "SELECT name, CASE WHEN name = ANY(%s) THEN blob END FROM personal_data "
                "WHERE incident = %s AND starts_with(name, %s) "
                "UNION ALL SELECT %s, CASE WHEN %s THEN convert_to(string_agg(line || E'\\n', '' ORDER BY seq), "
                "'UTF8') END FROM batch_journal WHERE incident = %s HAVING count(*) > 0",
                ([prefix + name for name in names], incident_id, prefix, prefix + JOURNAL, JOURNAL in names,
                 incident_id)).fetchall()
        if not rows:
            return BatchFiles(path, incident_id).read(*names)
        found = {str(name)[len(prefix):]: bytes(blob) for name, blob in rows if blob is not None}
        return {name: found[name] for name in names if name in found}

    def _write_batch(self, incident_id: str, path: Path, kept: Mapping[str, str], lines: list[str]) -> None:
        """Write the batch's files as the database keeps them (`kept`: their SHA-256) where they differ."""
        prefix = _batch_name(incident_id, "")
        for name in KEPT:
            local = path / name
            sha = kept.get(name)
            if sha is None:
                local.unlink(missing_ok=True)
            elif not local.is_file() or file_sha256(local) != sha:
                self._bring_file(prefix + name, local)
        journal = path / JOURNAL
        text = "".join(line + "\n" for line in lines).encode("utf-8")
        if not lines:
            journal.unlink(missing_ok=True)
        elif not journal.is_file() or journal.read_bytes() != text:
            atomic_write_bytes(journal, text)

    def _push_batch(self, incident_id: str, path: Path, kept: Mapping[str, str], *, journal: bool = False) -> None:
        """Keep in the database the batch files that differ from what it keeps (`kept`: their SHA-256 there),
        in one transaction; a journal that is gone here (a batch prepared again) is deleted there. With
        `journal`, the journal's whole lines are written there too (a batch the database did not keep)."""
        prefix = _batch_name(incident_id, "")
        with self._guarded(), self.conn.transaction(), self.conn.cursor() as cur:
            for name in KEPT:
                local = path / name
                if local.is_file():
                    blob = local.read_bytes()
                    sha = hashlib.sha256(blob).hexdigest()
                    if kept.get(name) != sha:
                        cur.execute(_KEEP_FILE, (prefix + name, incident_id, blob, sha))
                elif name in kept:
                    cur.execute("DELETE FROM personal_data WHERE name = %s", (prefix + name,))
            if not (path / JOURNAL).is_file():
                cur.execute("DELETE FROM batch_journal WHERE incident = %s", (incident_id,))
            elif journal:
                whole = [raw.decode("utf-8").rstrip("\n") for raw in (path / JOURNAL).read_bytes().splitlines(True)
                         if raw.endswith(b"\n")]  # a torn last line (a crash mid-write) is left out
                cur.executemany("INSERT INTO batch_journal (incident, line) VALUES (%s, %s)",
                                [(incident_id, line) for line in whole])

    def keep_batch(self, incident_id: str) -> None:
        """Keep the batch of this store directory in the database, with its journal, when the database keeps
        none of it (`incident db import`)."""
        with self._batch_lock(incident_id):
            self._pull_batch(incident_id, self.batch_dir(incident_id), adopt=True)

    def _journal_line(self, incident_id: str, line: str) -> None:
        with self._guarded():  # autocommit: kept once this returns
            self.conn.execute("INSERT INTO batch_journal (incident, line) VALUES (%s, %s)", (incident_id, line))

    @contextmanager
    def _batch_lock(self, incident_id: str) -> Iterator[None]:
        """The batch's lock in the database, for the session: one prepare, approve or send at a time on every
        machine (released by the server when a crash ends the session)."""
        import psycopg

        with self._guarded():
            row = self.conn.execute("SELECT pg_try_advisory_lock(%s, hashtext(%s))",
                                    (_BATCH_LOCK, incident_id)).fetchone()
        if not (row and row[0]):
            raise RefusedError(_("another prepare, approve or send of the batch of {incident_id} is running, on this machine or another; try again when it has finished")
                               .format(incident_id=incident_id))
        try:
            yield
        finally:
            try:
                self.conn.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", (_BATCH_LOCK, incident_id))
            except psycopg.Error:  # the session is gone, and its lock with it
                pass

    # ------------------------------------------------------------------ records

    def _parse(self, incident_id: str, content: str) -> rec.Record:
        record = rec.loads(content, vocab=self.vocabulary, tz=self.tz, file=f"incident {incident_id}",
                           now=_FAR_FUTURE)
        if record.id != incident_id:
            raise InputError(_("the row holds incident {found}, not {incident_id}").format(
                found=record.id or _("(no id)"), incident_id=incident_id), file=f"incident {incident_id}", field="id")
        return record

    def load(self, incident_id: str) -> rec.Record:
        self.check_id(incident_id)
        with self._guarded():
            row = self.conn.execute("SELECT content FROM incidents WHERE id = %s", (incident_id,)).fetchone()
        if row is None:
            raise NotFoundError(_("no incident {incident_id} in {root}; `incident list` shows them")
                                .format(incident_id=incident_id, root=self.where))
        return self._parse(incident_id, str(row[0]))

    def records(self, *, fresh: bool = False) -> list[rec.Record]:
        self.skipped = []
        out: list[rec.Record] = []
        # the server compares each record with its hash and sends the cached form of the ones that match,
        # the TOML text of the others (edited outside the toolkit, or a `fresh` read): parsed again here
        query = ("SELECT id, NULL, content FROM incidents" if fresh else
                 f"SELECT id, cached, CASE WHEN {_CACHE_MATCHES} THEN NULL ELSE content END FROM incidents")
        with self._guarded(), self.conn.cursor() as cur:
            for incident_id, cached, content in cur.execute(query):
                record = _from_cached(cached, incident_id) if content is None else None
                if record is None:
                    if content is None:  # a damaged cache entry: the record's own text
                        row = self.conn.execute("SELECT content FROM incidents WHERE id = %s",
                                                (incident_id,)).fetchone()
                        if row is None:
                            continue
                        content = row[0]
                    try:
                        record = self._parse(incident_id, str(content))
                    except InputError as exc:
                        self.skipped.append(exc)
                        continue
                out.append(record)
        out.sort(key=lambda r: (r.discovered_at, r.id), reverse=True)
        return out

    def summaries(self) -> list[Summary]:
        """Every incident as listed, built without building the records. In one statement (one snapshot) the
        server sends one JSON document: the stored summary (migration 0008) of each row whose summary was
        made from its record's text as it is (its key is the text's hash, which the server keeps for whoever
        writes the text), newest discovery first; and the text of the other rows. Each summary is completed
        here (its date in the store's timezone, its type's Japanese name); one damaged outside the toolkit,
        and each text, is summarized from the record's text."""
        self.skipped = []
        tz, names = self.tz, self.type_names()
        query = (  # one statement: one snapshot
            "SELECT json_build_object("
            "'listed', (SELECT coalesce(json_agg(json_build_array(id, summary) "
            "ORDER BY discovered_at DESC, id COLLATE \"C\" DESC), '[]') FROM incidents WHERE summary_key = sha256), "
            "'texts', (SELECT coalesce(json_agg(json_build_array(id, content)), '[]') FROM incidents "
            "WHERE summary_key IS DISTINCT FROM sha256))::text")
        with self._guarded():
            row = self.conn.execute(query).fetchone()
        sent = json.loads(row[0]) if row is not None else {"listed": [], "texts": []}
        listed: list[Summary] = []
        texts: list[tuple[str, str | None]] = [(str(i), str(t)) for i, t in sent["texts"]]
        for incident_id, stored in sent["listed"]:
            try:
                listed.append(completed_summary(str(incident_id), stored, tz, names))
            except (KeyError, TypeError, ValueError, AttributeError):
                texts.append((str(incident_id), None))  # a summary damaged outside the toolkit
        if not texts:
            return listed  # in the server's order
        found = [(datetime.fromisoformat(s["discovered_at"]), s) for s in listed]
        for incident_id, content in texts:
            summarized = self._summary_of_text(incident_id, content, tz, names)
            if summarized is not None:
                found.append(summarized)
        found.sort(key=lambda item: (item[0], item[1]["id"]), reverse=True)
        return [summary for _, summary in found]

    def _summary_of_text(self, incident_id: str, content: str | None, tz: str,
                         names: Mapping[str, str]) -> tuple[datetime, Summary] | None:
        """An incident summarized from its record's text (fetched when not given); None, and the problem kept
        in `skipped`, when the text does not validate."""
        if content is None:
            with self._guarded():
                row = self.conn.execute("SELECT content FROM incidents WHERE id = %s", (incident_id,)).fetchone()
            if row is None:
                return None
            content = str(row[0])
        try:
            record = self._parse(incident_id, content)
        except InputError as exc:
            self.skipped.append(exc)
            return None
        return record.discovered_at, summary_of(record, tz, names)

    def _write(self, cur: psycopg.Cursor[Any], record: rec.Record, *, insert: bool, content: str | None = None) -> str:
        """Write the record's row; `content`: its text as another store wrote it (kept byte for byte)."""
        content = rec.dumps(record) if content is None else content
        digest = hashlib.sha256(content.encode("utf-8")).hexdigest()
        table = rec.to_toml_dict(record)
        cached = json.dumps({"key": digest, "record": table}, ensure_ascii=False, default=_tag)
        data = json.dumps(table, ensure_ascii=False, default=_jsonable_str)
        summary = json.dumps(stored_summary(record), ensure_ascii=False)
        created, updated = record.get("created_at"), record.get("updated_at")
        values = (content, digest, cached, data, summary, digest, record.status, str(record.get("department") or ""),
                  record.discovered_at, created if isinstance(created, datetime) else None,
                  updated if isinstance(updated, datetime) else None, record.id)
        if insert:
            cur.execute("INSERT INTO incidents (content, sha256, cached, data, summary, summary_key, status, department, "
                        "discovered_at, created_at, updated_at, id) "
                        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)", values)
        else:
            cur.execute("UPDATE incidents SET content = %s, sha256 = %s, cached = %s, data = %s, summary = %s, "
                        "summary_key = %s, status = %s, department = %s, discovered_at = %s, created_at = %s, "
                        "updated_at = %s WHERE id = %s", values)
        return digest

    def create(self, record: rec.Record, *, actor: str, at: datetime | None = None) -> rec.Record:
        moment = at or dates.now(self.tz)
        year = to_local_date(record.discovered_at, self.tz).year
        with self._guarded(), self.conn.transaction(), self.conn.cursor() as cur:
            cur.execute("INSERT INTO id_counters (year, last) VALUES (%s, 0) ON CONFLICT (year) DO NOTHING", (year,))
            row = cur.execute("SELECT last FROM id_counters WHERE year = %s FOR UPDATE", (year,)).fetchone()
            # the counter follows every incident inserted, imported ones too (migration 0003's trigger)
            number = (int(row[0]) if row else 0) + 1
            cur.execute("UPDATE id_counters SET last = %s WHERE year = %s", (number, year))
            incident_id = f"{year}-{number:04d}"
            new = record.with_facts(id=incident_id, status=record.status or "open",
                                    created_at=moment.replace(microsecond=0), updated_at=None)
            new = self.validate(new, file=f"incident {incident_id}")
            digest = self._write(cur, new, insert=True)
            self._append(cur, actor=actor, action="create", incident=incident_id,
                         changes=diff_records(None, new), at=moment, record_sha256=digest)
        return new

    def update(self, incident_id: str, change: Callable[[rec.Record], rec.Record], *, actor: str,
               action: str = "update", extra: Mapping[str, Any] | None = None,
               at: datetime | None = None) -> rec.Record:
        self.check_id(incident_id)
        moment = at or dates.now(self.tz)
        with self._guarded(), self.conn.transaction(), self.conn.cursor() as cur:
            row = cur.execute("SELECT content FROM incidents WHERE id = %s FOR UPDATE", (incident_id,)).fetchone()
            if row is None:
                raise NotFoundError(_("no incident {incident_id} in {root}; `incident list` shows them")
                                    .format(incident_id=incident_id, root=self.where))
            old = self._parse(incident_id, str(row[0]))
            result = self.changed(incident_id, old, change, extra, moment)
            if result is None:
                return old
            new, changes = result
            digest = self._write(cur, new, insert=False)
            self._append(cur, actor=actor, action=action, incident=incident_id, changes=changes, at=moment,
                         record_sha256=digest)
        return new


#: SQL: the row's cached form is the one of its record's text (its hash matches the text, and the cache names it)
_CACHE_MATCHES = ("sha256 = encode(sha256(convert_to(content, 'UTF8')), 'hex') "
                  "AND starts_with(cached, '{\"key\": \"' || sha256 || '\"')")


#: SQL: keep a sealed file in `personal_data` (name, incident, blob, sha256), replacing what was kept under its name
_KEEP_FILE = ("INSERT INTO personal_data (name, incident, blob, sha256) VALUES (%s, %s, %s, %s) ON CONFLICT (name) "
              "DO UPDATE SET blob = excluded.blob, sha256 = excluded.sha256, written_by = current_user, "
              "written_at = now()")


#: the advisory lock of a batch, with its incident's hashtext (any constant; "btch" in ASCII)
_BATCH_LOCK = 0x62746368


def _batch_name(incident_id: str, name: str) -> str:
    """A batch file's name in the database: its path in a store directory (batches/2024-0001/manifest.json)."""
    return f"batches/{incident_id}/{name}"


class SharedBatch(BatchFiles):
    """A batch kept in the database as well as in the batch directory: the sealed messages file and the
    manifest in `personal_data` as the files themselves, the journal in `batch_journal` one row per line."""

    def __init__(self, store: PgStore, path: Path, incident_id: str) -> None:
        super().__init__(path, incident_id)
        self.store = store

    @contextmanager
    def shared(self) -> Iterator[None]:
        """The batch's lock in the database; the files it keeps brought here first, and the ones changed here
        kept there when the block ends normally (a block that fails leaves the database as it was)."""
        with self.store._batch_lock(self.incident_id):
            kept = self.store._pull_batch(self.incident_id, self.path, adopt=True)
            yield
            self.store._push_batch(self.incident_id, self.path, kept)

    def journal_sink(self) -> Callable[[str], None]:
        """Each journal line is inserted (and committed) before it is written to the local file."""
        store, incident_id = self.store, self.incident_id
        return lambda line: store._journal_line(incident_id, line)

    def read(self, *names: str) -> dict[str, bytes]:
        """The files as the database keeps them, nothing written here (`PgStore._read_batch`)."""
        return self.store._read_batch(self.incident_id, self.path, names)


def _from_cached(cached: str, incident_id: str) -> rec.Record | None:
    try:
        hit = json.loads(cached, object_hook=_revive)
        record = rec.from_trusted(hit["record"])
        if record.id != incident_id or not isinstance(record.facts.get("discovered_at"), datetime):
            return None
        return record
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


# ---------------------------------------------------------------------- who may see what


#: what a member role is granted, table by table (row-level security narrows the incidents and the log)
MEMBER_GRANTS: tuple[tuple[str, str], ...] = (
    ("incidents", "SELECT, INSERT, UPDATE"),
    ("id_counters", "SELECT, INSERT, UPDATE"),
    ("audit_head", "SELECT, UPDATE"),
    ("audit_log", "SELECT, INSERT"),
    ("audit_links", "SELECT, INSERT"),
    ("incident_members", "SELECT"),
    ("incident_migrations", "SELECT"),
    ("register_identity", "SELECT"),
    ("personal_data", "SELECT, INSERT, UPDATE, DELETE"),
    ("batch_journal", "SELECT, INSERT, DELETE"),
    # the parts of each incident as views for SQL queries (migration 0005), under the incidents' policies
    ("incident_timeline", "SELECT"),
    ("incident_assessments", "SELECT"),
    ("incident_obligations", "SELECT"),
    ("incident_actions", "SELECT"),
    ("incident_notices", "SELECT"),
    ("incident_review_answers", "SELECT"),
)


@dataclass(frozen=True)
class Member:
    """A database role and what it may see: one department's incidents, or every one (the central desk)."""

    role: str
    department: str
    central: bool
    granted_by: str
    granted_at: datetime


def members(conn: psycopg.Connection[Any]) -> list[Member]:
    """Every member role (the owner sees them all; a member only itself)."""
    rows = conn.execute("SELECT role, department, central, granted_by, granted_at FROM incident_members "
                        "ORDER BY central DESC, department, role").fetchall()
    return [Member(str(r[0]), str(r[1]), bool(r[2]), str(r[3]), r[4]) for r in rows]


def grant(conn: psycopg.Connection[Any], role: str, *, department: str = "", central: bool = False) -> Member:
    """Make `role` a member: of one department (its incidents only) or of the central desk (all), with the
    table privileges it needs; run by the owner of the tables. Granting again changes the department."""
    from psycopg import errors, sql

    department = department.strip()
    if central == bool(department):
        raise InputError(_("give either --department NAME or --central"), field="--department")
    exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
    if not exists:
        raise InputError(_("there is no database role {role!r}; create it first (CREATE ROLE \"{role}\" LOGIN, "
                           "with a password or the server's own authentication)").format(role=role), field="ROLE")
    try:
        with conn.transaction():
            schema = conn.execute("SELECT current_schema()").fetchone()
            conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(
                sql.Identifier(str(schema[0] if schema else "public")), sql.Identifier(role)))
            for table, privileges in MEMBER_GRANTS:
                conn.execute(sql.SQL("GRANT {} ON {} TO {}").format(
                    sql.SQL(privileges), sql.Identifier(table), sql.Identifier(role)))
            row = conn.execute(
                "INSERT INTO incident_members (role, department, central) VALUES (%s, %s, %s) "
                "ON CONFLICT (role) DO UPDATE SET department = excluded.department, central = excluded.central, "
                "granted_by = current_user, granted_at = now() "
                "RETURNING role, department, central, granted_by, granted_at", (role, department, central)).fetchone()
    except errors.InsufficientPrivilege as exc:
        raise RefusedError(_("only the owner of the register's tables may grant roles ({problem})")
                           .format(problem=str(exc).strip())) from None
    assert row is not None
    return Member(str(row[0]), str(row[1]), bool(row[2]), str(row[3]), row[4])


def revoke(conn: psycopg.Connection[Any], role: str) -> bool:
    """Take away `role`'s membership and its table privileges; whether it was a member."""
    from psycopg import errors, sql

    try:
        with conn.transaction():
            gone = conn.execute("DELETE FROM incident_members WHERE role = %s RETURNING role", (role,)).fetchone()
            if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
                for table, _privileges in MEMBER_GRANTS:
                    conn.execute(sql.SQL("REVOKE ALL ON {} FROM {}").format(sql.Identifier(table),
                                                                           sql.Identifier(role)))
    except errors.InsufficientPrivilege as exc:
        raise RefusedError(_("only the owner of the register's tables may revoke roles ({problem})")
                           .format(problem=str(exc).strip())) from None
    return gone is not None
