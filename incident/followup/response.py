"""Response playbooks (初動対応): the first steps for each incident type, and each step's state.

`playbooks/response/<type>.toml` lists the steps of the initial response in order: what to do, why, who
usually does it, how urgent it is, and, where a step settles a fact of the record, which key it sets.
An organization changes them with a same-named file in its store's `playbooks/response/`:

* the file's steps are merged into the bundled playbook of the same type **by step id**: a step whose id
  exists replaces only the keys the file gives (a new `title_ja` alone is enough to retitle a step);
  a step with a new id is added, with every required key, after the step named by its `after` key
  (at the end when it has none); an existing step given `after` moves there;
* a type with no bundled playbook (an organization's own type) needs a complete file; a type with
  no playbook at all uses the `other` playbook.

Each step's recorded state, when it is due, and recording one are `incident.followup.steps`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from incident.errors import InputError, NotFoundError
from incident.followup.urgencies import Urgency, load_urgencies
from incident.i18n import _
from incident.resources import builtin_dir
from incident.tomlfile import ID_PATTERN, BlockProblems, check_header, raise_problems, read_toml

SUBDIR = "response"
FALLBACK_TYPE = "other"


#: The urgencies a step may have, in order of urgency (playbooks/urgencies.toml).
URGENCIES: Mapping[str, Urgency] = load_urgencies()

#: Steps every complete playbook has: fix the number of persons and the data items, tell management.
COMMON_STEPS: Mapping[str, str | None] = {"count-persons": "persons", "list-items": "items",
                                          "inform-management": None}

#: Data-item keys a step may settle: the item list, or a flag on the record's items.
ITEM_KEYS = ("items", "encrypted", "key_compromised")
#: Record facts a step may settle (each is a key of incident.register.record.FIELDS).
FACT_KEYS = ("recovered", "malicious", "persons", "published", "mynumber_system", "risk_level", "copy_exists",
             "being_acquired",
             "subject_countries", "event", "certainty", "discovered_at", "occurred_at", "found_by",
             "secondary_harm", "cause", "response_to_individuals", "publication")
SETTABLE: tuple[str, ...] = (*ITEM_KEYS, *FACT_KEYS)

_TEXT_KEYS = ("title_ja", "title_en", "do_ja", "do_en", "why_ja", "why_en", "who_ja", "who_en")
_REQUIRED = (*_TEXT_KEYS, "urgency")
_STEP_KEYS = ("id", *_REQUIRED, "sets", "question_ja", "question_en", "after")
_TOP_KEYS = ("schema", "type", "version", "steps")


@dataclass(frozen=True)
class Step:
    """One step of the initial response."""

    id: str
    title_ja: str
    title_en: str
    do_ja: str
    do_en: str
    why_ja: str
    why_en: str
    who_ja: str
    """Who usually does it (所管課, 情報システム担当 …)."""
    who_en: str
    """The same in English (department in charge, IT team …)."""
    urgency: str
    """A key of URGENCIES."""
    sets: str | None = None
    """The record key the step settles (a key of SETTABLE), if any."""
    question_ja: str | None = None
    """What the officer is asked when the step is done (with `sets`; without it the answer is only noted)."""
    question_en: str | None = None
    source: str = ""
    """The file that gave the step its last change."""

    @property
    def asks(self) -> bool:
        return self.question_ja is not None


@dataclass(frozen=True)
class ResponsePlaybook:
    """The merged playbook for one incident type."""

    type: str
    version: str
    steps: tuple[Step, ...]
    sources: tuple[str, ...]
    #: the type had no playbook of its own; this is the `other` playbook
    fallback: bool = False

    def step(self, step_id: str) -> Step:
        for step in self.steps:
            if step.id == step_id:
                return step
        raise NotFoundError(_("no step {step_id!r} in the {type} response playbook; steps: {join}")
                            .format(step_id=step_id, type=self.type, join=', '.join(s.id for s in self.steps)), field="STEP")


@dataclass(frozen=True)
class _Patch:
    """A step as one file gives it: the keys present, and the line of its [[steps]] header."""

    id: str
    values: Mapping[str, Any]
    line: int | None


@dataclass(frozen=True)
class _File:
    path: Path
    type: str | None
    version: str | None
    patches: tuple[_Patch, ...]


# --- loading -----------------------------------------------------------------------------------


def builtin_path(type_id: str) -> Path:
    return builtin_dir("playbooks") / SUBDIR / f"{type_id}.toml"


def load_response(type_id: str, extra_dirs: Sequence[Path] = ()) -> ResponsePlaybook:
    """The playbook for `type_id`: the bundled file, then each extra dir's `response/<type>.toml` over it.

    The first extra directory has the last word. A type without any playbook gets the `other` one.
    Problems raise (all of a file's problems at once, as MultipleErrors).
    """
    paths = [p for p in (builtin_path(type_id), *(Path(d) / SUBDIR / f"{type_id}.toml"
                                                  for d in reversed(tuple(extra_dirs)))) if p.is_file()]
    if not paths:
        if type_id == FALLBACK_TYPE:
            raise InputError(_("no response playbook for {fallback_type!r}; reinstall incident")
                             .format(fallback_type=FALLBACK_TYPE),
                             file=builtin_path(type_id))
        return replace(load_response(FALLBACK_TYPE, extra_dirs), fallback=True)
    stamps = tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in paths)
    return _merged(type_id, stamps)


@lru_cache(maxsize=64)
def _merged(type_id: str, stamps: tuple[tuple[str, int, int], ...]) -> ResponsePlaybook:
    merged: dict[str, dict[str, Any]] = {}
    version = ""
    for path_text, _mtime, _size in stamps:
        path = Path(path_text)
        parsed, problems = _parse(path)
        if parsed is not None:
            problems += _merge(merged, parsed, path)
            version = parsed.version or version
        raise_problems(sorted(problems, key=_by_line), path)
    steps = tuple(Step(**values) for values in merged.values())
    return ResponsePlaybook(type=type_id, version=version, steps=steps, sources=tuple(s[0] for s in stamps))


def _merge(merged: dict[str, dict[str, Any]], parsed: _File, path: Path) -> list[InputError]:
    """Apply one file's steps to the steps so far (in place); the problems of the result."""
    problems: list[InputError] = []
    for patch in parsed.patches:
        def fail(message: str, key: str, patch: _Patch = patch) -> None:
            problems.append(InputError(_("step {id!r}: {message}").format(id=patch.id, message=message), file=path, field=key, line=patch.line))

        values = {k: v for k, v in patch.values.items() if k != "after"}
        if patch.id in merged:
            merged[patch.id].update(values, source=str(path))
        else:
            missing = [k for k in _REQUIRED if k not in values]
            if missing:
                fail(f"a new step (none of that id to change) needs {', '.join(missing)}", missing[0])
                continue
            merged[patch.id] = {**{f.name: None for f in fields(Step)}, **values, "source": str(path)}
        if merged[patch.id]["sets"] is not None and merged[patch.id]["question_ja"] is None:
            fail(f"sets {merged[patch.id]['sets']!r} but has no question_ja/question_en to ask", "question_ja")
        after = patch.values.get("after")
        if isinstance(after, str):
            if after not in merged or after == patch.id:
                fail(f"after = {after!r} names no other step; steps: "
                     f"{', '.join(k for k in merged if k != patch.id)}", "after")
                continue
            items = [(k, v) for k, v in merged.items() if k != patch.id]
            items.insert([k for k, _unused in items].index(after) + 1, (patch.id, merged[patch.id]))
            merged.clear()
            merged.update(items)
    return problems


def check_response_file(path: str | Path) -> list[InputError]:
    """Every problem in a response playbook file, with line numbers; [] when it is sound.

    A file whose type has a bundled playbook is checked as a change to it (new steps must be complete);
    the bundled file itself, and a file for a type without one, must be complete and have the common
    steps (COMMON_STEPS).
    """
    path = Path(path)
    parsed, problems = _parse(path)
    if parsed is None or parsed.type is None:
        return sorted(problems, key=_by_line)
    base = builtin_path(parsed.type)
    merged: dict[str, dict[str, Any]] = {}
    complete = not base.is_file() or base.resolve() == path.resolve()
    if not complete:
        try:
            merged = {s.id: {f.name: getattr(s, f.name) for f in fields(Step)} for s in
                      load_response(parsed.type).steps}
        except InputError:
            complete = True  # the bundled file is broken itself: check this one on its own
    problems += _merge(merged, parsed, path)
    if complete:
        for step_id, sets in COMMON_STEPS.items():
            if step_id not in merged:
                what = f" (sets = {sets!r})" if sets else ""
                problems.append(InputError(_("a complete playbook needs the step {step_id!r}{what}")
                                           .format(step_id=step_id, what=what), file=path,
                                           field="steps"))
            elif merged[step_id].get("sets") != sets and sets is not None:
                problems.append(InputError(_("step {step_id!r} must have sets = {sets!r}")
                                           .format(step_id=step_id, sets=sets), file=path,
                                           field="sets", line=next((p.line for p in parsed.patches
                                                                    if p.id == step_id), None)))
    return sorted(problems, key=_by_line)


def _by_line(problem: InputError) -> tuple[bool, int]:
    """Problems in line order; those of the whole file (no line) last."""
    return problem.line is None, problem.line or 0


def _known_types(path: Path) -> tuple[str, ...] | None:
    """Type ids a file may name: the builtin ones plus those of the playbooks dir it sits in."""
    from incident.law.taxonomy import load_taxonomy

    playbooks = path.resolve().parent.parent
    try:
        extra = (playbooks,) if (playbooks / "incident-types.toml").is_file() else ()
        return tuple(load_taxonomy(extra).types)
    except InputError:
        return None


def _parse(path: Path) -> tuple[_File | None, list[InputError]]:
    data, locator, problems = read_toml(path)
    if data is None:
        return None, problems
    top = BlockProblems(path, locator, None)
    top.unknown_keys(data, _TOP_KEYS)
    check_header(data, path, locator, top.found)
    type_id = data.get("type")
    if not isinstance(type_id, str):
        top.fail("type must name the incident type, e.g. type = \"misdirected-email\"", "type")
    else:
        known = _known_types(path)
        if known is not None and type_id not in known:
            top.fail(f"unknown incident type {type_id!r}; valid: {', '.join(known)}", "type")
        if path.stem != type_id:
            top.fail(f"the file for type {type_id!r} must be named {type_id}.toml", "type")
    if "version" not in data:
        top.fail("version is missing, e.g. version = \"2024-04-01\"", "version")
    raw_steps = data.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps or not all(isinstance(s, dict) for s in raw_steps):
        top.fail("expected one or more [[steps]] tables", "steps")
        raw_steps = []
    problems += top.found
    patches: list[_Patch] = []
    first: dict[str, int | None] = {}
    for index, raw in enumerate(raw_steps):
        header = locator.block("steps", index)
        found = _check_step(raw, index, BlockProblems(path, locator, header), first)
        problems += found
        if not found:
            patches.append(_Patch(id=raw["id"], values=dict(raw), line=header))
    version = data.get("version")
    return _File(path=path, type=type_id if isinstance(type_id, str) else None,
                 version=version if isinstance(version, str) else None, patches=tuple(patches)), problems


def _check_step(raw: Mapping[str, Any], index: int, block: BlockProblems,
                first: dict[str, int | None]) -> list[InputError]:
    step_id = raw.get("id")
    label = f"step {step_id!r}" if isinstance(step_id, str) else f"step #{index + 1}"
    if "who" in raw:  # the one-string form of earlier playbooks ("所管課 / department in charge")
        block.fail(f"{label}: who is given in each language: who_ja = \"所管課\" and who_en = \"department in "
                   "charge\"", "who")
    block.unknown_keys({k: v for k, v in raw.items() if k != "who"}, _STEP_KEYS, label)
    if not isinstance(step_id, str) or not ID_PATTERN.match(step_id):
        block.fail(f"{label}: id must be lower-case words joined by hyphens, e.g. 'ask-deletion'", "id")
    elif step_id in first:
        block.fail(f"{label}: duplicate id (first at line {first[step_id]})", "id")
    else:
        first[step_id] = block.header
    for key in (*_TEXT_KEYS, "question_ja", "question_en", "after"):
        if key in raw and (not isinstance(raw[key], str) or not raw[key].strip()):
            block.fail(f"{label}: {key} must be a non-empty string", key)
    if "urgency" in raw and raw["urgency"] not in URGENCIES:
        block.fail(f"{label}: urgency {raw['urgency']!r} is not valid; valid: {', '.join(URGENCIES)}", "urgency")
    if "sets" in raw and raw["sets"] not in SETTABLE:
        block.fail(f"{label}: sets {raw['sets']!r} is not a key a step can settle; valid: {', '.join(SETTABLE)}",
                   "sets")
    if ("question_ja" in raw) != ("question_en" in raw):
        block.fail(f"{label}: give both question_ja and question_en, or neither",
                   "question_en" if "question_ja" in raw else "question_ja")
    return block.found
