"""The assessment engine: whether an incident must be reported, under every regime that applies, and why.

`prepare(config)` builds an Assessor over the loaded playbooks (regimes, data-item catalogue, incident
types); `Assessor.assess(record)` evaluates each regime's conditions, exemptions and obligations with the
kinds of incident.law.rule_kinds and returns an `Assessment` (incident.law.assessment holds the result types and
their JSON, the `--json` contract of `incident assess`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal, NamedTuple

from incident.dates import to_local_date
from incident.errors import InputError
from incident.i18n import _
from incident.law.assessment import (
    Assessment,
    ConditionResult,
    ExemptionResult,
    ObligationResult,
    ReasonValue,
    RegimeAssessment,
    combine,
)
from incident.law.catalogue import load_catalogue
from incident.law.deadlines import compute_due
from incident.law.regimes import RegimeSet, load_regimes
from incident.law.rule_kinds import (
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
from incident.law.sectors import sector_of
from incident.law.taxonomy import load_taxonomy

if TYPE_CHECKING:
    from incident.law.catalogue import Catalogue
    from incident.law.regimes import Condition, Exemption, Obligation, Regime
    from incident.law.sectors import Sector
    from incident.law.taxonomy import Taxonomy
    from incident.register.config import Config
    from incident.register.record import Record

__all__ = ["AssessConfig", "Assessor", "assess", "prepare"]

# --------------------------------------------------------------------------- settings


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
    #: the organization's sector (playbooks/sectors.toml): its routing fills {regulator} and the method, and
    #: its further obligations join the sector's regime
    sector: str = ""
    #: the store's playbooks/ directories, searched before the bundled one
    playbook_dirs: tuple[Path, ...] = ()

    @classmethod
    def from_config(cls, config: Config, playbook_dirs: Sequence[Path] = ()) -> AssessConfig:
        """From the store's config (timezone, ordinance_special_care, regimes, regulator, sector)."""
        return cls(tz=config.timezone, ordinance_special_care=tuple(config.ordinance_special_care),
                   default_regimes=tuple(config.regimes), regulator=config.regulator,
                   sector=config.sector, playbook_dirs=tuple(playbook_dirs))


# --------------------------------------------------------------------------- the engine

_NO_PARAMS: Params = {}
_CACHE_LIMIT = 50_000
ViewFn = Callable[[Params, Case], ExemptionView]


class _ConditionStep(NamedTuple):
    condition: Condition
    evaluate: Evaluate
    item_based: bool
    #: positions (in the regime's exemptions) of those that may remove this condition
    exemptions: tuple[int, ...]


class _ObligationStep(NamedTuple):
    obligation: Obligation
    #: the condition ids that trigger it (all of the regime's when the playbook names none)
    when: tuple[str, ...]
    #: the deadline needs the day of learning
    dated: bool
    #: the recipient names the entruster
    entruster: bool
    #: the condition whose answer switches the day count (days_if), if any
    switch: str | None
    hours: bool


class _Plan(NamedTuple):
    """A regime version with its evaluators looked up and its references resolved, once."""

    conditions: tuple[_ConditionStep, ...]
    exemptions: tuple[tuple[Exemption, ViewFn], ...]
    labels: Mapping[str, Condition]
    obligations: tuple[_ObligationStep, ...]


def _make_plan(regime: Regime, extra: tuple[Obligation, ...] = ()) -> _Plan:
    exemptions = tuple((ex, EXEMPTION_KINDS[ex.kind].view) for ex in regime.exemptions)
    conditions = tuple(
        _ConditionStep(c, CONDITION_KINDS[c.kind].evaluate, CONDITION_KINDS[c.kind].item_based,
                       tuple(j for j, ex in enumerate(regime.exemptions) if not ex.removes or c.id in ex.removes))
        for c in regime.conditions)
    every = tuple(c.id for c in regime.conditions)
    obligations = []
    for ob in (*regime.obligations, *extra):
        switch = ob.deadline.params.get("days_if")
        obligations.append(_ObligationStep(ob, ob.when or every, ob.deadline.kind != "none",
                                           "{entruster}" in ob.recipient, switch["condition"] if switch else None,
                                           ob.deadline.kind == "hours"))
    return _Plan(conditions, exemptions, {c.id: c for c in regime.conditions}, tuple(obligations))


