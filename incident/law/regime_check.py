"""Reading and checking a regime playbook file, collecting every problem at once.

`read_regime(path)` parses one `playbooks/regimes/*.toml` file into an incident.law.regimes.Regime and lists
every problem it finds (unknown kind, missing citation, bad threshold, unknown placeholder in a reason
template), with the line of the key where it can: a checker collects, so `incident playbooks check`
shows them all. The kinds a file may name are the registries of incident.law.rule_kinds and
incident.law.deadlines.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

from incident import tomlfile
from incident.errors import InputError
from incident.i18n import _
from incident.law.deadlines import DEADLINE_KINDS
from incident.law.regimes import (
    RECIPIENT_PLACEHOLDERS,
    REPORT_KEYS,
    ROLES,
    Condition,
    Deadline,
    Exemption,
    Obligation,
    Regime,
)
from incident.law.report_items import load_report_items
from incident.law.rule_kinds import (
    APPLIES_KINDS,
    CONDITION_KINDS,
    EXEMPTION_KINDS,
    EXEMPTION_PLACEHOLDERS,
    EXEMPTION_STATES,
)
from incident.register.enums import ENTITIES

__all__ = ["parse_regime", "read_regime"]

_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_FORMATTER = string.Formatter()


# --------------------------------------------------------------------------- locating lines


# --------------------------------------------------------------------------- parsing with collected errors


class _Collector:
    def __init__(self, file: str, text: str) -> None:
        self.file = file
        self.lines = tomlfile.TomlLocator(text)
        self.errors: list[InputError] = []

    def add(self, message: str, *, table: str | None = None, index: int | None = None, key: str | None = None,
            where: str | None = None) -> None:
        label = where or ".".join(p for p in ((f"{table}[{index}]" if index is not None else table), key) if p)
        self.errors.append(InputError(message, file=self.file, field=label or None,
                                      line=self.lines.table_line(table, index, key)))


def _text(raw: Mapping[str, Any], key: str, c: _Collector, *, required: bool = True, table: str | None = None,
          index: int | None = None) -> str:
    value = raw.get(key)
    if value is None:
        if required:
            c.add(_("missing {key}").format(key=key), table=table, index=index, key=None if table else key,
                  where=f"{table}[{index}].{key}" if table else key)
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        c.add(_("expected a non-empty string"), table=table, index=index, key=key)
        return ""
    return value


def _templates(raw: Any, placeholders: Mapping[str, frozenset[str]], c: _Collector, table: str,
               index: int, optional: frozenset[str] = frozenset()) -> dict[str, tuple[str, str]]:
    out: dict[str, tuple[str, str]] = {}
    states = tuple(placeholders)
    if not isinstance(raw, dict):
        c.add(_("missing [{table}.reason] table with templates for: {states} (and *_en)").format(
            table=table, states=", ".join(states)),
              table=table, index=index, where=f"{table}[{index}].reason")
        return out
    allowed = set(states) | {f"{s}_en" for s in states}
    for key in raw:
        if key not in allowed:
            c.add(_("unknown reason template {key!r}; expected: {allowed}").format(
                key=key, allowed=", ".join(sorted(allowed))), table=table,
                  index=index, key=key, where=f"{table}[{index}].reason.{key}")
    for state in states:
        if state in optional and state not in raw and f"{state}_en" not in raw:
            continue
        pair = []
        for key in (state, f"{state}_en"):
            template = raw.get(key)
            if not isinstance(template, str) or not template.strip():
                c.add(_("missing reason template {key}").format(key=key), table=table, index=index, key=None,
                      where=f"{table}[{index}].reason.{key}")
                pair.append("")
                continue
            problem = _template_problem(template, placeholders[state])
            if problem:
                c.add(problem, table=table, index=index, key=key, where=f"{table}[{index}].reason.{key}")
            pair.append(template)
        out[state] = (pair[0], pair[1])
    return out


_SAMPLES: dict[str, Any] = {"persons": 1, "threshold": 1, "configured": 1}


def _template_problem(template: str, placeholders: frozenset[str]) -> str | None:
    try:
        names = [f for _literal, f, _spec, _conversion in _FORMATTER.parse(template) if f is not None]
    except ValueError as exc:
        return _("bad template {template!r}: {problem}").format(template=template, problem=exc)
    unknown = [n for n in names if n not in placeholders]
    if unknown:
        return _("unknown placeholder {{{name}}}; this kind offers: {offered}").format(
            name=unknown[0], offered=", ".join(sorted(placeholders)))
    try:
        template.format_map({n: _SAMPLES.get(n, "x") for n in placeholders})
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        return _("bad template {template!r}: {problem}").format(template=template, problem=exc)
    return None


def _params(raw: Mapping[str, Any], specs: Mapping[str, Any], reserved: set[str], c: _Collector, table: str,
            index: int) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for key, value in raw.items():
        if key in reserved:
            continue
        spec = specs.get(key)
        if spec is None:
            valid = sorted(reserved | set(specs))
            c.add(_("unknown key; valid keys here: {valid}").format(valid=", ".join(valid)), table=table, index=index,
                  key=key)
            continue
        problem = spec.check(value)
        if problem:
            c.add(problem, table=table, index=index, key=key)
        params[key] = value
    for key, spec in specs.items():
        if spec.required and key not in raw:
            c.add(_("missing {key} ({help})").format(key=key, help=_(spec.help)), table=table, index=index,
                  where=f"{table}[{index}].{key}")
    return params


def _array(raw: Mapping[str, Any], key: str, c: _Collector) -> list[Mapping[str, Any]]:
    value = raw.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        c.add(_("expected an array of tables ([[{key}]])").format(key=key), key=key)
        return []
    return value


_TOP = {"schema", "id", "name_ja", "name_en", "law", "version", "effective_from", "order", "applies",
        "conditions", "exemptions", "obligations", "notes", "report"}
_CONDITION = {"id", "ja", "en", "citation", "kind", "reason"}
_EXEMPTION = {"id", "ja", "en", "citation", "kind", "reason", "note"}
_OBLIGATION = {"id", "ja", "en", "recipient", "recipient_defaults", "citation", "role", "when", "deadline",
               "items", "note", "by", "entity", "method"}


def parse_regime(raw: Mapping[str, Any], *, file: str = "", text: str = "") -> tuple[Regime | None,
                                                                                     list[InputError]]:
    """Validate a parsed playbook; every problem is collected. The regime is None when there are any."""
    c = _Collector(file, text)
    for key in raw:
        if key not in _TOP:
            c.add(_("unknown key; valid keys: {valid}").format(valid=", ".join(sorted(_TOP))), key=key)
    if raw.get("schema", 1) != 1:
        c.add(_("unsupported schema; expected schema = 1"), key="schema")
    rid = _text(raw, "id", c)
    if rid and not _ID.match(rid):
        c.add(_("bad id {id!r}: use lower-case letters, digits and hyphens").format(id=rid), key="id")
    names = {k: _text(raw, k, c) for k in ("name_ja", "name_en", "law", "version")}
    effective = _effective(raw.get("effective_from"), c)
    order = raw.get("order", 100)
    if isinstance(order, bool) or not isinstance(order, int):
        c.add(_("expected a whole number (display order)"), key="order")
        order = 100
    applies = _applies(raw.get("applies", {}), c)
    conditions = [_condition(t, i, c) for i, t in enumerate(_array(raw, "conditions", c))]
    if not conditions:
        c.add(_("a regime needs at least one [[conditions]] table"), key="conditions")
    ids = [x.id for x in conditions]
    for dup in sorted({i for i in ids if ids.count(i) > 1 and i}):
        c.add(_("duplicate condition id {id!r}").format(id=dup), key="conditions")
    known = frozenset(ids)
    exemptions = [_exemption(t, i, c, known) for i, t in enumerate(_array(raw, "exemptions", c))]
    obligations = [_obligation(t, i, c, known) for i, t in enumerate(_array(raw, "obligations", c))]
    group = [e.id for e in exemptions]
    for dup in sorted({i for i in group if group.count(i) > 1 and i}):
        c.add(_("duplicate exemption id {id!r}").format(id=dup), key="exemptions")
    for n, ob in enumerate(obligations):
        for other in obligations[:n]:
            if ob.id and ob.id == other.id and (not ob.entities or not other.entities
                                                 or set(ob.entities) & set(other.entities)):
                c.add(_("duplicate obligation id {id!r} (two obligations may share an id only when their "
                        "entity lists do not overlap)").format(id=ob.id), key="obligations")
    notes = raw.get("notes", [])
    if not isinstance(notes, list) or not all(isinstance(n, str) for n in notes):
        c.add(_("expected a list of strings"), key="notes")
        notes = []
    report = _report(raw.get("report"), c)
    if c.errors or effective is None:
        return None, c.errors
    regime = Regime(rid, names["name_ja"], names["name_en"], names["law"], names["version"], effective, order,
                    MappingProxyType(applies), tuple(conditions), tuple(exemptions), tuple(obligations),
                    source=file, notes=tuple(notes), condition_ids=known, report=MappingProxyType(report))
    return regime, []


def _report(raw: Any, c: _Collector) -> dict[str, str]:
    """The optional [report] table: every one of REPORT_KEYS as a non-empty string."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        c.add(_("expected a table [report] with {keys}").format(keys=", ".join(REPORT_KEYS)), key="report")
        return {}
    for key in raw:
        if key not in REPORT_KEYS:
            c.add(_("unknown key; valid keys here: {valid}").format(valid=", ".join(REPORT_KEYS)), table="report",
                  key=key)
    out: dict[str, str] = {}
    for key in REPORT_KEYS:
        value = raw.get(key)
        if not isinstance(value, str) or not value.strip():
            c.add(_("missing {key} (a non-empty string)").format(key=key), table="report", where=f"report.{key}")
            continue
        out[key] = value
    return out


