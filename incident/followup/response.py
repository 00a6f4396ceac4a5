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

A step's text never writes a figure of the law itself: it quotes it from the regime playbook as
`{regime.rule.key}` — `{appi-business.headcount.more_than}` is the business threshold (1,000),
`{appi-business.regulator-final.deadline.days_if.days}` the 60 days of a malicious act — so that the
text cannot drift from the regime that decides, and follows an organization's own regime files. The
quote takes the regime's latest version; a figure of 1,000 or more is written with a thousands comma.
`incident playbooks check` refuses a quote that names no figure, and a figure with a unit (人, 日,
時間; persons, days, hours; "more than N") written out in a step's `why` text instead of quoted.

Each step's recorded state, when it is due, and recording one are `incident.followup.steps`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from incident.errors import InputError, NotFoundError
from incident.followup.urgencies import Urgency, load_urgencies
from incident.i18n import _
from incident.law.regimes import Regime, RegimeSet, load_regimes
from incident.law.taxonomy import load_taxonomy
from incident.resources import builtin_dir
from incident.tomlfile import (
    ID_PATTERN,
    BlockProblems,
    check_header,
    label_of,
    raise_problems,
    read_toml,
    table_label,
)

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

#: texts a figure may be quoted in; `why` texts must quote the figures of the law they give as reasons
_QUOTING_KEYS = (*_TEXT_KEYS, "question_ja", "question_en")
_WHY_KEYS = ("why_ja", "why_en")
_ID = r"[a-z0-9]+(?:-[a-z0-9]+)*"
#: a regime's figure quoted in a step's text: {regime.rule.key[.key…]}
_QUOTE = re.compile(rf"\{{({_ID})\.({_ID})\.([a-z_]+(?:\.[a-z_]+)*)\}}")
#: a figure of the law written out in a `why` text: a number of 2 or more with a unit of count or time
#: (1人分でも is no threshold; 4月1日 is a date), or "more than N"
_BARE_FIGURE = re.compile(r"(?<![\d,.月/-])(\d{1,3}(?:,\d{3})+|\d+)\s*(?:人|日|時間|persons?\b|people\b|days?\b|hours?\b)"
                          r"|\bmore than (\d{1,3}(?:,\d{3})+|\d+)")


def quoted_figure(regimes: RegimeSet, regime_id: str, rule_id: str, path: str) -> int | float:
    """The figure `{regime_id.rule_id.path}` names in the latest version of a regime.

    `rule_id` is a condition's or an obligation's id; `path` the key of its parameters (`more_than`),
    or of its deadline's (`deadline.hours`, `deadline.days_if.days`). Raises InputError saying what
    would be valid."""
    quote = f"{{{regime_id}.{rule_id}.{path}}}"
    if regime_id not in regimes:
        raise InputError(_("{quote}: no regime {regime!r}; regimes: {valid}")
                         .format(quote=quote, regime=regime_id, valid=", ".join(regimes)))
    regime = regimes[regime_id]
    values = _figures(regime, rule_id)
    if not values:
        rules = [c.id for c in regime.conditions] + [o.id for o in regime.obligations]
        raise InputError(_("{quote}: {regime} has no condition or obligation {rule!r}; valid: {valid}")
                         .format(quote=quote, regime=regime_id, rule=rule_id, valid=", ".join(dict.fromkeys(rules))))
    found: set[int | float] = set()
    for params in values:
        value: Any = params
        for key in path.split("."):
            value = value.get(key) if isinstance(value, Mapping) else None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InputError(_("{quote}: not a figure of {regime}'s {rule!r}; figures: {valid}")
                             .format(quote=quote, regime=regime_id, rule=rule_id,
                                     valid=", ".join(_figure_paths(params)) or "-"))
        found.add(value)
    if len(found) > 1:  # obligations sharing an id for disjoint entities, with different figures
        raise InputError(_("{quote}: {regime}'s {rule!r} has different figures for different entities ({values})")
                         .format(quote=quote, regime=regime_id, rule=rule_id,
                                 values=", ".join(str(v) for v in sorted(found))))
    return found.pop()


def _figures(regime: Regime, rule_id: str) -> list[Mapping[str, Any]]:
    """The parameters a quote may read from each rule of that id: a condition's, an obligation's deadline."""
    tables: list[Mapping[str, Any]] = [c.params for c in regime.conditions if c.id == rule_id]
    tables += [{"deadline": o.deadline.params} for o in regime.obligations if o.id == rule_id]
    return tables


