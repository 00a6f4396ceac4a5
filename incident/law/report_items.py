"""The report items (報告事項) as data: what a report to the regulator or a notice to the people must contain
(施行規則第8条第1項各号, 第10条), each with the record keys that fill it.

`playbooks/notices.toml` holds them as `[[item]]` tables and named lists in `[sets]`; a regime playbook's
obligation names the items it owes, so the regime checker validates those names against these ids. The
notice kinds of the same file are read by `incident.notices.items`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from incident.errors import InputError
from incident.i18n import _
from incident.register.record import FIELD_BY_NAME
from incident.resources import builtin_dir
from incident.tomlfile import (
    ID_PATTERN,
    BlockProblems,
    TomlLocator,
    id_blocks,
    label_of,
    raise_problems,
    read_toml,
)

FILE = "notices.toml"
ITEM_KEYS = ("id", "ja", "en", "keys", "individual_keys", "details", "source")
#: the record's list of data items, which an item may name beside the record's fact keys
DATA_KEY = "data"


@dataclass(frozen=True)
class ReportItem:
    """A report item and the record keys that fill it."""

    id: str
    ja: str
    """The officer's term, used in messages and 【未記入：…】 markers."""
    en: str
    keys: tuple[str, ...]
    """Record keys whose value is the item (the first non-empty wins); `data` is the data-item list."""
    individual_keys: tuple[str, ...] = ()
    """Keys used instead in a notice to the individuals (item 9 there means what they can do)."""
    details: tuple[str, ...] = ()
    """Further keys a full report (確報) must give for this item."""
    source: str = ""


@dataclass(frozen=True)
class ReportItems:
    """The items in playbook order, and the named lists of them (`[sets]`)."""

    items: Mapping[str, ReportItem]
    sets: Mapping[str, tuple[str, ...]]


def _record_key(key: str) -> bool:
    return key == DATA_KEY or key in FIELD_BY_NAME


def check_items(data: Mapping[str, Any], path: Path, locator: TomlLocator) -> list[InputError]:
    """Every problem of the file's `[[item]]` tables and `[sets]`, each at its line."""
    problems: list[InputError] = []
    tables = data.get("item")
    if not isinstance(tables, list) or not tables:
        return [InputError(_("at least one [[item]] table is required"), file=path, field="item")]
    for raw, block, label in id_blocks(tables, "item", path, locator, ITEM_KEYS, problems,
                                       texts=("ja", "en", "source")):
        for key in ("keys", "individual_keys", "details"):
            value = raw.get(key, [] if key != "keys" else None)
            if not isinstance(value, list) or (key == "keys" and not value) \
                    or not all(isinstance(v, str) for v in value):
                block.fail(_("{label}: {key} must be a list of record keys").format(label=label, key=key), key)
                continue
            for name in value:
                if not _record_key(name):
                    block.fail(_("{label}: {key} names {value!r}, which is not a key of the record").format(
                        label=label, key=key, value=name), key,
                               needle=f'"{name}"')
    seen = {raw["id"] for raw in tables if isinstance(raw, dict) and isinstance(raw.get("id"), str)}
    sets = data.get("sets", {})
    where = BlockProblems(path, locator, locator.block("sets", 0) if "sets" in data else None, prefix="sets.")
    if not isinstance(sets, dict):
        where.fail(_("[sets] must be a table of named item lists"), "sets")
    else:
        for name, members in sets.items():
            if not ID_PATTERN.match(name):
                where.fail(_("{label}: the name must be lower-case words joined by hyphens").format(
                    label=label_of("set", name)), name)
            if not isinstance(members, list) or not members or not all(isinstance(m, str) for m in members):
                where.fail(_("{label} must be a non-empty list of item ids").format(label=label_of("set", name)), name)
                continue
            for member in members:
                if member not in seen:
                    where.fail(_("{label} names {value!r}, which is no [[item]]; items: {items}").format(
                        label=label_of("set", name), value=member, items=", ".join(sorted(seen))), name)
    problems += where.found
    return problems


def parse_items(data: Mapping[str, Any]) -> ReportItems:
    """The items of a checked file."""
    items = {raw["id"]: ReportItem(raw["id"], raw["ja"], raw["en"], tuple(raw["keys"]),
                                   tuple(raw.get("individual_keys", ())), tuple(raw.get("details", ())),
                                   raw["source"]) for raw in data["item"]}
    sets = {name: tuple(members) for name, members in data.get("sets", {}).items()}
    return ReportItems(items, sets)


@cache
def load_report_items(path: Path | None = None) -> ReportItems:
    """The report items of `path` (default: the bundled playbooks/notices.toml)."""
    path = path or builtin_dir("playbooks") / FILE
    data, locator, problems = read_toml(path)
    if data is not None:
        problems = check_items(data, path, locator)
    raise_problems(problems, path)
    assert data is not None
    return parse_items(data)