def _effective(value: Any, c: _Collector) -> date | None:
    if isinstance(value, datetime):
        c.add(_("bad date: expected a date such as 2024-04-01, not a date and time"), key="effective_from")
        return None
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    c.add(_("bad date {value!r}: expected effective_from = YYYY-MM-DD").format(value=value) if value is not None
          else _("missing effective_from (YYYY-MM-DD, the day this version takes effect)"), key="effective_from")
    return None


def _applies(raw: Any, c: _Collector) -> dict[str, Any]:
    if not isinstance(raw, dict):
        c.add(_("expected a table [applies]"), key="applies")
        return {}
    out: dict[str, Any] = {}
    for kind, value in raw.items():
        spec = APPLIES_KINDS.get(kind)
        if spec is None:
            c.add(_("unknown kind {kind!r}; expected one of: {kinds}").format(kind=kind, kinds=", ".join(APPLIES_KINDS)),
                  table="applies", key=kind)
            continue
        problem = spec.check(value)
        if problem:
            c.add(problem, table="applies", key=kind)
        out[kind] = frozenset(value) if isinstance(value, list) else value
    return out


def _head(t: Mapping[str, Any], i: int, c: _Collector, table: str) -> tuple[str, str, str, str]:
    cid = _text(t, "id", c, table=table, index=i)
    if cid and not _ID.match(cid):
        c.add(_("bad id {id!r}: use lower-case letters, digits and hyphens").format(id=cid), table=table, index=i,
              key="id")
    ja = _text(t, "ja", c, table=table, index=i)
    en = _text(t, "en", c, table=table, index=i)
    citation = _text(t, "citation", c, table=table, index=i)
    return cid, ja, en, citation