def _figure_paths(table: Mapping[str, Any], prefix: str = "") -> list[str]:
    paths: list[str] = []
    for key, value in table.items():
        if isinstance(value, Mapping):
            paths += _figure_paths(value, f"{prefix}{key}.")
        elif isinstance(value, int | float) and not isinstance(value, bool):
            paths.append(f"{prefix}{key}")
    return paths


def format_figure(value: float) -> str:
    return f"{value:,}" if value >= 1000 else f"{value:g}" if isinstance(value, float) else str(value)


def quote_figures(text: str, regimes: RegimeSet) -> str:
    """`text` with each quoted figure replaced by its value (InputError for one that names none)."""
    return _QUOTE.sub(lambda m: format_figure(quoted_figure(regimes, m[1], m[2], m[3])), text)


def bare_figures(text: str) -> list[str]:
    """The figures of the law a text writes out instead of quoting (numbers below 2 are no threshold)."""
    found = []
    for match in _BARE_FIGURE.finditer(_QUOTE.sub("", text)):
        number = match[1] or match[2]
        if int(number.replace(",", "")) >= 2:
            found.append(match[0])
    return found


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
    playbook = _merged(type_id, stamps)
    if not any("{" in (getattr(s, k) or "") for s in playbook.steps for k in _QUOTING_KEYS):
        return playbook
    return _with_figures(playbook, load_regimes(extra_dirs))


def _with_figures(playbook: ResponsePlaybook, regimes: RegimeSet) -> ResponsePlaybook:
    """The playbook with the regimes' figures in place of the quotes in its steps' texts."""
    steps = []
    for step in playbook.steps:
        changes: dict[str, str] = {}
        for key in _QUOTING_KEYS:
            text = getattr(step, key)
            if text and "{" in text:
                try:
                    changes[key] = quote_figures(text, regimes)
                except InputError as exc:
                    raise InputError(_("step {id!r}: {message}").format(id=step.id, message=exc.message),
                                     file=step.source, field=key) from None
        steps.append(replace(step, **changes) if changes else step)
    return replace(playbook, steps=tuple(steps))


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
            problems.append(InputError(_("step {id!r}: {message}").format(id=patch.id, message=message), file=path,
                                       field=key, line=patch.line))

        values = {k: v for k, v in patch.values.items() if k != "after"}
        if patch.id in merged:
            merged[patch.id].update(values, source=str(path))
        else:
            missing = [k for k in _REQUIRED if k not in values]
            if missing:
                fail(_("a new step (none of that id to change) needs {keys}").format(keys=", ".join(missing)),
                     missing[0])
                continue
            merged[patch.id] = {**{f.name: None for f in fields(Step)}, **values, "source": str(path)}
        if merged[patch.id]["sets"] is not None and merged[patch.id]["question_ja"] is None:
            fail(_("sets {sets!r} but has no question_ja/question_en to ask").format(sets=merged[patch.id]["sets"]),
                 "question_ja")
        after = patch.values.get("after")
        if isinstance(after, str):
            if after not in merged or after == patch.id:
                fail(_("after = {after!r} names no other step; steps: {steps}").format(
                    after=after, steps=", ".join(k for k in merged if k != patch.id)), "after")
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
    parsed, problems = _parse(path, figures=True)
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
    playbooks = path.resolve().parent.parent
    try:
        extra = (playbooks,) if (playbooks / "incident-types.toml").is_file() else ()
        return tuple(load_taxonomy(extra).types)
    except InputError:
        return None


