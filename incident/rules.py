"""The assessment engine: whether an incident must be reported, under every regime that applies, and why.

`prepare(config)` builds an Assessor over the loaded playbooks (regimes, data-item catalogue, incident
types); `Assessor.assess(record)` evaluates each regime's conditions, exemptions and obligations with the
kinds of incident.rule_kinds and returns an `Assessment`, whose `to_json` is the `--json` contract of
`incident assess`. `diff_assessments` says what changed between two assessments.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from incident.rule_kinds import (
    BOOL_FACTS,
    CONDITION_KINDS,
    EXEMPTION_KINDS,
    FLAGS,
    Case,
    CaseItem,
    Evaluate,
    ExemptionView,
    Params,
    applies,
)

__all__ = [
    "AssessConfig",
    "Assessment",
    "Assessor",
    "ConditionResult",
    "ExemptionResult",
    "ObligationResult",
    "RegimeAssessment",
    "assess",
    "combine",
    "diff_assessments",
    "prepare",
]

# --------------------------------------------------------------------------- settings and results


@dataclass(frozen=True)
class AssessConfig:
    """The organization's settings the assessment reads (from the store's config.toml)."""

    tz: str = "Asia/Tokyo"
    #: item ids (or names) the local ordinance lists as 条例要配慮個人情報
    ordinance_special_care: tuple[str, ...] = ()
    #: regimes added to the derived ones for every incident
    default_regimes: tuple[str, ...] = ()
    #: the regulator's name when reports go to a delegated minister (fills {regulator})
    regulator: str = ""
    #: the store's playbooks/ directories, searched before the bundled one
    playbook_dirs: tuple[Path, ...] = ()

    @classmethod
    def from_config(cls, config: Any, playbook_dirs: Sequence[Path] = ()) -> AssessConfig:
        """From incident.config.Config (timezone, ordinance_special_care, regimes, regulator)."""
        return cls(tz=config.timezone, ordinance_special_care=tuple(config.ordinance_special_care),
                   default_regimes=tuple(config.regimes), regulator=config.regulator,
                   playbook_dirs=tuple(playbook_dirs))


class _Reason:
    """A reason rendered from its templates on first use (most callers never read it)."""

    template: tuple[str, str]
    values: Mapping[str, Any]

    @cached_property
    def reason(self) -> str:
        return self.template[0].format_map(_Values(self.values, "ja"))

    @cached_property
    def reason_en(self) -> str:
        return self.template[1].format_map(_Values(self.values, "en"))


@dataclass(frozen=True)
class ConditionResult(_Reason):
    id: str
    label: str
    label_en: str
    #: the answer after exemptions; None when undetermined
    met: bool | None
    citation: str
    #: (Japanese, English) reason templates and their values; read `reason` / `reason_en`
    template: tuple[str, str] = field(repr=False, compare=False)
    values: Mapping[str, Any] = field(repr=False, compare=False)
    #: the exemption that removed it, if any
    exempted_by: str | None = None


@dataclass(frozen=True)
class ExemptionResult(_Reason):
    id: str
    label: str
    label_en: str
    applied: bool
    citation: str
    template: tuple[str, str] = field(repr=False, compare=False)
    values: Mapping[str, Any] = field(repr=False, compare=False)


@dataclass(frozen=True)
class ObligationResult:
    id: str
    label: str
    label_en: str
    recipient: str
    due: str | None
    soft: bool
    items: tuple[str, ...]
    citation: str
    deadline: str
    days: int | None = None
    hours: int | None = None
    day_n: str | None = None
    rolled_past: tuple[str, ...] = ()
    note: str = ""
    due_text: str = ""
    due_text_en: str = ""
    by: str = ""


@dataclass(frozen=True)
class RegimeAssessment:
    regime: str
    name: str
    name_en: str
    law: str
    version: str
    effective_from: date
    reportable: bool | None
    conditions: tuple[ConditionResult, ...]
    exemptions: tuple[ExemptionResult, ...]
    obligations: tuple[ObligationResult, ...]
    missing: tuple[str, ...]
    notes: tuple[str, ...] = ()

    def to_json(self, learned_on: date | None) -> dict[str, Any]:
        return {
            "regime": self.regime, "name": self.name, "name_en": self.name_en, "law": self.law,
            "version": self.version, "effective_from": self.effective_from.isoformat(),
            "reportable": self.reportable,
            "conditions": [{"id": c.id, "met": c.met, "reason": c.reason, "citation": c.citation,
                            "label": c.label, "label_en": c.label_en, "reason_en": c.reason_en,
                            "exempted_by": c.exempted_by} for c in self.conditions],
            "exemptions": [{"id": e.id, "applied": e.applied, "reason": e.reason, "citation": e.citation,
                            "label": e.label, "label_en": e.label_en, "reason_en": e.reason_en}
                           for e in self.exemptions],
            "obligations": [{"id": o.id, "recipient": o.recipient, "due": o.due, "soft": o.soft,
                             "items": list(o.items), "label": o.label, "label_en": o.label_en,
                             "citation": o.citation, "deadline": o.deadline, "days": o.days, "hours": o.hours,
                             "day_n": o.day_n, "rolled_past": list(o.rolled_past),
                             "learned_on": learned_on.isoformat() if learned_on else None, "note": o.note,
                             "due_text": o.due_text, "due_text_en": o.due_text_en, "by": o.by}
                            for o in self.obligations],
            "missing": list(self.missing),
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class Assessment:
    """The answer for one incident under every regime that applies."""

    reportable: bool | None
    learned_on: date | None
    timezone: str
    assessments: tuple[RegimeAssessment, ...]

    def to_json(self, incident_id: str | None) -> dict[str, Any]:
        return {"incident": incident_id, "reportable": self.reportable,
                "learned_on": self.learned_on.isoformat() if self.learned_on else None,
                "timezone": self.timezone,
                "assessments": [a.to_json(self.learned_on) for a in self.assessments]}

    @property
    def playbooks(self) -> dict[str, dict[str, str]]:
        """The playbook versions used: {regime: {version, effective_from}}."""
        return {a.regime: {"version": a.version, "effective_from": a.effective_from.isoformat()}
                for a in self.assessments}


def combine(values: Iterable[bool | None]) -> bool | None:
    """True when any is true; else None when any is undetermined; else False."""
    seen_none = False
    for value in values:
        if value is True:
            return True
        if value is None:
            seen_none = True
    return None if seen_none else False


class _Values(dict[str, Any]):
    """Template values rendered in one language: a tuple of items becomes their names."""

    def __init__(self, values: Mapping[str, Any], lang: str) -> None:
        super().__init__()
        for key, value in values.items():
            if isinstance(value, tuple):
                names = [i.ja if lang == "ja" else i.en for i in value]
                value = ("、" if lang == "ja" else ", ").join(names) if names else "—"
            elif hasattr(value, "ja") and hasattr(value, "en"):
                value = value.ja if lang == "ja" else value.en
            elif isinstance(value, bool):
                value = "true" if value else "false"
            self[key] = value


_NO_PARAMS: Mapping[str, Any] = {}
#: a regime's (conditions with evaluator and item_based, exemptions with view, conditions by id)
_Plan = tuple[list[tuple[Any, Evaluate, bool]], list[tuple[Any, Callable[[Params, Case], ExemptionView]]],
              dict[str, Any]]


class Assessor:
    """Assesses records against loaded regimes; build it once and assess many records (it caches)."""

    def __init__(self, regimes: Any, catalogue: Any, taxonomy: Any, config: AssessConfig) -> None:
        self.regimes = regimes
        self.catalogue = catalogue
        self.config = config
        self._presumed = frozenset(tid for tid, t in taxonomy.types.items() if getattr(t, "malicious_presumed", False))
        self._items: dict[tuple[str, bool, bool], CaseItem] = {}
        self._derived: dict[tuple[date | None, str, frozenset[str], frozenset[str]], list[str]] = {}
        self._versions: dict[tuple[str, date | None], tuple[Any, bool]] = {}
        self._obligation_cache: dict[tuple[Any, ...], ObligationResult] = {}
        self._exemption_cache: dict[tuple[Any, ...], ExemptionResult] = {}
        self._plans: dict[int, tuple[_Plan, Any]] = {}
        ordinance = frozenset(self._item(name, False, False).id for name in config.ordinance_special_care)
        self._settings: Mapping[str, frozenset[str]] = {"ordinance_special_care": ordinance}

    def _item(self, name: str, encrypted: bool, key_compromised: bool) -> CaseItem:
        key = (name, encrypted, key_compromised)
        found = self._items.get(key)
        if found is None:
            item = self.catalogue.items.get(name) or self.catalogue.resolve(name)
            flags = frozenset(f for f in FLAGS if getattr(item, f, False))
            found = CaseItem(item.id, item.ja, item.en, flags, encrypted and not key_compromised)
            self._items[key] = found
        return found

    def case(self, record: Any) -> Case:
        facts = record.facts
        malicious = facts.get("malicious")
        items = tuple(self._item(d.item, d.encrypted, d.key_compromised) for d in record.data)
        return Case(
            entity=str(facts.get("entity") or ""), role=str(facts.get("role") or "controller"),
            entruster=str(facts.get("entruster") or ""), type=str(facts.get("type") or ""),
            persons=facts.get("persons"), malicious=malicious,
            malicious_presumed=facts.get("type") in self._presumed,
            bools={name: facts.get(name) for name in BOOL_FACTS},
            risk_level=facts.get("risk_level"),
            countries=frozenset(str(c).upper() for c in facts.get("subject_countries") or ()),
            items=items, flags=frozenset().union(*(i.flags for i in items)), settings=self._settings,
        )

    def select(self, record: Any, case: Case, on: date | None) -> list[tuple[Any, bool]]:
        """The regime versions that apply: the record's `regimes`, else derived plus the configured ones."""
        from incident.errors import InputError

        named = [str(r) for r in record.facts.get("regimes") or ()]
        if named:
            ids, source = list(dict.fromkeys(named)), "regimes"
        else:
            if not case.entity:
                raise InputError("missing; the assessment needs the entity (business, public-body or council) "
                                 "or an explicit regimes list", field="entity")
            key = (on, case.entity, case.flags, case.countries)
            derived = self._derived.get(key)
            if derived is None:
                derived = [rid for rid in self.regimes if applies(self._version(rid, on)[0].applies, case)]
                derived += [rid for rid in self.config.default_regimes if rid not in derived]
                self._derived[key] = derived
            ids, source = derived, "regimes (config)"
        for rid in ids:
            if rid not in self.regimes:
                raise InputError(f"unknown regime {rid!r}; known regimes: {', '.join(self.regimes)}", field=source)
        chosen = [self._version(rid, on) for rid in ids]
        return sorted(chosen, key=lambda pair: (pair[0].order, pair[0].id))

    def _version(self, rid: str, on: date | None) -> tuple[Any, bool]:
        found = self._versions.get((rid, on))
        if found is None:
            found = (self.regimes[rid], False) if on is None else self.regimes.in_force(rid, on)
            self._versions[(rid, on)] = found
        return found

    def assess(self, record: Any) -> Assessment:
        from incident.dates import to_local_date

        discovered = record.facts.get("discovered_at")
        learned = to_local_date(discovered, self.config.tz) if isinstance(discovered, datetime) else None
        case = self.case(record)
        results = tuple(self._regime(regime, fallback, case, learned, discovered if learned else None)
                        for regime, fallback in self.select(record, case, learned))
        return Assessment(combine(r.reportable for r in results), learned, self.config.tz, results)

    def _plan(self, regime: Any) -> _Plan:
        """The regime's conditions and exemptions with their evaluators looked up once."""
        found = self._plans.get(id(regime))
        if found is None or found[1] is not regime:
            conds = [(c, CONDITION_KINDS[c.kind].evaluate, CONDITION_KINDS[c.kind].item_based)
                     for c in regime.conditions]
            exs = [(ex, EXEMPTION_KINDS[ex.kind].view) for ex in regime.exemptions]
            found = ((conds, exs, {c.id: c for c in regime.conditions}), regime)
            self._plans[id(regime)] = found
        return found[0]

    def _regime(self, regime: Any, fallback: bool, case: Case, learned: date | None,
                discovered: datetime | None) -> RegimeAssessment:
        plan, exs, labels = self._plan(regime)
        views = [(ex, view(_NO_PARAMS, case)) for ex, view in exs]
        removed: dict[str, list[str]] = {ex.id: [] for ex, _ in exs}
        conditions: list[ConditionResult] = []
        missing: list[str] = []
        for cond, evaluate, item_based in plan:
            outcome = evaluate(cond.params, case, case.items)
            first = None
            if outcome.met is not False:
                for ex, view in views:
                    if not view.holds or (ex.removes and cond.id not in ex.removes):
                        continue
                    if view.remaining is None:
                        gone = True
                    elif item_based:
                        gone = evaluate(cond.params, case, view.remaining).met is False
                    else:
                        gone = not view.remaining and bool(case.items)
                    if gone:
                        removed[ex.id].append(cond.id)
                        first = first or (ex, view)
            if first is not None:
                ex, view = first
                items = outcome.values.get("items", ()) if item_based else view.protected
                values = {"items": items, "conditions": (cond,), "citation": ex.citation, "label": cond}
                conditions.append(ConditionResult(cond.id, cond.ja, cond.en, False, cond.citation,
                                                  ex.reasons["removed"], values, ex.id))
                continue
            values = {**outcome.values, "citation": cond.citation, "label": cond}
            conditions.append(ConditionResult(cond.id, cond.ja, cond.en, outcome.met, cond.citation,
                                              cond.reasons[outcome.state], values))
            for fact in outcome.missing:
                if fact not in missing:
                    missing.append(fact)
        exemptions = tuple(self._exemption(ex, view, tuple(removed[ex.id]), labels) for ex, view in views)
        reportable = combine(c.met for c in conditions)
        obligations = self._obligations(regime, case, conditions, reportable, learned, discovered, missing)
        notes = regime.notes
        if fallback:
            notes = (*notes, (f"No version of {regime.id} was in force on {learned}; the earliest version "
                             f"(effective {regime.effective_from}) was used."))
        return RegimeAssessment(regime.id, regime.name_ja, regime.name_en, regime.law, regime.version,
                                regime.effective_from, reportable, tuple(conditions), exemptions, obligations,
                                tuple(missing), notes)

    def _exemption(self, ex: Any, view: ExemptionView, removed: tuple[str, ...],
                   labels: Mapping[str, Any]) -> ExemptionResult:
        key = (id(ex), view.holds, removed, view.protected)
        result = self._exemption_cache.get(key)
        if result is None:
            state = "applied" if removed else ("no_effect" if view.holds else "not_applied")
            values = {"items": view.protected, "conditions": tuple(labels[cid] for cid in removed),
                      "citation": ex.citation, "label": ex}
            result = ExemptionResult(ex.id, ex.ja, ex.en, bool(removed), ex.citation, ex.reasons[state], values)
            if len(self._exemption_cache) > 50_000:
                self._exemption_cache.clear()
            self._exemption_cache[key] = result
        return result

    def _obligations(self, regime: Any, case: Case, conditions: Sequence[ConditionResult],
                     reportable: bool | None, learned: date | None, discovered: datetime | None,
                     missing: list[str]) -> tuple[ObligationResult, ...]:
        from incident.deadlines import compute_due

        met = {c.id: c.met for c in conditions}
        out: list[ObligationResult] = []
        for ob in regime.obligations:
            if ob.role != "any" and ob.role != case.role:
                continue
            triggered = reportable is True and any(met[c] is True for c in (ob.when or met))
            if not (ob.always or triggered):
                continue
            deadline = ob.deadline
            if learned is None and deadline.kind != "none" and "discovered_at" not in missing:
                missing.append("discovered_at")
            if not case.entruster and "{entruster}" in ob.recipient and "entruster" not in missing:
                missing.append("entruster")
            switch = deadline.params.get("days_if")
            key = (id(ob), learned, met.get(switch["condition"]) if switch else None,
                   discovered if deadline.kind == "hours" else None, case.entruster)
            result = self._obligation_cache.get(key)
            if result is None:
                due = compute_due(deadline.kind, deadline.params, met=met, learned=learned, discovered=discovered)
                fill = dict(ob.recipient_defaults)
                if case.entruster:
                    fill["entruster"] = case.entruster
                if self.config.regulator:
                    fill["regulator"] = self.config.regulator
                result = ObligationResult(
                    ob.id, ob.ja, ob.en, ob.recipient.format_map(fill), due.due, due.soft, ob.items, ob.citation,
                    deadline.kind, due.days, due.hours, due.day_n, due.rolled_past, ob.note, deadline.text,
                    deadline.text_en, ob.by)
                if len(self._obligation_cache) > 50_000:
                    self._obligation_cache.clear()
                self._obligation_cache[key] = result
            out.append(result)
        return tuple(out)


