"""The register as `incident list` shows it: one summary per incident, and the cache that lists a file
store without opening it.

A summary holds what the list shows and filters on: the id, status, discovery (the moment as stored and
its date in the store's timezone), type, title, department, number of persons and the saved
assessment's answer. Every backend gives them (`RegisterStore.summaries`).

The file store also keeps them in `list.json` beside `index.json`: each incident file's summary with the
status of the file (size, modification and change times, inode) that the index vouched for when the list
was written, and the status of `config.toml` (whose timezone the dates were taken in). `cached_summaries`
answers from that file alone, loading neither the store nor the record's schema, when it still vouches
for every incident file: the same files with the same statuses, each of them (and the config) settled
before the list was written (`SETTLED_NS`, as for the index). Anything else (a file added, changed,
removed or unreadable, the config changed, a database named in the environment, a damaged cache) gives
None, and the caller lists through the store, which writes the file again. The cache holds nothing the
records and `index.json` do not (the records are summaries already; no roster data is in it).

This module imports nothing of the register: it is what `incident list` loads besides click.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from incident.register.paths import ENV_DATABASE_URL, ID_RE

LIST_FILE = "list.json"
VERSION = 3
#: how long before the list's writing a file must have last changed for its status alone to vouch for it
#: (a later change within the file system's clock tick could leave the status alike)
SETTLED_NS = 2_000_000_000

if TYPE_CHECKING:  # a type only: making a TypedDict class is a visible part of the list's start-up
    from typing import TypedDict

    class Summary(TypedDict):
        """One incident as listed."""

        id: str
        status: str
        #: the moment of discovery as stored (ISO 8601 with its offset)
        discovered_at: str
        #: its date in the store's timezone (YYYY-MM-DD): what the list shows and `--year` filters on
        discovered_on: str
        type: str | None
        #: the type's Japanese name, from the store's playbooks (None: the type has none)
        type_ja: str | None
        title: str | None
        department: str
        persons: int | None
        #: the saved assessment's answer (None: undetermined, or not assessed)
        reportable: bool | None
        #: whether an assessment is saved at all
        assessed: bool



#: the keys of `incident list --json`, in order (stable: scripts read them)
JSON_KEYS = ("id", "status", "discovered_at", "type", "title", "department", "persons", "reportable")
_KEYS = frozenset((*JSON_KEYS, "discovered_on", "type_ja", "assessed"))


def summary_json(summary: Summary) -> dict[str, Any]:
    """One element of `incident list --json`."""
    return {key: summary[key] for key in JSON_KEYS}  # type: ignore[literal-required]


def filter_summaries(summaries: Iterable[Summary], *, status: str | None = None, year: int | None = None,
                     type_: str | None = None) -> list[Summary]:
    """The summaries in this state, discovered in this calendar year (store's timezone), of this type."""
    prefix = f"{year:04d}-" if year else ""
    return [s for s in summaries
            if (not status or s["status"] == status) and (not type_ or s["type"] == type_)
            and (not prefix or s["discovered_on"].startswith(prefix))]


def signature(status: os.stat_result) -> list[int]:
    """What a file's status says of its content: size, modification and change times, inode."""
    return [status.st_size, status.st_mtime_ns, status.st_ctime_ns, status.st_ino]


#: an incident file's name: `2024-0001.toml` (not a hidden or temporary file, not another name)
_INCIDENT_FILE = re.compile(ID_RE.pattern.removeprefix("^").removesuffix("$") + r"\.toml")


def is_incident_file(name: str) -> bool:
    """`2024-0001.toml` (not a hidden or temporary file, not another name)."""
    return _INCIDENT_FILE.fullmatch(name) is not None


def _config_signature(root: str | os.PathLike[str]) -> list[int] | None:
    try:
        return signature(os.stat(os.path.join(root, "config.toml")))
    except FileNotFoundError:
        return None


def encode(*, root: str | os.PathLike[str], taken_ns: int, files: Mapping[str, Sequence[int]],
           summaries: Sequence[Summary]) -> bytes | None:
    """The cache's bytes for these summaries (in list order) and their files' statuses; None when a file or
    the config changed too recently for its status to vouch for it (the list is then not cached)."""
    config = _config_signature(root)
    limit = taken_ns - SETTLED_NS
    if config is not None and config[2] >= limit:
        return None
    entries = []
    for summary in summaries:
        name = f"{summary['id']}.toml"
        status = files.get(name)
        if status is None or status[2] >= limit:
            return None
        entries.append([name, list(status), summary])
    if len(entries) != len(files):
        return None
    return json.dumps({"version": VERSION, "config": config, "entries": entries},
                      ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def cached_summaries(root: str | os.PathLike[str]) -> list[Summary] | None:
    """Every incident's summary, newest discovery first, from `list.json` when it vouches for every
    incident file of the store at `root`; else None (list through the store)."""
    if os.environ.get(ENV_DATABASE_URL, "").strip():  # the cache is the file store's
        return None
    try:
        with open(os.path.join(root, LIST_FILE), "rb") as file:
            data = json.loads(file.read())
        if type(data) is not dict or data.get("version") != VERSION or data.get("config") != _config_signature(root):
            return None
        entries = data["entries"]
        with os.scandir(os.path.join(root, "incidents")) as it:
            statuses = {e.name: signature(e.stat()) for e in it if is_incident_file(e.name)}
        if type(entries) is not list or statuses != {name: status for name, status, _ in entries}:
            return None
        out: list[Summary] = [summary for _, _, summary in entries]
        if not all(type(s) is dict and s.keys() == _KEYS and f"{s['id']}.toml" == n
                   for s, (n, _, _) in zip(out, entries)):
            return None
        return out
    except (OSError, ValueError, TypeError, KeyError, RecursionError):
        return None  # missing, unreadable or damaged: list through the store