class Assessor:
    """Assesses records against loaded regimes; build it once and assess many records (it caches)."""

    def __init__(self, regimes: RegimeSet, catalogue: Catalogue, taxonomy: Taxonomy, config: AssessConfig, *,
                 sector: Sector | None) -> None:
        self.regimes = regimes
        self.catalogue = catalogue
        self.config = config
        self._presumed = frozenset(tid for tid, t in taxonomy.types.items() if getattr(t, "malicious_presumed", False))
        self._default_event = {tid: str(getattr(t, "default_event", "leak")) for tid, t in taxonomy.types.items()}
        self._asks = {tid: frozenset(getattr(t, "asks", ())) for tid, t in taxonomy.types.items()}
        self._items: dict[tuple[str, bool, bool, tuple[str, ...]], CaseItem] = {}
        self._chosen: dict[tuple[object, ...], list[tuple[Regime, bool]]] = {}
        self._in_force: dict[date | None, tuple[tuple[int, ...], dict[str, tuple[Regime, bool]]]] = {}
        self._obligation_cache: dict[tuple[object, ...], ObligationResult] = {}
        self._exemption_cache: dict[tuple[object, ...], ExemptionResult] = {}
        self._plans: dict[int, tuple[_Plan, Regime]] = {}
        ordinance = frozenset(self._item(name, False, False).id for name in config.ordinance_special_care)
        #: the organization's sector (config `sector`), if any
        self.sector = sector
        self._settings: Mapping[str, frozenset[str]] = {"ordinance_special_care": ordinance}

    def _item(self, name: str, encrypted: bool, key_compromised: bool, extra: tuple[str, ...] = ()) -> CaseItem:
        key = (name, encrypted, key_compromised, extra)
        found = self._items.get(key)
        if found is None:
            item = self.catalogue.items.get(name) or self.catalogue.resolve(name)
            flags = frozenset(f for f in FLAGS if getattr(item, f, False) or f in extra)
            found = CaseItem(item.id, item.ja, item.en, flags, encrypted and not key_compromised)
            self._items[key] = found
        return found

    def case(self, record: Record) -> Case:
        facts = record.facts
        malicious = facts.get("malicious")
        items = tuple(self._item(d.item, d.encrypted, d.key_compromised, getattr(d, "flags", ())) for d in record.data)
        return Case(
            entity=str(facts.get("entity") or ""), role=str(facts.get("role") or "controller"),
            entruster=str(facts.get("entruster") or ""), type=str(facts.get("type") or ""),
            persons=facts.get("persons"), malicious=malicious,
            malicious_presumed=facts.get("type") in self._presumed,
            bools={name: facts.get(name) for name in BOOL_FACTS},
            risk_level=facts.get("risk_level"),
            countries=frozenset(str(c).upper() for c in facts.get("subject_countries") or ()),
            items=items, flags=frozenset().union(*(i.flags for i in items)), settings=self._settings,
            event=str(facts.get("event") or self._default_event.get(str(facts.get("type") or ""), "leak")),
            asks=self._asks.get(str(facts.get("type") or ""), frozenset()),
        )

    def select(self, record: Record, case: Case, on: date | None) -> list[tuple[Regime, bool]]:
        """The regime versions that apply: the record's `regimes`, else derived plus the configured ones.

        The list is shared between records with the same answer: do not change it.
        """
        named = tuple(str(r) for r in record.facts.get("regimes") or ())
        epoch, versions = self._versions(on)
        if named:
            key: tuple[object, ...] = (epoch, named)
        else:
            if not case.entity:
                raise InputError(_("missing; the assessment needs the entity (business, public-body or council) "
                                 "or an explicit regimes list"), field="entity")
            key = (epoch, case.entity, case.flags, case.countries)
        chosen = self._chosen.get(key)
        if chosen is None:
            chosen = self._select(named, case, versions)
            if len(self._chosen) > _CACHE_LIMIT:
                self._chosen.clear()
            self._chosen[key] = chosen
        return chosen

    def _select(self, named: tuple[str, ...], case: Case,
                versions: Mapping[str, tuple[Regime, bool]]) -> list[tuple[Regime, bool]]:
        if named:
            ids, source = list(dict.fromkeys(named)), "regimes"
        else:
            ids = [rid for rid in self.regimes if applies(versions[rid][0].applies, case)]
            ids += [rid for rid in self.config.default_regimes if rid not in ids]
            source = "regimes (config)"
        for rid in ids:
            if rid not in self.regimes:
                raise InputError(_("unknown regime {rid!r}; known regimes: {join}")
                                 .format(rid=rid, join=', '.join(self.regimes)), field=source)
        return sorted((versions[rid] for rid in ids), key=lambda pair: (pair[0].order, pair[0].id))

    def _versions(self, on: date | None) -> tuple[tuple[int, ...], dict[str, tuple[Regime, bool]]]:
        """The version of every regime in force on a date (the latest when no date), and a key that is the
        same for every date with the same versions in force."""
        found = self._in_force.get(on)
        if found is None:
            versions = {rid: (self.regimes[rid], False) if on is None else self.regimes.in_force(rid, on)
                        for rid in self.regimes}
            epoch = tuple(x for rid in self.regimes for x in (id(versions[rid][0]), versions[rid][1]))
            found = (epoch, versions)
            if len(self._in_force) > _CACHE_LIMIT:
                self._in_force.clear()
            self._in_force[on] = found
        return found

    def assess(self, record: Record) -> Assessment:
        discovered = record.facts.get("discovered_at")
        learned = to_local_date(discovered, self.config.tz) if isinstance(discovered, datetime) else None
        case = self.case(record)
        views: dict[ViewFn, ExemptionView] = {}
        results = tuple(self._regime(regime, fallback, case, learned, discovered if learned else None, views)
                        for regime, fallback in self.select(record, case, learned))
        return Assessment(combine(r.reportable for r in results), learned, self.config.tz, results)

    def _plan(self, regime: Regime) -> _Plan:
        found = self._plans.get(id(regime))
        if found is None or found[1] is not regime:
            sector = self.sector
            extra = sector.obligations if sector is not None and sector.regime == regime.id else ()
            found = (_make_plan(regime, extra), regime)
            self._plans[id(regime)] = found
        return found[0]

    def _regime(self, regime: Regime, fallback: bool, case: Case, learned: date | None,
                discovered: datetime | None, views: dict[ViewFn, ExemptionView]) -> RegimeAssessment:
        plan = self._plan(regime)
        seen: list[ExemptionView] = []
        for _unused, view_fn in plan.exemptions:  # what each exemption makes of this incident: once per incident
            view = views.get(view_fn)
            if view is None:
                view = views[view_fn] = view_fn(_NO_PARAMS, case)
            seen.append(view)
        removed: list[list[str]] = [[] for _unused in seen]
        conditions: list[ConditionResult] = []
        met: dict[str, bool | None] = {}
        missing: list[str] = []
        items = case.items
        for cond, evaluate, item_based, exemptions in plan.conditions:
            outcome = evaluate(cond.params, case, items)
            first = -1
            if outcome.met is not False:
                for j in exemptions:
                    view = seen[j]
                    if not view.holds:
                        continue
                    if view.remaining is None:
                        gone = True
                    elif item_based:
                        gone = evaluate(cond.params, case, view.remaining).met is False
                    else:
                        gone = not view.remaining and bool(items)
                    if gone:
                        removed[j].append(cond.id)
                        if first < 0:
                            first = j
            if first >= 0:
                ex, view = plan.exemptions[first][0], seen[first]
                shown = outcome.values.get("items", ()) if item_based else view.protected
                values: dict[str, ReasonValue] = {"items": shown, "conditions": (cond,), "citation": ex.citation}
                conditions.append(ConditionResult(cond.id, cond.ja, cond.en, False, cond.citation,
                                                  ex.reasons["removed"], values, ex.id))
                met[cond.id] = False
                continue
            template = cond.reasons.get(outcome.state) or cond.reasons["met"]
            conditions.append(ConditionResult(cond.id, cond.ja, cond.en, outcome.met, cond.citation, template,
                                              outcome.values))
            met[cond.id] = outcome.met
            for fact in outcome.missing:
                if fact not in missing:
                    missing.append(fact)
        for fact in (fact for view in seen for fact in view.missing):  # facts an exemption turns on
            if fact not in missing:
                missing.append(fact)
        exemption_results = tuple(self._exemption(ex, view, tuple(gone_ids), plan.labels)
                                  for (ex, _unused), view, gone_ids in zip(plan.exemptions, seen, removed, strict=True))
        reportable = combine(met.values())
        cleared = any(view.holds and (view.remaining is None or (not view.remaining and bool(items)))
                      for view in seen)
        obligations = self._obligations(plan, case, met, reportable, learned, discovered, missing, cleared)
        notes = regime.notes
        if fallback:
            notes = (*notes, (f"No version of {regime.id} was in force on {learned}; the earliest version "
                             f"(effective {regime.effective_from}) was used."))
        return RegimeAssessment(regime.id, regime.name_ja, regime.name_en, regime.law, regime.version,
                                regime.effective_from, reportable, tuple(conditions), exemption_results,
                                obligations, tuple(missing), notes)

    def _exemption(self, ex: Exemption, view: ExemptionView, removed: tuple[str, ...],
                   labels: Mapping[str, Condition]) -> ExemptionResult:
        key = (id(ex), view.holds, removed, view.protected)
        result = self._exemption_cache.get(key)
        if result is None:
            state = "applied" if removed else ("no_effect" if view.holds else "not_applied")
            values: dict[str, ReasonValue] = {"items": view.protected,
                                              "conditions": tuple(labels[cid] for cid in removed)}
            result = ExemptionResult(ex.id, ex.ja, ex.en, bool(removed), ex.citation, ex.reasons[state], values)
            if len(self._exemption_cache) > _CACHE_LIMIT:
                self._exemption_cache.clear()
            self._exemption_cache[key] = result
        return result

    def _obligations(self, plan: _Plan, case: Case, met: Mapping[str, bool | None], reportable: bool | None,
                     learned: date | None, discovered: datetime | None,
                     missing: list[str], cleared: bool) -> tuple[ObligationResult, ...]:
        out: list[ObligationResult] = []
        for ob, when, dated, entruster, switch, hours in plan.obligations:
            if ob.role != "any" and ob.role != case.role:
                continue
            if ob.entities and case.entity not in ob.entities:
                continue
            if ob.otherwise:
                if reportable is not False or cleared:
                    continue
            elif not ob.always and (reportable is not True or not any(met[c] is True for c in when)):
                continue
            if learned is None and dated and "discovered_at" not in missing:
                missing.append("discovered_at")
            if entruster and not case.entruster and "entruster" not in missing:
                missing.append("entruster")
            key = (id(ob), learned, met.get(switch) if switch else None, discovered if hours else None,
                   case.entruster)
            result = self._obligation_cache.get(key)
            if result is None:
                result = self._obligation(ob, met, learned, discovered, case.entruster)
                if len(self._obligation_cache) > _CACHE_LIMIT:
                    self._obligation_cache.clear()
                self._obligation_cache[key] = result
            out.append(result)
        return tuple(out)

    def _obligation(self, ob: Obligation, met: Mapping[str, bool | None], learned: date | None,
                    discovered: datetime | None, entruster: str) -> ObligationResult:
        deadline = ob.deadline
        due = compute_due(deadline.kind, deadline.params, met=met, learned=learned, discovered=discovered)
        fill = dict(ob.recipient_defaults)
        if entruster:
            fill["entruster"] = entruster
        method, citation = ob.method, ob.citation
        if self.config.regulator:
            fill["regulator"] = self.config.regulator
        sector = self.sector
        if sector is not None and "{regulator}" in ob.recipient:  # 法第150条: a delegated sector's recipient
            fill["regulator"] = sector.recipient
            method = sector.method
            citation = f"{citation}; {sector.citation}" if sector.delegated else citation
        return ObligationResult(
            ob.id, ob.ja, ob.en, ob.recipient.format_map(fill), due.due, due.soft, ob.items, citation,
            deadline.kind, due.days, due.hours, due.day_n, due.rolled_past, ob.note, deadline.text,
            deadline.text_en, ob.by, method)