def _condition(t: Mapping[str, Any], i: int, c: _Collector) -> Condition:
    cid, ja, en, citation = _head(t, i, c, "conditions")
    kind_name = t.get("kind")
    kind = CONDITION_KINDS.get(kind_name) if isinstance(kind_name, str) else None
    if kind is None:
        c.add(_("unknown kind {kind!r}; expected one of: {kinds}").format(kind=kind_name, kinds=", ".join(CONDITION_KINDS))
              if kind_name is not None else _("missing kind (one of: {kinds})").format(kinds=", ".join(CONDITION_KINDS)),
              table="conditions", index=i, key="kind" if kind_name is not None else None,
              where=f"conditions[{i}].kind")
        return Condition(cid, ja, en, citation, str(kind_name), {}, {})
    params = _params(t, kind.params, _CONDITION, c, "conditions", i)
    reasons = _templates(t.get("reason"), kind.placeholders, c, "conditions", i, kind.optional)
    return Condition(cid, ja, en, citation, str(kind_name), MappingProxyType(params), MappingProxyType(reasons))


def _condition_refs(value: Any, known: frozenset[str], c: _Collector, table: str, i: int, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        c.add(_("expected a list of condition ids"), table=table, index=i, key=key)
        return ()
    for ref in value:
        if ref not in known:
            c.add(_("unknown condition {id!r}; this regime's conditions: {known}").format(
                id=ref, known=", ".join(sorted(known))),
                  table=table, index=i, key=key)
    return tuple(value)


def _exemption(t: Mapping[str, Any], i: int, c: _Collector, known: frozenset[str]) -> Exemption:
    eid, ja, en, citation = _head(t, i, c, "exemptions")
    kind_name = t.get("kind")
    kind = EXEMPTION_KINDS.get(kind_name) if isinstance(kind_name, str) else None
    if kind is None:
        c.add(_("unknown kind {kind!r}; expected one of: {kinds}").format(kind=kind_name, kinds=", ".join(EXEMPTION_KINDS)),
              table="exemptions", index=i, key="kind" if kind_name is not None else None,
              where=f"exemptions[{i}].kind")
    else:
        _params(t, kind.params, _EXEMPTION, c, "exemptions", i)
    removes = _condition_refs(t["removes"], known, c, "exemptions", i, "removes") if "removes" in t else ()
    reasons = _templates(t.get("reason"), {s: EXEMPTION_PLACEHOLDERS for s in EXEMPTION_STATES}, c,
                         "exemptions", i)
    note = t.get("note", "")
    return Exemption(eid, ja, en, citation, str(kind_name), removes, MappingProxyType(reasons),
                     note if isinstance(note, str) else "")


def _obligation(t: Mapping[str, Any], i: int, c: _Collector, known: frozenset[str]) -> Obligation:
    oid, ja, en, citation = _head(t, i, c, "obligations")
    for key in t:
        if key not in _OBLIGATION:
            c.add(_("unknown key; valid keys here: {valid}").format(valid=", ".join(sorted(_OBLIGATION))), table="obligations",
                  index=i, key=key)
    recipient = _text(t, "recipient", c, table="obligations", index=i)
    defaults = t.get("recipient_defaults", {})
    if not isinstance(defaults, dict) or not all(isinstance(v, str) for v in defaults.values()):
        c.add(_("expected a table of strings"), table="obligations", index=i, key="recipient_defaults")
        defaults = {}
    problem = _template_problem(recipient, frozenset(RECIPIENT_PLACEHOLDERS)) if recipient else None
    if problem:
        c.add(problem, table="obligations", index=i, key="recipient")
    elif recipient:
        for _literal, name, _spec, _conversion in _FORMATTER.parse(recipient):
            if name and name not in defaults:
                c.add(_("recipient uses {{{name}}}: give recipient_defaults.{name} for when it is not known").format(
                      name=name),
                      table="obligations", index=i, key="recipient")
    role = t.get("role", "any")
    if role not in ROLES:
        c.add(_("{value!r} is not valid; expected one of: {valid}").format(value=role, valid=", ".join(ROLES)),
              table="obligations", index=i,
              key="role")
    when_raw = t.get("when", [])
    always, otherwise = when_raw == "always", when_raw == "otherwise"
    when = () if always or otherwise else _condition_refs(when_raw, known, c, "obligations", i, "when")
    entities = t.get("entity", [])
    if not isinstance(entities, list) or not all(e in ENTITIES for e in entities):
        c.add(_("expected a list of entities among: {entities}").format(entities=", ".join(ENTITIES)),
              table="obligations", index=i,
              key="entity")
        entities = []
    deadline = _deadline(t.get("deadline"), c, i, known)
    items = t.get("items", [])
    report_items = load_report_items().items
    if not isinstance(items, list) or not items or not all(isinstance(v, str) for v in items):
        c.add(_("expected a non-empty list of notice items ({items})").format(items=", ".join(report_items)),
              table="obligations",
              index=i, key="items")
        items = []
    for item in items:
        if item not in report_items:
            c.add(_("unknown notice item {item!r}; expected any of: {items} (playbooks/notices.toml)").format(
                  item=item, items=", ".join(report_items)),
                  table="obligations", index=i, key="items")
    note, by, method = t.get("note", ""), t.get("by", ""), t.get("method", "")
    for key, value in (("note", note), ("by", by), ("method", method)):
        if not isinstance(value, str):
            c.add(_("expected a string"), table="obligations", index=i, key=key)
    return Obligation(oid, ja, en, recipient, MappingProxyType(dict(defaults)), citation, str(role), when, always,
                      deadline, tuple(items), note if isinstance(note, str) else "", by if isinstance(by, str) else "",
                      entities=tuple(entities), otherwise=otherwise, method=method if isinstance(method, str) else "")


def _deadline(raw: Any, c: _Collector, i: int, known: frozenset[str]) -> Deadline:
    if not isinstance(raw, dict):
        c.add(_("missing deadline table (kind one of: {kinds})").format(kinds=", ".join(DEADLINE_KINDS)),
              table="obligations",
              index=i, where=f"obligations[{i}].deadline")
        return Deadline("none", {})
    kind_name = raw.get("kind")
    kind = DEADLINE_KINDS.get(kind_name) if isinstance(kind_name, str) else None
    if kind is None:
        c.add(_("unknown deadline kind {kind!r}; expected one of: {kinds}").format(
            kind=kind_name, kinds=", ".join(DEADLINE_KINDS)),
              table="obligations", index=i, key="kind", where=f"obligations[{i}].deadline.kind")
        return Deadline("none", {})
    params: dict[str, Any] = {}
    for key, value in raw.items():
        if key in ("kind", "text", "text_en"):
            continue
        spec = kind.params.get(key)
        if spec is None:
            valid = ", ".join(sorted({"kind", "text", "text_en", *kind.params}))
            c.add(_("unknown key; valid keys for a {kind} deadline: {valid}").format(kind=kind_name, valid=valid),
                  table="obligations", index=i,
                  key=key, where=f"obligations[{i}].deadline.{key}")
            continue
        problem = spec.check(value)
        if problem:
            c.add(problem, table="obligations", index=i, key=key, where=f"obligations[{i}].deadline.{key}")
        params[key] = value
    for key, spec in kind.params.items():
        if spec.required and key not in raw:
            c.add(_("missing {key} ({help})").format(key=key, help=_(spec.help)), table="obligations", index=i,
                  where=f"obligations[{i}].deadline.{key}")
    days_if = params.get("days_if")
    if isinstance(days_if, dict) and days_if.get("condition") not in known:
        c.add(_("days_if names unknown condition {id!r}; this regime's conditions: {known}").format(
            id=days_if.get("condition"), known=", ".join(sorted(known))), table="obligations", index=i, key="days_if",
              where=f"obligations[{i}].deadline.days_if")
    text, text_en = raw.get("text", ""), raw.get("text_en", "")
    return Deadline(str(kind_name), MappingProxyType(params), text if isinstance(text, str) else "",
                    text_en if isinstance(text_en, str) else "")


def read_regime(path: Path) -> tuple[Regime | None, list[InputError]]:
    """Read and check one playbook file: the regime (None when there are problems) and every problem."""
    try:
        raw, text = tomlfile.read(path)
    except InputError as exc:
        return None, [exc]
    return parse_regime(raw, file=str(path), text=text)