_ASSESSORS: dict[AssessConfig, Assessor] = {}


def prepare(config: AssessConfig | None = None, *, regimes: Any = None, catalogue: Any = None,
            taxonomy: Any = None) -> Assessor:
    """An Assessor for the config, loading (cached) whatever is not given."""
    config = config or AssessConfig()
    if regimes is None and catalogue is None and taxonomy is None:
        from incident.regimes import load_regimes

        current = load_regimes(config.playbook_dirs)
        cached = _ASSESSORS.get(config)
        if cached is not None and cached.regimes is current:
            return cached
    dirs = config.playbook_dirs
    if regimes is None:
        from incident.regimes import load_regimes

        regimes = load_regimes(dirs)
    elif not hasattr(regimes, "in_force"):
        from incident.regimes import RegimeSet

        regimes = RegimeSet(list(regimes.values()))  # a plain {id: Regime} mapping
    if catalogue is None:
        from incident.catalogue import load_catalogue

        catalogue = load_catalogue(dirs)
    if taxonomy is None:
        from incident.taxonomy import load_taxonomy

        taxonomy = load_taxonomy(dirs)
    assessor = Assessor(regimes, catalogue, taxonomy, config)
    if len(_ASSESSORS) > 8:
        _ASSESSORS.clear()
    _ASSESSORS[config] = assessor
    return assessor


