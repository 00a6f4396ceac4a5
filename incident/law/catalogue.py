"""The data-item catalogue: the kinds of personal data an incident can involve and their legal flags.

`playbooks/data-items.toml` lists every item with Japanese and English names, aliases and the flags the
assessment needs (special-care data 要配慮個人情報, financial harm 財産的被害, identification code
個人識別符号, My Number 個人番号). A record names items by id or by any alias; :meth:`Catalogue.resolve`
maps the name to the item in O(1) and suggests the closest names when it does not know it.

An item outside the catalogue is named as a free item, `other:保育料の額` (or `item = "other"` with a
`label` in a record's [[data]] table): ordinary personal information with no flags unless the record
sets some. A name listed under [[ambiguous]] (健康診断: the check-up received, or its results?) names
more than one item; resolving it raises AmbiguousItem naming each, and a terminal asks which.
The small TOML helpers at the end (line numbers of tables and keys) are shared with the taxonomies.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from incident.errors import InputError
from incident.i18n import _
from incident.resources import builtin_dir
from incident.text import normalize
from incident.tomlfile import (
    ID_PATTERN,
    BlockProblems,
    check_header,
    label_of,
    numbered_label,
    raise_problems,
    read_toml,
    table_label,
)

FILENAME = "data-items.toml"
FLAGS = ("special_care", "financial_harm", "identification_code", "my_number")
_ITEM_KEYS = ("id", "ja", "en", "aliases", *FLAGS, "citation", "note")
_TOP_KEYS = ("schema", "version", "item", "ambiguous")
_AMBIGUOUS_KEYS = ("name", "items", "note")
#: the id of a free item (outside the catalogue), written `other:LABEL`
FREE_ID = "other"
FREE_PREFIX = "other:"
_SEPARATORS = re.compile(r"[\s\-_\u30fb]+")


def normalize_name(name: str) -> str:
    """The lookup key of a name: normalized, case-folded, without spaces, hyphens (any dash), underscores or
    中黒."""
    return _SEPARATORS.sub("", normalize(name).casefold())


@dataclass(frozen=True)
class DataItem:
    """One kind of personal data (個人データの項目)."""

    id: str
    """Stable identifier, e.g. `email-address`."""
    ja: str
    """Japanese name, e.g. `メールアドレス`."""
    en: str
    """English name."""
    aliases: tuple[str, ...] = ()
    """Other names a record may use (Japanese or English)."""
    special_care: bool = False
    """要配慮個人情報 (APPI Art. 2(3), 施行令 Art. 2)."""
    financial_harm: bool = False
    """Misuse may cause financial loss (施行規則 Art. 7(2))."""
    identification_code: bool = False
    """個人識別符号 (APPI Art. 2(2), 施行令 Art. 1)."""
    my_number: bool = False
    """個人番号 (番号法 Art. 2(5)): the mynumber regime applies too."""
    citation: str | None = None
    """The article (or PPC Q&A) a flag comes from."""
    note: str | None = None
    """A short explanation for the officer."""

    @property
    def names(self) -> tuple[str, ...]:
        """Every name the item answers to: id, ja, en and the aliases."""
        return (self.id, self.ja, self.en, *self.aliases)

    @property
    def free(self) -> bool:
        """An item outside the catalogue (`other:LABEL`)."""
        return self.id.startswith(FREE_PREFIX)


@dataclass(frozen=True)
class Ambiguous:
    """A name that means more than one item (健康診断: having had a check-up, or its results)."""

    name: str
    items: tuple[str, ...]
    note: str = ""


class AmbiguousItem(InputError):
    """A data-item name that names more than one item; `choices` are the items it may mean."""

    def __init__(self, name: str, choices: Sequence[DataItem], note: str = "", **where: Any) -> None:
        self.name = name
        self.choices = tuple(choices)
        listed = " or ".join(f"{c.id} ({c.ja})" for c in self.choices)
        super().__init__(f"the data item {name!r} is ambiguous: name {listed}" + (f" — {note}" if note else ""),
                         **where)


def free_label(name: str) -> str | None:
    """The label of a free item name (`other:保育料の額` -> 保育料の額), or None for any other name."""
    text = normalize(name, "keep").strip()
    head, sep, label = text.partition(":")
    if not sep or head.strip().casefold() != FREE_ID:
        return None
    return " ".join(label.split())


def free_item(label: str) -> DataItem:
    """A free item: ordinary personal information named by the record (no flags of its own)."""
    return DataItem(id=FREE_PREFIX + label, ja=label, en=label,
                    note="カタログ外の項目（自由記述）。要配慮個人情報等に当たるときは記録でフラグを指定する。")


def _build_index(
    items: Mapping[str, DataItem], sources: Mapping[str, str]
) -> tuple[dict[str, str], dict[str, str]]:
    """Normalized name -> item id, and normalized name -> the name as spelled. Rejects shared names."""
    index: dict[str, str] = {}
    spelled: dict[str, str] = {}
    for item in items.values():
        for name in item.names:
            key = normalize_name(name)
            other = index.get(key)
            if other is not None and other != item.id:
                where = f" ({sources[other]})" if other in sources else ""
                raise InputError(
                    _("the name {name!r} of item {id!r} is already a name of item {other!r}{where}; every id and alias must belong to one item")
                    .format(name=name, id=item.id, other=other, where=where),
                    file=sources.get(item.id),
                    field="aliases",
                )
            index[key] = item.id
            spelled.setdefault(key, name)
    return index, spelled


@dataclass(frozen=True, eq=False)
class Catalogue:
    """The loaded catalogue: items by id, and an index of every name for O(1) resolution."""

    items: Mapping[str, DataItem]
    sources: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    """Item id -> the file the item was loaded from."""
    ambiguous: Mapping[str, Ambiguous] = field(default_factory=lambda: MappingProxyType({}))
    """Normalized name -> the items it may mean (names that are no item's name)."""
    _index: Mapping[str, str] = field(init=False, repr=False)
    _spelled: Mapping[str, str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        index, spelled = _build_index(self.items, self.sources)
        for key, entry in self.ambiguous.items():
            if key in index:
                raise InputError(_("the ambiguous name {name!r} is also a name of item {value!r}; remove it from that item's aliases")
                                 .format(name=entry.name, value=index[key]), field="ambiguous")
            unknown = [i for i in entry.items if i not in self.items]
            if unknown:
                raise InputError(_("the ambiguous name {name!r} lists unknown item {value!r}")
                                 .format(name=entry.name, value=unknown[0]),
                                 field="ambiguous")
        object.__setattr__(self, "_index", MappingProxyType(index))
        object.__setattr__(self, "_spelled", MappingProxyType(spelled))

    def get(self, name: str) -> DataItem | None:
        """The item an id or alias names (a free item for `other:LABEL`), or None."""
        item_id = self._index.get(normalize_name(name))
        if item_id is not None:
            return self.items[item_id]
        label = free_label(name)
        return free_item(label) if label else None

    def choices(self, name: str) -> tuple[DataItem, ...]:
        """The items an ambiguous name may mean (empty when the name is not ambiguous)."""
        entry = self.ambiguous.get(normalize_name(name))
        return tuple(self.items[i] for i in entry.items) if entry else ()

    def resolve(
        self,
        name: str,
        *,
        file: str | Path | None = None,
        field: str | None = None,
        line: int | None = None,
        row: int | None = None,
    ) -> DataItem:
        """The item an id or alias names (any case, full- or half-width, `-`/`_`/space alike).

        Raises InputError suggesting the closest known names when there is none.
        """
        if not isinstance(name, str):
            raise InputError(
                _("a data item must be given as text (an id or alias), not {name!r}").format(name=name),
                file=file, field=field, line=line, row=row,
            )
        item = self.get(name)
        if item is None:
            entry = self.ambiguous.get(normalize_name(name))
            if entry is not None:
                raise AmbiguousItem(name, self.choices(name), entry.note, file=file, field=field, line=line,
                                    row=row)
            if free_label(name) == "":
                raise InputError(_("the free item {name!r} has no label; write other:LABEL, e.g. other:保育料の額")
                                 .format(name=name),
                                 file=file, field=field, line=line, row=row)
            raise InputError(self._unknown(name), file=file, field=field, line=line, row=row)
        return item

    def _unknown(self, name: str) -> str:
        if not normalize_name(name):
            return self._unknown_text(name)
        return self._unknown_text(name) + _("; or, for an item outside the catalogue, write it as a free item: "
                                            "other:{name}").format(name=name.strip())

    def _unknown_text(self, name: str) -> str:
        key = normalize_name(name)
        if not key:
            return _("empty data item name {name!r}; give an id such as 'name' or an alias such as '氏名'").format(
                name=name)
        suggestions: list[str] = []
        seen: set[str] = set()
        for match in difflib.get_close_matches(key, list(self._spelled), n=12, cutoff=0.6):
            item_id = self._index[match]
            if item_id in seen:
                continue
            seen.add(item_id)
            spelled = self._spelled[match]
            suggestions.append(spelled if spelled == item_id else f"{spelled} ({item_id})")
            if len(suggestions) == 3:
                break
        if suggestions:
            return _("unknown data item {name!r}; did you mean: {suggestions}?").format(
                name=name, suggestions=", ".join(suggestions))
        return _("unknown data item {name!r}; no similar name among the {count} known items (ids and aliases are "
                 "listed in playbooks/{file})").format(name=name, count=len(self.items), file=FILENAME)


# --- loading -----------------------------------------------------------------------------------


def load_catalogue(extra_dirs: Sequence[Path] = ()) -> Catalogue:
    """The builtin catalogue plus, for each extra dir holding a `data-items.toml`, its items.

    An extra file adds items or replaces a builtin item by id (the whole item). The first extra
    directory has the last word. Loads are cached by file path, modification time and size.
    """
    stamps: list[tuple[str, int, int]] = []
    for directory in extra_dirs:
        path = Path(directory) / FILENAME
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise InputError(_("cannot read the data-item catalogue: {strerror}")
                             .format(strerror=exc.strerror), file=path) from exc
        stamps.append((str(path), stat.st_mtime_ns, stat.st_size))
    if not stamps:
        return _builtin_catalogue()
    return _merged_catalogue(tuple(stamps))


def check_catalogue_file(path: str | Path, *, base: Catalogue | None = None) -> list[InputError]:
    """Every problem in a catalogue file, with line numbers where possible; [] when it is sound.

    With `base` (e.g. the builtin catalogue), names that clash with its items are reported too.
    """
    return sorted(_parse_file(Path(path), base)[2], key=lambda problem: problem.line or 0)


@cache
def _builtin_path() -> Path:
    return builtin_dir("playbooks") / FILENAME


@cache
def _builtin_items() -> tuple[tuple[DataItem, ...], tuple[Ambiguous, ...]]:
    return _parse_or_raise(_builtin_path())


@cache
def _builtin_catalogue() -> Catalogue:
    return _merged_catalogue(())


@lru_cache(maxsize=16)
def _merged_catalogue(stamps: tuple[tuple[str, int, int], ...]) -> Catalogue:
    """The builtin items, then each stamped file's (the first stamp last, so that it wins)."""
    builtin_items, builtin_ambiguous = _builtin_items()
    items = {item.id: item for item in builtin_items}
    ambiguous = {normalize_name(a.name): a for a in builtin_ambiguous}
    builtin = str(_builtin_path())
    sources = {item_id: builtin for item_id in items}
    for path, _mtime, _size in reversed(stamps):
        own_items, own_ambiguous = _parse_or_raise(Path(path))
        for item in own_items:
            items[item.id] = item
            sources[item.id] = path
            for name in item.names:  # an organization's item may claim a name the builtin file left open
                ambiguous.pop(normalize_name(name), None)
        ambiguous.update((normalize_name(a.name), a) for a in own_ambiguous)
    return Catalogue(items=MappingProxyType(items), sources=MappingProxyType(sources),
                     ambiguous=MappingProxyType(ambiguous))


def _parse_or_raise(path: Path) -> tuple[tuple[DataItem, ...], tuple[Ambiguous, ...]]:
    items, ambiguous, problems = _parse_file(path)
    raise_problems(problems, path)
    return tuple(items), tuple(ambiguous)


def _parse_ambiguous(data: Mapping[str, Any], path: Path, locator: Any, names: Mapping[str, tuple[str, str]],
                     problems: list[InputError]) -> list[Ambiguous]:
    """The [[ambiguous]] tables: a name that is no item's own and the item ids it may mean."""
    raw = data.get("ambiguous", [])
    if not isinstance(raw, list) or not all(isinstance(r, dict) for r in raw):
        problems.append(InputError(_("expected [[ambiguous]] tables with name and items"), file=path,
                                   field="ambiguous", line=locator.key_line(None, "ambiguous")))
        return []
    out: list[Ambiguous] = []
    for index, table in enumerate(raw):
        block = BlockProblems(path, locator, locator.block("ambiguous", index))
        label = numbered_label("ambiguous", index + 1)
        block.unknown_keys(table, _AMBIGUOUS_KEYS, label)
        name, items, note = table.get("name"), table.get("items"), table.get("note", "")
        if not isinstance(name, str) or not normalize_name(name):
            block.fail(_("{label}: {key} must be a non-empty string").format(label=label, key="name"), "name")
        elif normalize_name(name) in names:
            block.fail(_("ambiguous name {name!r} is also a name of item {item!r}; remove it from that item's aliases")
                       .format(name=name, item=names[normalize_name(name)][0]), "name")
        if not isinstance(items, list) or len(items) < 2 or not all(isinstance(i, str) for i in items):
            block.fail(_("{label}: items must list two or more item ids").format(label=label), "items")
        if not isinstance(note, str):
            block.fail(_("{label}: note must be a string").format(label=label), "note")
        problems += block.found
        if not block.found:
            assert isinstance(name, str) and isinstance(items, list)
            out.append(Ambiguous(name, tuple(items), str(note)))
    return out


def _parse_file(path: Path, base: Catalogue | None = None) -> tuple[list[DataItem], list[Ambiguous],
                                                                     list[InputError]]:
    """The file's sound items, its ambiguous names and every problem found (names clashing with `base`
    included)."""
    data, locator, problems = read_toml(path)
    if data is None:
        return [], [], problems
    top = BlockProblems(path, locator, None)
    top.unknown_keys(data, _TOP_KEYS)
    problems += top.found
    check_header(data, path, locator, problems)
    raw_items = data.get("item")
    if not isinstance(raw_items, list) or not all(isinstance(r, dict) for r in raw_items):
        line = locator.key_line(None, "item")
        problems.append(InputError(_("expected one or more [[item]] tables"), file=path, field="item", line=line))
        return [], [], problems
    items: list[DataItem] = []
    first_line: dict[str, int | None] = {}
    owner: dict[str, tuple[str, str]] = {}  # normalized name -> (item id, name as spelled)
    own = {raw.get("id") for raw in raw_items}
    for index, raw in enumerate(raw_items):
        block = BlockProblems(path, locator, locator.block("item", index))
        item = _check_item(raw, index, block, first_line, owner)
        if item is not None and base is not None:
            for name in item.names:
                clash = base.get(name)
                if clash is not None and clash.id != item.id and clash.id not in own:
                    block.fail(_("{label}: the name {name!r} is already a name of item {item!r}").format(
                        label=label_of("item", item.id), name=name, item=clash.id), "aliases", needle=f'"{name}"')
        problems += block.found
        if item is not None and not block.found:
            items.append(item)
    ambiguous = _parse_ambiguous(data, path, locator, owner, problems)
    return items, ambiguous, problems


def _check_item(
    raw: Mapping[str, Any],
    index: int,
    block: BlockProblems,
    first_line: dict[str, int | None],
    owner: dict[str, tuple[str, str]],
) -> DataItem | None:
    """Check one [[item]] table into `block`; the item when it is sound enough to build."""
    fail = block.fail
    item_id = raw.get("id")
    label = table_label("item", item_id, index)
    block.unknown_keys(raw, _ITEM_KEYS, label)
    if item_id is None:
        fail(_("{label} has no id").format(label=label), "id")
    elif not isinstance(item_id, str) or not ID_PATTERN.match(item_id):
        fail(_("{label}: id must be lower-case words joined by hyphens, e.g. 'email-address'").format(label=label), "id")
    elif item_id == FREE_ID:
        fail(_("{label}: the id {id!r} is reserved for free items (other:LABEL)").format(label=label, id=FREE_ID), "id")
    elif item_id in first_line:
        fail(_("duplicate id {id!r} (first at line {line})").format(id=item_id, line=first_line[item_id]), "id")
    else:
        first_line[item_id] = block.header
    for key in ("ja", "en"):
        value = raw.get(key)
        if value is None:
            fail(_("{label} has no {key} name").format(label=label, key=key), key)
        elif not isinstance(value, str) or not value.strip():
            fail(_("{label}: {key} must be a non-empty string").format(label=label, key=key), key)
    for key in ("citation", "note"):
        if key in raw and (not isinstance(raw[key], str) or not raw[key].strip()):
            fail(_("{label}: {key} must be a non-empty string").format(label=label, key=key), key)
    aliases = raw.get("aliases", [])
    if not isinstance(aliases, list) or not all(isinstance(a, str) and a.strip() for a in aliases):
        fail(_("{label}: aliases must be a list of non-empty strings").format(label=label), "aliases")
        aliases = []
    for flag in FLAGS:
        if flag in raw and not isinstance(raw[flag], bool):
            fail(_("{label}: {key} must be true or false, not {value!r}").format(label=label, key=flag, value=raw[flag]),
                 flag)
    flags = {flag: raw.get(flag) is True for flag in FLAGS}
    if flags["my_number"] and not flags["identification_code"]:
        fail(_("{label}: a My Number is an identification code (施行令第1条第6号); "
               "set identification_code = true").format(label=label), "my_number")
    set_flags = [flag for flag in FLAGS if flags[flag]]
    if set_flags and "citation" not in raw:
        fail(_("{label} sets {flags} but has no citation (the article the flag comes from)").format(
            label=label, flags=", ".join(set_flags)),
             set_flags[0])
    for name in (n for n in (item_id, raw.get("ja"), raw.get("en"), *aliases) if isinstance(n, str)):
        key = normalize_name(name)
        if not key:
            fail(_("{label}: the name {name!r} is empty once spaces and hyphens are removed").format(
                label=label, name=name), "aliases")
            continue
        other = owner.get(key)
        if other is not None and other[0] != item_id:
            fail(_("{label}: the name {name!r} is already a name of item {item!r} ({spelled!r})").format(
                label=label, name=name, item=other[0], spelled=other[1]),
                 "aliases", needle=f'"{name}"')
        elif other is None and isinstance(item_id, str):
            owner[key] = (item_id, name)
    if not isinstance(item_id, str):
        return None
    return DataItem(
        id=item_id, ja=raw.get("ja", ""), en=raw.get("en", ""), aliases=tuple(aliases),
        citation=raw.get("citation"), note=raw.get("note"), **flags,
    )
