"""What the stages and the command line may ask of a store: the `RegisterStore` protocol.

Everything outside `incident.register` talks to a store through this protocol, never to a backend's
class, so a backend can be added without touching the stages. Two backends implement it:

- `incident.register.store.Store`, the embedded default: one TOML file per incident in a directory,
  a file lock, a hash-chained audit log file;
- a shared register on a database server (records, id counters and the audit chain in the database).

Both keep a local store directory (`root`): the organization's config.toml, its own playbooks/ and
templates/, and rendered documents. The personal data of an incident (its roster, its e-mail batch) is
reached through `roster_path` / `batch` (sealed files, AES-256-GCM); the shared register keeps them in the
database as well, as the same sealed bytes.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from incident.errors import InputError
from incident.register import record as rec
from incident.register.audit import VerifyResult
from incident.register.batchfiles import BatchFiles
from incident.register.config import Config, load_config
from incident.register.paths import ENV_DATABASE_URL
from incident.register.store import Store

if TYPE_CHECKING:
    from incident.register.listing import Summary

class RegisterStore(Protocol):
    """An opened register (see the module docstring)."""

    #: the local store directory (config.toml, the organization's playbooks/ and templates/)
    root: Path
    #: the incidents the last `records()` left out, each with its problem
    skipped: list[InputError]

    # ------------------------------------------------------------------ settings and vocabulary

    @property
    def config(self) -> Config: ...

    @property
    def tz(self) -> str: ...

    @property
    def vocabulary(self) -> rec.Vocabulary: ...

    def extra_dirs(self, kind: str = "playbooks") -> tuple[Path, ...]: ...

    def reload_config(self) -> None:
        """Forget the cached config (after config.toml was rewritten)."""

    # ------------------------------------------------------------------ records

    def load(self, incident_id: str) -> rec.Record: ...

    def records(self, *, fresh: bool = False) -> list[rec.Record]:
        """Every valid incident, newest discovery first; the invalid ones are kept in `skipped`."""

    def summaries(self) -> list[Summary]:
        """Every valid incident as `incident list` shows it, newest discovery first (invalid: `skipped`)."""

    def validate(self, record: rec.Record, *, file: str | None = None) -> rec.Record: ...

    def create(self, record: rec.Record, *, actor: str, at: datetime | None = None) -> rec.Record:
        """Allocate the next ID of the year of discovery, save, and log the creation."""

    def update(self, incident_id: str, change: Callable[[rec.Record], rec.Record], *, actor: str,
               action: str = "update", extra: Mapping[str, Any] | None = None,
               at: datetime | None = None) -> rec.Record:
        """Load under the lock, apply `change`, validate, save and log what changed, all or nothing."""

    def replace_text(self, incident_id: str, text: str, *, actor: str) -> rec.Record: ...

    # ------------------------------------------------------------------ lock and audit log

    def locked(self) -> AbstractContextManager[None]:
        """The store-wide lock (for changes outside the records, such as config.toml)."""

    def append_audit(self, *, actor: str, action: str, incident: str | None, changes: Mapping[str, Any],
                     at: datetime) -> dict[str, Any]:
        """Append an audit entry; the caller holds `locked()`."""

    def log(self, actor: str, action: str, incident: str | None, changes: Mapping[str, Any],
            at: datetime | None = None) -> dict[str, Any]:
        """Append an audit entry for an action that changes no record; takes the lock."""

    def audit_entries(self) -> Iterator[dict[str, Any]]: ...

    def verify_audit(self, *, anchor: str | None = None, records: bool = True) -> VerifyResult:
        """The chain, its head and its key; with `records`, every record against its last audited state."""

    @property
    def audit_location(self) -> str:
        """Where the audit log is, as shown to the officer."""

    # ------------------------------------------------------------------ personal data of one incident

    def roster_path(self, incident_id: str) -> Path: ...

    def roster_import(self, incident_id: str) -> AbstractContextManager[Path]:
        """One roster import of the incident at a time; yields the path to write the sealed roster to."""

    def batch_dir(self, incident_id: str) -> Path: ...

    def batch(self, incident_id: str, *, fetch: bool = True) -> BatchFiles:
        """The incident's e-mail batch: its directory under `root` and where else the store keeps it (the
        batch code prepares, approves and sends through it). Without `fetch`, nothing the store keeps
        elsewhere is brought to `root`: for reading the batch's files where they are (`BatchFiles.read`)."""

    def personal_data_paths(self, incident_id: str) -> list[Path]:
        """The incident's personal-data files and directories in `root`, relative to it (what purge removes
        there); nothing is brought from elsewhere."""

    def personal_data_kept(self, incident_id: str) -> dict[str, int]:
        """What the backend keeps of the incident's personal data besides the files of `root`, by name (a
        store-relative path, e.g. rosters/2024-0001.roster) with its size in bytes; read without writing any
        of it to disk (what a purge would delete there)."""

    def roster_key(self) -> bytes: ...

    def forget_personal_data(self, incident_id: str) -> list[str]:
        """Delete what the backend keeps of the incident's personal data besides the files of `root` (the
        sealed files a database keeps); the names deleted."""

    def close(self) -> None:
        """Release what the store holds open (a database connection)."""

    def identity(self) -> str | None:
        """Who is acting as the store authenticated them (a database role), or None where the store has no
        authentication of its own (the file store: the names people give are all there is)."""


def open_register(root: Path, vocabulary: Callable[[], rec.Vocabulary] | None = None) -> RegisterStore:
    """Open the store whose local directory is `root` (an error saying how to create it when missing): on
    PostgreSQL when `$INCIDENT_DATABASE_URL` or the config's `database_url` names a database, else in files."""
    config = _config(root)
    url = _database_url(root, config)
    if url:
        from incident.register.pgstore import PgStore

        return PgStore.open_url(root, url, vocabulary)
    return Store.open(root, vocabulary, config=config)


def _config(root: Path) -> Config | None:
    """The store's config.toml, read once for choosing the backend and for the store (None: no file)."""
    return load_config(root / "config.toml") if (root / "config.toml").is_file() else None


def _database_url(root: Path, config: Config | None) -> str:
    if not os.environ.get(ENV_DATABASE_URL, "").strip() and config is None:
        return ""
    configured = config.database_url if config is not None else ""
    if not configured and not os.environ.get(ENV_DATABASE_URL, "").strip():
        return ""
    from incident.register.pgstore import database_url

    return database_url(root, configured)


def init_register(root: Path, config: Config | None = None,
                  vocabulary: Callable[[], rec.Vocabulary] | None = None) -> RegisterStore:
    """Create (or open) the store whose local directory is `root`; with the config's `database_url`, the
    local directory and the database's schema (created or upgraded)."""
    if config is not None and config.database_url:
        from incident.register.pgstore import PgStore

        return PgStore.init(root, config, vocabulary)
    return Store.init(root, config, vocabulary)
