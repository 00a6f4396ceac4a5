"""Incident types and cause categories: the taxonomies behind a record's `type` and `cause_category`.

`playbooks/incident-types.toml` gives each type (誤交付, 誤送付, 誤送信, 紛失 …) its usual event, whether a
malicious act is presumed, the annual report's grouping, the recommended corrective measures and the
post-incident review checklist; `playbooks/causes.toml` does the same for causes (ダブルチェックが不十分 …).
An organization adds or replaces entries by id with same-named files in its store's `playbooks/`.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, cast

from incident.errors import InputError
from incident.i18n import N_, _
from incident.law.catalogue import normalize_name
from incident.resources import builtin_dir
from incident.tomlfile import (
    ID_PATTERN,
    BlockProblems,
    TomlLocator,
    check_header,
    numbered_label,
    raise_problems,
    read_toml,
    table_label,
)

TYPES_FILE = "incident-types.toml"
CAUSES_FILE = "causes.toml"
Event = Literal["leak", "loss", "damage"]
EVENTS: tuple[Event, ...] = ("leak", "loss", "damage")
Kind = Literal["type", "cause"]
#: facts an incident type may ask for (`asks`): `incident new` prompts for them on a terminal and the
#: assessment lists one as missing while the record leaves it out
ASKED_FACTS = ("copy_exists", "being_acquired")
_FILES: dict[Kind, str] = {"type": TYPES_FILE, "cause": CAUSES_FILE}
_KEYS: dict[Kind, tuple[str, ...]] = {
    "type": ("id", "ja", "en", "default_event", "malicious_presumed", "report_group", "measures", "checklist",
             "citation", "asks"),
    "cause": ("id", "ja", "en", "measures", "checklist", "annual_share"),
}
_CHECKLIST_KEYS = ("id", "ja", "en")


@dataclass(frozen=True)
class ChecklistItem:
    """One question of the post-incident review."""

    id: str
    ja: str
    en: str


@dataclass(frozen=True)
class IncidentType:
    """A kind of incident (事案の種別)."""

    id: str
    ja: str
    en: str
    default_event: Event
    """The usual event: leak (漏えい), loss (滅失) or damage (毀損)."""
    malicious_presumed: bool
    """A malicious act (不正の目的) is presumed; the assessment asks the officer to confirm it."""
    report_group: str
    """The type id the annual report lists this type under (itself unless an organization says otherwise)."""
    measures: tuple[str, ...] = ()
    """Corrective measures that usually fit (Japanese)."""
    checklist: tuple[ChecklistItem, ...] = ()
    """The post-incident review questions for this type."""
    citation: str | None = None
    """Where the guideline gives this type as an example of its default event."""
    asks: tuple[str, ...] = ()
    """Facts that matter for this type (copy_exists, being_acquired): `incident new` asks for them on a
    terminal and the assessment lists them as missing while the record leaves them out."""


@dataclass(frozen=True)
class Cause:
    """A cause category (原因の分類)."""

    id: str
    ja: str
    en: str
    measures: tuple[str, ...] = ()
    checklist: tuple[ChecklistItem, ...] = ()
    annual_share: bool = False
    """The annual report states the share of the year's incidents with this cause."""


Entry = IncidentType | Cause


def _unknown(what: str, value: object, entries: Mapping[str, Entry]) -> str:
    """`unknown incident type 'x'; did you mean …? valid: a (…), b (…)`."""
    valid = ", ".join(f"{e.id} ({e.ja})" for e in entries.values())
    hint = ""
    if isinstance(value, str):
        key = normalize_name(value)
        labelled = [e for e in entries.values() if key in (normalize_name(e.ja), normalize_name(e.en))]
        close = difflib.get_close_matches(value.strip().lower(), list(entries), n=1, cutoff=0.6)
        if labelled:
            hint = _("use the id {id!r} ({label}); ").format(id=labelled[0].id, label=labelled[0].ja)
        elif close:
            hint = _("did you mean {id!r} ({label})? ").format(id=close[0], label=entries[close[0]].ja)
    return _("unknown {what} {value!r}; {hint}valid: {valid}").format(what=_(what), value=value, hint=hint,
                                                                       valid=valid)


