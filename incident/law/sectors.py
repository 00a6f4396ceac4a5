"""Sectors (業種) and where their reports go: the PPC's delegation of its power (権限の委任) as data.

`playbooks/sectors.toml` lists the sectors an organization may name in config (`sector = "…"`): for each,
whether the PPC delegated its power to receive the APPI Art. 26(1) reports to a minister (法第150条;
通則ガイドライン3-5-3-3: the report then goes to that minister, with the same deadlines), the recipient, the
method of submission and the source that says so, and any further report a sector rule asks for, as
obligations with their own citation. A sector's routing applies to the obligations whose recipient is
`{regulator}` (the business reports of appi-business); a public body's reports stay with the PPC.
An organization adds or replaces sectors with a sectors.toml in its store's playbooks/.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from incident.errors import InputError
from incident.i18n import _
from incident.law.regime_check import _Collector, _obligation
from incident.law.regimes import Obligation
from incident.resources import builtin_dir
from incident.tomlfile import (
    ID_PATTERN,
    BlockProblems,
    check_header,
    raise_problems,
    read_toml,
    table_label,
)

__all__ = ["FILENAME", "Sector", "check_sectors_file", "load_sectors", "sector_of"]

FILENAME = "sectors.toml"
_TOP_KEYS = ("schema", "version", "sector")
_SECTOR_KEYS = ("id", "ja", "en", "delegated", "recipient", "method", "citation", "source", "note", "regime",
                "obligations")


@dataclass(frozen=True)
class Sector:
    """A sector and where its business reports go."""

    id: str
    ja: str
    en: str
    #: the PPC delegated its power to receive the reports (法第150条第1項) to `recipient`
    delegated: bool
    recipient: str
    #: how the report is submitted (empty where no source says)
    method: str
    citation: str
    source: str
    note: str = ""
    #: the regime whose `{regulator}` obligations the routing fills, and to which `obligations` are added
    regime: str = "appi-business"
    #: further reports a sector rule asks for, each with its own citation
    obligations: tuple[Obligation, ...] = ()


def load_sectors(extra_dirs: Sequence[Path] = ()) -> Mapping[str, Sector]:
    """The bundled sectors, then each extra directory's (the first directory wins; a same id replaces)."""
    paths = [builtin_dir("playbooks") / FILENAME]
    paths += [Path(d) / FILENAME for d in reversed(tuple(extra_dirs)) if (Path(d) / FILENAME).is_file()]
    stamps = tuple((str(p), p.stat().st_mtime_ns) for p in paths if p.is_file())
    return _load(stamps)


def sector_of(sector_id: str, extra_dirs: Sequence[Path] = ()) -> Sector | None:
    """The configured sector, None for none; an unknown id is an error naming the known ones."""
    if not sector_id:
        return None
    sectors = load_sectors(extra_dirs)
    found = sectors.get(sector_id)
    if found is None:
        raise InputError(_("unknown sector {sector_id!r}; known sectors: {join} (playbooks/{filename})")
                         .format(sector_id=sector_id, join=', '.join(sectors), filename=FILENAME), field="sector")
    return found


@lru_cache(maxsize=16)
def _load(stamps: tuple[tuple[str, int], ...]) -> Mapping[str, Sector]:
    out: dict[str, Sector] = {}
    for name, _mtime in stamps:
        sectors, problems = _parse(Path(name))
        raise_problems(problems, Path(name))
        out.update((s.id, s) for s in sectors)
    return MappingProxyType(out)


def check_sectors_file(path: str | Path) -> list[InputError]:
    """Every problem of a sectors file, with lines; [] when it is sound."""
    return sorted(_parse(Path(path))[1], key=lambda p: p.line or 0)


def _parse(path: Path) -> tuple[list[Sector], list[InputError]]:
    data, locator, problems = read_toml(path)
    if data is None:
        return [], problems
    top = BlockProblems(path, locator, None)
    top.unknown_keys(data, _TOP_KEYS)
    problems += top.found
    check_header(data, path, locator, problems)
    raw = data.get("sector", [])
    if not isinstance(raw, list) or not all(isinstance(t, dict) for t in raw):
        problems.append(InputError(_("expected [[sector]] tables"), file=path, field="sector"))
        return [], problems
    sectors: list[Sector] = []
    seen: set[str] = set()
    for index, table in enumerate(raw):
        block = BlockProblems(path, locator, locator.block("sector", index))
        sector = _sector(table, index, block, seen, path, locator)
        problems += block.found
        if sector is not None and not block.found:
            sectors.append(sector)
    return sectors, problems


def _sector(t: Mapping[str, Any], index: int, block: BlockProblems, seen: set[str], path: Path,
            locator: Any) -> Sector | None:
    sid = t.get("id")
    label = table_label("sector", sid, index)
    block.unknown_keys(t, _SECTOR_KEYS, label)
    if not isinstance(sid, str) or not ID_PATTERN.match(sid):
        block.fail(_("{label}: id must be lower-case words joined by hyphens").format(label=label), "id")
    elif sid in seen:
        block.fail(_("duplicate sector id {id!r}").format(id=sid), "id")
    else:
        seen.add(sid)
    for key in ("ja", "en", "recipient", "citation", "source"):
        if not isinstance(t.get(key), str) or not t[key].strip():
            block.fail(_("{label}: {key} must be a non-empty string (every routing names its source)").format(
                label=label, key=key), key)
    for key in ("method", "note", "regime"):
        if key in t and not isinstance(t[key], str):
            block.fail(_("{label}: {key} must be a string").format(label=label, key=key), key)
    if not isinstance(t.get("delegated"), bool):
        block.fail(_("{label}: delegated must be true or false (whether the PPC delegated its power)").format(
            label=label), "delegated")
    obligations = _obligations(t.get("obligations", []), label, block, path, locator, index)
    if block.found or not isinstance(sid, str):
        return None
    return Sector(sid, t["ja"], t["en"], t["delegated"], t["recipient"], t.get("method", ""), t["citation"],
                  t["source"], t.get("note", ""), t.get("regime", "appi-business"), obligations)


def _obligations(raw: Any, label: str, block: BlockProblems, path: Path, locator: Any,
                 index: int) -> tuple[Obligation, ...]:
    """A sector's further reports, read as a regime playbook's [[obligations]] (when: always, otherwise or
    left out for "when the regime's conditions are met")."""
    if not isinstance(raw, list) or not all(isinstance(o, dict) for o in raw):
        block.fail(_("{label}: obligations must be [[sector.obligations]] tables").format(label=label), "obligations")
        return ()
    collector = _Collector(str(path), "")
    out = []
    for i, table in enumerate(raw):
        if isinstance(table.get("when"), list):
            block.fail(_("{label}: obligations[{index}]: when must be \"always\" or \"otherwise\" (or left out)")
                       .format(label=label, index=i), "obligations")
            continue
        out.append(_obligation(table, i, collector, frozenset()))
    for problem in collector.errors:
        block.fail(_("{label}: {message} ({field})").format(label=label, message=problem.message, field=problem.field),
                   "obligations")
    return tuple(out)