def _parse(path: Path, *, figures: bool = False) -> tuple[_File | None, list[InputError]]:
    """A file's steps and their problems; with `figures`, also its quotes of the regimes' figures and the
    figures its `why` texts write out instead of quoting (the checker's; loading fails only on a quote
    that names no figure)."""
    data, locator, problems = read_toml(path)
    if data is None:
        return None, problems
    top = BlockProblems(path, locator, None)
    top.unknown_keys(data, _TOP_KEYS)
    check_header(data, path, locator, top.found)
    type_id = data.get("type")
    if not isinstance(type_id, str):
        top.fail(_("type must name the incident type, e.g. type = \"misdirected-email\""), "type")
    else:
        known = _known_types(path)
        if known is not None and type_id not in known:
            top.fail(_("unknown incident type {type!r}; valid: {valid}").format(type=type_id, valid=", ".join(known)),
                     "type")
        if path.stem != type_id:
            top.fail(_("the file for type {type!r} must be named {type}.toml").format(type=type_id), "type")
    if "version" not in data:
        top.fail(_("version is missing, e.g. version = \"2024-04-01\""), "version")
    raw_steps = data.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps or not all(isinstance(s, dict) for s in raw_steps):
        top.fail(_("expected one or more [[steps]] tables"), "steps")
        raw_steps = []
    problems += top.found
    patches: list[_Patch] = []
    first: dict[str, int | None] = {}
    regimes = _regimes_beside(path, problems) if figures else None
    for index, raw in enumerate(raw_steps):
        header = locator.block("steps", index)
        found = _check_step(raw, index, BlockProblems(path, locator, header), first)
        if regimes is not None and not found:
            found = _check_figures(raw, BlockProblems(path, locator, header), regimes)
        problems += found
        if not found:
            patches.append(_Patch(id=raw["id"], values=dict(raw), line=header))
    version = data.get("version")
    return _File(path=path, type=type_id if isinstance(type_id, str) else None,
                 version=version if isinstance(version, str) else None, patches=tuple(patches)), problems


def _regimes_beside(path: Path, problems: list[InputError]) -> RegimeSet | None:
    """The regimes a file's quotes read: those of the playbooks folder it sits in over the bundled ones."""
    playbooks = path.resolve().parent.parent
    try:
        return load_regimes((playbooks,) if (playbooks / "regimes").is_dir() else ())
    except InputError as exc:
        problems.append(InputError(_("the figures quoted from the regimes cannot be checked: {message}")
                                   .format(message=exc.message), file=exc.file or path, field=exc.field,
                                   line=exc.line))
        return None


def _check_figures(raw: Mapping[str, Any], block: BlockProblems, regimes: RegimeSet) -> list[InputError]:
    label = label_of("step", raw["id"])
    for key in _QUOTING_KEYS:
        text = raw.get(key)
        if not isinstance(text, str):
            continue
        for match in _QUOTE.finditer(text):
            try:
                quoted_figure(regimes, match[1], match[2], match[3])
            except InputError as exc:
                block.fail(_("{label}: {message}").format(label=label, message=exc.message), key, needle=match[0])
        if key in _WHY_KEYS:
            for figure in bare_figures(text):
                block.fail(_("{label}: {key} writes the figure {figure!r} out; quote it from the regime "
                             "(e.g. {{appi-business.headcount.more_than}}) so that it follows the law's playbook")
                           .format(label=label, key=key, figure=figure), key)
    return block.found


def _check_step(raw: Mapping[str, Any], index: int, block: BlockProblems,
                first: dict[str, int | None]) -> list[InputError]:
    step_id = raw.get("id")
    label = table_label("step", step_id, index)
    if "who" in raw:  # the one-string form of earlier playbooks ("所管課 / department in charge")
        block.fail(_("{label}: who is given in each language: who_ja = \"所管課\" and who_en = \"department in "
                     "charge\"").format(label=label), "who")
    block.unknown_keys({k: v for k, v in raw.items() if k != "who"}, _STEP_KEYS, label)
    if not isinstance(step_id, str) or not ID_PATTERN.match(step_id):
        block.fail(_("{label}: id must be lower-case words joined by hyphens, e.g. 'ask-deletion'").format(label=label),
                   "id")
    elif step_id in first:
        block.fail(_("{label}: duplicate id (first at line {line})").format(label=label, line=first[step_id]), "id")
    else:
        first[step_id] = block.header
    for key in (*_TEXT_KEYS, "question_ja", "question_en", "after"):
        if key in raw and (not isinstance(raw[key], str) or not raw[key].strip()):
            block.fail(_("{label}: {key} must be a non-empty string").format(label=label, key=key), key)
    if "urgency" in raw and raw["urgency"] not in URGENCIES:
        block.fail(_("{label}: urgency {value!r} is not valid; valid: {valid}").format(
            label=label, value=raw["urgency"], valid=", ".join(URGENCIES)), "urgency")
    if "sets" in raw and raw["sets"] not in SETTABLE:
        block.fail(_("{label}: sets {value!r} is not a key a step can settle; valid: {valid}").format(
            label=label, value=raw["sets"], valid=", ".join(SETTABLE)), "sets")
    if ("question_ja" in raw) != ("question_en" in raw):
        block.fail(_("{label}: give both question_ja and question_en, or neither").format(label=label),
                   "question_en" if "question_ja" in raw else "question_ja")
    return block.found