@dataclass(frozen=True, eq=False)
class Taxonomy:
    """Incident types and causes, each in playbook order (builtin first, an organization's after)."""

    types: Mapping[str, IncidentType]
    causes: Mapping[str, Cause]
    sources: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    """`type:<id>` or `cause:<id>` -> the file the entry was loaded from."""

    @property
    def annual_share_cause(self) -> Cause | None:
        """The cause whose share the annual report states (the last flagged one, so an organization's
        own causes.toml can move the flag), or None."""
        flagged = [c for c in self.causes.values() if c.annual_share]
        return flagged[-1] if flagged else None

    def __post_init__(self) -> None:
        for entry in self.types.values():
            if entry.report_group not in self.types:
                raise InputError(
                    _("type {id!r}: report_group {report_group!r} is not a type id; valid: {join}")
                    .format(id=entry.id, report_group=entry.report_group, join=', '.join(self.types)),
                    file=self.sources.get(f"type:{entry.id}"), field="report_group",
                )

    def type(self, type_id: str, *, file: str | Path | None = None, field: str | None = None) -> IncidentType:
        """The incident type with this id; InputError listing the valid ids otherwise."""
        found = self.types.get(type_id) if isinstance(type_id, str) else None
        if found is None:
            raise InputError(_unknown(N_("incident type"), type_id, self.types), file=file, field=field)
        return found

    def cause(self, cause_id: str, *, file: str | Path | None = None, field: str | None = None) -> Cause:
        """The cause with this id; InputError listing the valid ids otherwise."""
        found = self.causes.get(cause_id) if isinstance(cause_id, str) else None
        if found is None:
            raise InputError(_unknown(N_("cause"), cause_id, self.causes), file=file, field=field)
        return found

    def checklist(self, type_id: str, cause_id: str | None = None) -> tuple[ChecklistItem, ...]:
        """The review questions: the type's, then the cause's (a question whose id the type has is asked once)."""
        items = list(self.type(type_id).checklist)
        if cause_id:
            ids = {item.id for item in items}
            items += [item for item in self.cause(cause_id).checklist if item.id not in ids]
        return tuple(items)

    def measures(self, type_id: str, cause_id: str | None = None) -> tuple[str, ...]:
        """The recommended measures for the type and the cause, without repeats."""
        measures = list(self.type(type_id).measures)
        if cause_id:
            measures += self.cause(cause_id).measures
        return tuple(dict.fromkeys(measures))

    def report_groups(self) -> tuple[IncidentType, ...]:
        """The types the annual report groups under, in playbook order."""
        used = {entry.report_group for entry in self.types.values()}
        return tuple(entry for entry in self.types.values() if entry.id in used)


# --- loading -----------------------------------------------------------------------------------


def load_taxonomy(extra_dirs: Sequence[Path] = ()) -> Taxonomy:
    """The builtin types and causes plus those of each extra dir's incident-types.toml / causes.toml.

    An extra entry with a builtin id replaces it in place; new ones follow the builtin ones. The first
    extra directory has the last word. Loads are cached by file path, modification time and size.
    """
    stamps: list[tuple[Kind, str, int, int]] = []
    for directory in extra_dirs:
        for kind, name in _FILES.items():
            path = Path(directory) / name
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise InputError(_("cannot read the playbook: {strerror}").format(strerror=exc.strerror), file=path) from exc
            stamps.append((kind, str(path), stat.st_mtime_ns, stat.st_size))
    if not stamps:
        return _builtin_taxonomy()
    return _merged_taxonomy(tuple(stamps))


def check_taxonomy_file(path: str | Path) -> list[InputError]:
    """Every problem in an incident-types or causes file, with line numbers where possible.

    The kind is taken from the file name, else from whether it holds [[type]] or [[cause]] tables.
    A report_group may name a type of the same file or a builtin type.
    """
    try:
        builtin_types = frozenset(_builtin_taxonomy().types)
    except InputError:
        builtin_types = frozenset()  # checking the builtin file itself while it is broken
    problems = _parse_file(Path(path), None, builtin_types)[2]
    return sorted(problems, key=lambda problem: problem.line or 0)


@cache
def _builtin_entries(kind: Kind) -> tuple[Entry, ...]:
    path = builtin_dir("playbooks") / _FILES[kind]
    _kind, indexed, problems, _locator = _parse_file(path, kind)
    raise_problems(problems, path)
    return tuple(entry for _index, entry in indexed)


@cache
def _builtin_taxonomy() -> Taxonomy:
    return _assemble([])