_ASSESSORS: dict[AssessConfig, Assessor] = {}


def prepare(config: AssessConfig | None = None, *, regimes: RegimeSet | Mapping[str, Regime] | None = None,
            catalogue: Catalogue | None = None, taxonomy: Taxonomy | None = None,
            sector: Sector | None | Literal["config"] = "config") -> Assessor:
    """An Assessor for the config, loading (cached) whatever is not given; `regimes` may be a plain
    {id: Regime} mapping; `sector` is the organization's (None: none), by default the config's."""
    config = config or AssessConfig()
    if regimes is None and catalogue is None and taxonomy is None and sector == "config":
        current = load_regimes(config.playbook_dirs)
        cached = _ASSESSORS.get(config)
        if cached is not None and cached.regimes is current:
            return cached
    dirs = config.playbook_dirs
    if regimes is None:
        regimes = load_regimes(dirs)
    elif not isinstance(regimes, RegimeSet):
        regimes = RegimeSet(list(regimes.values()))
    if catalogue is None:
        catalogue = load_catalogue(dirs)
    if taxonomy is None:
        taxonomy = load_taxonomy(dirs)
    if sector == "config":
        sector = sector_of(config.sector, dirs)
    assessor = Assessor(regimes, catalogue, taxonomy, config, sector=sector)
    if len(_ASSESSORS) > 8:
        _ASSESSORS.clear()
    _ASSESSORS[config] = assessor
    return assessor


def assess(record: Record, *, regimes: RegimeSet | Mapping[str, Regime] | None = None,
           catalogue: Catalogue | None = None, config: AssessConfig | None = None,
           taxonomy: Taxonomy | None = None) -> Assessment:
    """Assess one incident record under every regime that applies (see BRIEF.md and the playbooks)."""
    return prepare(config, regimes=regimes, catalogue=catalogue, taxonomy=taxonomy).assess(record)