def assess(record: Any, *, regimes: Any = None, catalogue: Any = None, config: AssessConfig | None = None,
           taxonomy: Any = None) -> Assessment:
    """Assess one incident record under every regime that applies (see BRIEF.md and the playbooks)."""
    return prepare(config, regimes=regimes, catalogue=catalogue, taxonomy=taxonomy).assess(record)


# --------------------------------------------------------------------------- what changed


def _word(value: Any) -> str:
    return {True: "true", False: "false", None: "undetermined"}.get(value, str(value))


def diff_assessments(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> list[str]:
    """Plain sentences saying what changed between two assessment JSONs ("special-care: now met")."""
    if not old:
        return []
    out: list[str] = []
    if old.get("reportable") != new.get("reportable"):
        out.append(f"reportable: {_word(old.get('reportable'))} → {_word(new.get('reportable'))}")
    before = {a["regime"]: a for a in old.get("assessments", [])}
    after = {a["regime"]: a for a in new.get("assessments", [])}
    for rid in before:
        if rid not in after:
            out.append(f"{rid}: no longer applies")
    for rid, a in after.items():
        b = before.get(rid)
        if b is None:
            out.append(f"{rid}: now applies (reportable: {_word(a.get('reportable'))})")
            for ob in a.get("obligations", []):
                out.append(_new_obligation(rid, ob))
            continue
        if b.get("version") != a.get("version"):
            out.append(f"{rid}: playbook version {b.get('version')} → {a.get('version')}")
        if b.get("reportable") != a.get("reportable"):
            out.append(f"{rid}: reportable: {_word(b.get('reportable'))} → {_word(a.get('reportable'))}")
        old_met = {c["id"]: c.get("met") for c in b.get("conditions", [])}
        for c in a.get("conditions", []):
            if c["id"] in old_met and old_met[c["id"]] != c.get("met"):
                state = {True: "now met", False: "now not met", None: "now undetermined"}[c.get("met")]
                out.append(f"{rid}: {c['id']}: {state}")
        old_obs = {o["id"]: o for o in b.get("obligations", [])}
        new_obs = {o["id"]: o for o in a.get("obligations", [])}
        for oid, ob in new_obs.items():
            prev = old_obs.get(oid)
            if prev is None:
                out.append(_new_obligation(rid, ob))
            elif prev.get("due") != ob.get("due"):
                out.append(f"{rid}: {oid}: deadline {prev.get('due') or 'none'} → {ob.get('due') or 'none'}")
        for oid in old_obs:
            if oid not in new_obs:
                out.append(f"{rid}: {oid}: no longer required")
        old_missing, new_missing = set(b.get("missing", [])), a.get("missing", [])
        for fact in sorted(old_missing - set(new_missing)):
            out.append(f"{rid}: {fact}: now known")
        for fact in new_missing:
            if fact not in old_missing:
                out.append(f"{rid}: {fact}: now missing")
    return out


def _new_obligation(rid: str, ob: Mapping[str, Any]) -> str:
    if ob.get("due"):
        return f"{rid}: {ob['id']}: new deadline {ob['due']}"
    return f"{rid}: {ob['id']}: now required"