@lru_cache(maxsize=16)
def _merged_taxonomy(stamps: tuple[tuple[Kind, str, int, int], ...]) -> Taxonomy:
    layers: list[tuple[str, tuple[Entry, ...]]] = []
    for kind, path, _mtime, _size in reversed(stamps):
        _kind, indexed, problems, _locator = _parse_file(Path(path), kind)
        raise_problems(problems, Path(path))
        layers.append((path, tuple(entry for _index, entry in indexed)))
    return _assemble(layers)


def _assemble(layers: list[tuple[str, tuple[Entry, ...]]]) -> Taxonomy:
    """The builtin entries, then each layer's, replacing by id in place or appending."""
    builtin = str(builtin_dir("playbooks"))
    types: dict[str, IncidentType] = {}
    causes: dict[str, Cause] = {}
    sources: dict[str, str] = {}
    base: list[tuple[str, tuple[Entry, ...]]] = [
        (f"{builtin}/{TYPES_FILE}", _builtin_entries("type")),
        (f"{builtin}/{CAUSES_FILE}", _builtin_entries("cause")),
    ]
    for path, entries in base + layers:
        for entry in entries:
            if isinstance(entry, IncidentType):
                types[entry.id] = entry
                sources[f"type:{entry.id}"] = path
            else:
                causes[entry.id] = entry
                sources[f"cause:{entry.id}"] = path
    return Taxonomy(types=MappingProxyType(types), causes=MappingProxyType(causes),
                    sources=MappingProxyType(sources))


def _parse_file(
    path: Path, kind: Kind | None, other_types: frozenset[str] | None = None
) -> tuple[Kind | None, list[tuple[int, Entry]], list[InputError], TomlLocator]:
    """The file's kind, its sound entries with their table index, and every problem found.

    With `other_types`, a report_group must name one of them or a type of this file.
    """
    data, locator, problems = read_toml(path)
    if data is None:
        return kind, [], problems, locator
    if kind is None:
        by_name = [k for k, name in _FILES.items() if path.name == name]
        by_content = [k for k in _FILES if k in data]
        guess = by_name or by_content
        if not guess:
            problems.append(InputError(
                _("expected [[type]] tables (an {types_file}) or [[cause]] tables (a {causes_file})")
                .format(types_file=TYPES_FILE, causes_file=CAUSES_FILE), file=path))
            return None, [], problems, locator
        kind = guess[0]
    top = BlockProblems(path, locator, None)
    top.unknown_keys(data, ("schema", "version", kind))
    problems += top.found
    check_header(data, path, locator, problems)
    tables = data.get(kind)
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        problems.append(InputError(_("expected one or more [[{kind}]] tables").format(kind=kind), file=path, field=kind,
                                   line=locator.key_line(None, kind)))
        return kind, [], problems, locator
    entries: list[tuple[int, Entry]] = []
    first_line: dict[str, int | None] = {}
    known = None if other_types is None else other_types | {t.get("id") for t in tables}
    for index, raw in enumerate(tables):
        block = BlockProblems(path, locator, locator.block(kind, index))
        _check_entry(raw, kind, index, block, first_line, known)
        problems += block.found
        if not block.found:
            entries.append((index, _build(raw, kind)))
    return kind, entries, problems, locator


def _check_entry(raw: Mapping[str, Any], kind: Kind, index: int, block: BlockProblems,
                 first_line: dict[str, int | None], known_types: frozenset[object] | None) -> None:
    """Check one [[type]] or [[cause]] table, recording every problem in `block`."""
    fail = block.fail
    entry_id = raw.get("id")
    label = table_label(kind, entry_id, index)
    block.unknown_keys(raw, _KEYS[kind], label)
    if entry_id is None:
        fail(_("{label} has no id").format(label=label), "id")
    elif not isinstance(entry_id, str) or not ID_PATTERN.match(entry_id):
        fail(_("{label}: id must be lower-case words joined by hyphens, e.g. 'misdirected-email'").format(label=label),
             "id")
    elif entry_id in first_line:
        fail(_("duplicate id {id!r} (first at line {line})").format(id=entry_id, line=first_line[entry_id]), "id")
    else:
        first_line[entry_id] = block.header
    for key in ("ja", "en"):
        if raw.get(key) is None:
            fail(_("{label} has no {key} label").format(label=label, key=key), key)
        elif not isinstance(raw[key], str) or not raw[key].strip():
            fail(_("{label}: {key} must be a non-empty string").format(label=label, key=key), key)
    measures = raw.get("measures", [])
    if not isinstance(measures, list) or not all(isinstance(m, str) and m.strip() for m in measures):
        fail(_("{label}: measures must be a list of non-empty strings").format(label=label), "measures")
    if kind == "type":
        if "default_event" not in raw:
            fail(_("{label} has no default_event; valid: {valid}").format(label=label, valid=", ".join(EVENTS)),
                 "default_event")
        elif raw["default_event"] not in EVENTS:
            fail(_("{label}: default_event {value!r} is not one of {valid}").format(
                label=label, value=raw["default_event"], valid=", ".join(EVENTS)),
                 "default_event")
        if "malicious_presumed" in raw and not isinstance(raw["malicious_presumed"], bool):
            fail(_("{label}: malicious_presumed must be true or false, not {value!r}").format(
                label=label, value=raw["malicious_presumed"]),
                 "malicious_presumed")
        group = raw.get("report_group")
        if group is not None and (not isinstance(group, str) or not ID_PATTERN.match(group)):
            fail(_("{label}: report_group must be a type id, not {value!r}").format(label=label, value=group),
                 "report_group")
        elif group is not None and known_types is not None and group not in known_types:
            valid = sorted(str(t) for t in known_types if isinstance(t, str))
            fail(_("{label}: report_group {value!r} is not a type id; valid: {valid}").format(
                label=label, value=group, valid=", ".join(valid)), "report_group")
        if "citation" in raw and (not isinstance(raw["citation"], str) or not raw["citation"].strip()):
            fail(_("{label}: {key} must be a non-empty string").format(label=label, key="citation"), "citation")
        asks = raw.get("asks", [])
        if not isinstance(asks, list) or not all(isinstance(a, str) and a in ASKED_FACTS for a in asks):
            fail(_("{label}: asks must be a list of facts among: {facts}").format(
                label=label, facts=", ".join(ASKED_FACTS)), "asks")
    if kind == "cause" and "annual_share" in raw and not isinstance(raw["annual_share"], bool):
        fail(_("{label}: annual_share must be true or false, not {value!r}").format(
            label=label, value=raw["annual_share"]), "annual_share")
    checklist = raw.get("checklist", [])
    if not isinstance(checklist, list) or not all(isinstance(c, dict) for c in checklist):
        fail(_("{label}: checklist must be [[{kind}.checklist]] tables with id, ja and en").format(
            label=label, kind=kind), "checklist")
        return
    seen: set[str] = set()
    for position, question in enumerate(checklist):
        line = block.locator.block(f"{kind}.checklist", position, parent=(kind, index))
        inline = None if line else (block.locator.key_line(block.header, "checklist") or block.header)
        sub = BlockProblems(block.path, block.locator, line, prefix="checklist.", fixed_line=inline)
        _check_question(question, f"{label}: {numbered_label('checklist', position + 1)}", sub, seen)
        block.found += sub.found


def _check_question(question: Mapping[str, Any], label: str, block: BlockProblems, seen: set[str]) -> None:
    """Check one checklist table (id unique within its type or cause, ja and en)."""
    qid = question.get("id")
    block.unknown_keys(question, _CHECKLIST_KEYS, label)
    if not isinstance(qid, str) or not ID_PATTERN.match(qid):
        block.fail(_("{label}: id must be lower-case words joined by hyphens").format(label=label), "id")
    elif qid in seen:
        block.fail(_("{label}: duplicate checklist id {id!r}").format(label=label, id=qid), "id")
    else:
        seen.add(qid)
    for key in ("ja", "en"):
        if not isinstance(question.get(key), str) or not question[key].strip():
            block.fail(_("{label}: {key} must be a non-empty string").format(label=label, key=key), key)


def _build(raw: Mapping[str, Any], kind: Kind) -> Entry:
    checklist = tuple(ChecklistItem(id=q["id"], ja=q["ja"], en=q["en"]) for q in raw.get("checklist", []))
    measures = tuple(raw.get("measures", []))
    if kind == "cause":
        return Cause(id=raw["id"], ja=raw["ja"], en=raw["en"], measures=measures, checklist=checklist,
                     annual_share=raw.get("annual_share", False))
    return IncidentType(
        id=raw["id"], ja=raw["ja"], en=raw["en"], default_event=cast(Event, raw["default_event"]),
        malicious_presumed=raw.get("malicious_presumed", False), report_group=raw.get("report_group", raw["id"]),
        measures=measures, checklist=checklist, citation=raw.get("citation"), asks=tuple(raw.get("asks", ())),
    )
