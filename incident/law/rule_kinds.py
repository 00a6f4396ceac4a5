"""The kinds of tests a regime playbook may use, and how each is evaluated.

A playbook says `kind = "headcount"`; this module maps the kind to its evaluator through an explicit
registry (one dict per family: conditions, exemptions, applicability tests). Each kind declares its
parameters, the reason templates it needs and the placeholders those templates may use, so that
`incident playbooks check` can validate a file without evaluating it. The numbers, articles and wording
are all in the playbook; nothing here knows a threshold or an article. The engine that runs them over
an incident is incident.law.rules (its results: incident.law.assessment).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import NamedTuple

from incident.i18n import N_, _
from incident.law.assessment import ReasonValue
from incident.register.enums import ENTITIES, MALICIOUS, RISK_LEVELS

__all__ = [
    "APPLIES_KINDS",
    "BOOL_FACTS",
    "CONDITION_KINDS",
    "EXEMPTION_KINDS",
    "EXEMPTION_PLACEHOLDERS",
    "EXEMPTION_STATES",
    "FLAGS",
    "SETTINGS",
    "AppliesKind",
    "Case",
    "CaseItem",
    "ConditionKind",
    "ExemptionKind",
    "ExemptionView",
    "Outcome",
    "ParamSpec",
    "ParamValue",
    "Params",
    "applies",
]

#: data-item flags of the catalogue (playbooks/data-items.toml)
FLAGS = ("special_care", "financial_harm", "identification_code", "my_number")
#: boolean facts of the record a `fact` condition may test
BOOL_FACTS = ("published", "mynumber_system", "recovered", "copy_exists", "being_acquired")
#: events whose guideline definition excludes the case where an identical copy is kept elsewhere
#: (通則ガイドライン3-5-1-3 滅失, 3-5-1-4 毀損)
COPY_EVENTS = ("loss", "damage")
#: organization settings a `configured-items` condition may read
SETTINGS = ("ordinance_special_care",)


@dataclass(frozen=True)
class CaseItem:
    """A data item of the incident, resolved against the catalogue."""

    id: str
    ja: str
    en: str
    flags: frozenset[str]
    #: high-level encryption with the key safe (encrypted and not key_compromised)
    protected: bool


class Case(NamedTuple):
    """The facts of one incident as the evaluators need them (built once per assessment: a named tuple,
    as `incident deadlines` builds one per incident)."""

    entity: str
    role: str
    entruster: str
    type: str
    persons: int | None
    #: None when the record leaves `malicious` out (the default "none" applies)
    malicious: str | None
    malicious_presumed: bool
    #: the boolean facts as written; None when left out
    bools: Mapping[str, bool | None]
    risk_level: str | None
    countries: frozenset[str]
    items: tuple[CaseItem, ...]
    #: every flag carried by any item (encrypted or not)
    flags: frozenset[str] = frozenset()
    #: organization settings (item id lists)
    settings: Mapping[str, frozenset[str]] = MappingProxyType({})
    #: leak, loss or damage: the record's `event`, else the type's default_event
    event: str = "leak"
    #: the facts the incident type asks for (incident-types.toml `asks`)
    asks: frozenset[str] = frozenset()


class Outcome(NamedTuple):
    """What a condition's test found, before exemptions.

    `state` names the reason template to use; `values` fill its placeholders (a tuple of CaseItem
    renders as the items' names in the template's language).
    """

    met: bool | None
    state: str
    values: Mapping[str, ReasonValue]
    missing: tuple[str, ...] = ()


#: a parameter check: the raw TOML value in, a problem (or None) out
Check = Callable[[object], str | None]


@dataclass(frozen=True)
class ParamSpec:
    """A parameter of a kind: whether it is required and a check returning a problem or None."""

    required: bool
    check: Check
    help: str


#: a parameter's value as a playbook gives it; its kind's ParamSpec checked it when the playbook was loaded
ParamValue = str | int | bool | Sequence[str]
Params = Mapping[str, ParamValue]
Evaluate = Callable[[Params, Case, Sequence[CaseItem]], Outcome]


@dataclass(frozen=True)
class ConditionKind:
    evaluate: Evaluate
    params: Mapping[str, ParamSpec]
    #: state -> the placeholders its reason template may use. The condition gives a template for every
    #: state, in Japanese (`state`) and English (`state_en`).
    placeholders: Mapping[str, frozenset[str]]
    #: True when the test looks at items one by one (an exemption then disregards protected items);
    #: False for incident-wide tests, which an item exemption removes only when every item is protected
    item_based: bool
    help: str
    #: states whose template a playbook may leave out; the `met` template is used instead
    optional: frozenset[str] = frozenset()


class ExemptionView(NamedTuple):
    """What an exemption makes of the incident: whether its facts hold, and the items that still count.

    `remaining` None means nothing counts any more (every condition is removed).
    """

    holds: bool
    remaining: tuple[CaseItem, ...] | None
    protected: tuple[CaseItem, ...] = ()
    #: facts the exemption needs that the record leaves out (listed in the assessment's `missing`)
    missing: tuple[str, ...] = ()


@dataclass(frozen=True)
class ExemptionKind:
    view: Callable[[Params, Case], ExemptionView]
    params: Mapping[str, ParamSpec]
    help: str


#: reason templates every exemption gives: applied (it removed a condition), no_effect (its facts
#: hold but nothing changed), not_applied (its facts do not hold), removed (the reason of a removed
#: condition)
EXEMPTION_STATES = ("applied", "no_effect", "not_applied", "removed")
EXEMPTION_PLACEHOLDERS = frozenset({"items", "conditions", "citation", "label"})
_COMMON = frozenset({"citation", "label", "items"})


def _states(**states: set[str]) -> Mapping[str, frozenset[str]]:
    return {state: _COMMON | names for state, names in states.items()}


# --------------------------------------------------------------------------- parameter checks


def _one_of(choices: Sequence[str]) -> Check:
    def check(value: object) -> str | None:
        if value in choices:
            return None
        return _("{value!r} is not valid; expected one of: {valid}").format(value=value, valid=", ".join(choices))

    return check


def _subset_of(choices: Sequence[str], *, empty_ok: bool = False) -> Check:
    def check(value: object) -> str | None:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return _("expected a list of strings")
        if not value and not empty_ok:
            return _("must not be empty")
        bad = [v for v in value if v not in choices]
        if bad:
            return _("{value!r} is not valid; expected any of: {valid}").format(value=bad[0], valid=", ".join(choices))
        return None

    return check


def _strings(value: object) -> str | None:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        return _("expected a non-empty list of strings")
    return None


def _threshold(value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return _("bad threshold {value!r}: expected a whole number of persons, 0 or more").format(value=value)
    return None


def _boolean(value: object) -> str | None:
    return None if isinstance(value, bool) else _("expected true or false, got {value!r}").format(value=value)


# --------------------------------------------------------------------------- parameter values


def _text(params: Params, key: str) -> str:
    value = params[key]
    if not isinstance(value, str):
        raise TypeError(f"parameter {key!r}: expected a string, got {value!r}")
    return value


def _count(params: Params, key: str) -> int:
    value = params[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"parameter {key!r}: expected a whole number, got {value!r}")
    return value


def _texts(params: Params, key: str, default: Sequence[str] = ()) -> Sequence[str]:
    value = params.get(key, default)
    if isinstance(value, (str, int)):  # bool is an int
        raise TypeError(f"parameter {key!r}: expected a list of strings, got {value!r}")
    return value


# --------------------------------------------------------------------------- condition evaluators


def _flagged(params: Params, case: Case, items: Sequence[CaseItem]) -> Outcome:
    flag = _text(params, "flag")
    hits = tuple(i for i in items if flag in i.flags)
    if hits:
        return Outcome(True, "met", {"items": hits})
    return Outcome(False, "not_met", {"items": tuple(items)})


def _headcount(params: Params, case: Case, items: Sequence[CaseItem]) -> Outcome:
    threshold = _count(params, "more_than")
    if case.persons is None:
        return Outcome(None, "unknown", {"threshold": threshold, "items": tuple(items)}, ("persons",))
    values: dict[str, ReasonValue] = {"persons": case.persons, "threshold": threshold, "items": tuple(items)}
    return Outcome(case.persons > threshold, "met" if case.persons > threshold else "not_met", values)


def _malicious(params: Params, case: Case, items: Sequence[CaseItem]) -> Outcome:
    counting = _texts(params, "values", ("suspected", "confirmed"))
    values: dict[str, ReasonValue]
    if case.malicious is None:
        values = {"malicious": "none", "type": case.type, "items": tuple(items)}
        if case.malicious_presumed:
            return Outcome(False, "unstated", values, ("malicious",))
        return Outcome(False, "not_met", values)
    values = {"malicious": case.malicious, "type": case.type, "items": tuple(items)}
    if case.malicious not in counting:
        return Outcome(False, "not_met", values)
    return Outcome(True, "acquiring" if case.bools.get("being_acquired") else "met", values)


def _fact(params: Params, case: Case, items: Sequence[CaseItem]) -> Outcome:
    name = _text(params, "fact")
    value = case.bools.get(name)
    if value is None:
        if case.entity in _texts(params, "unknown_for"):
            return Outcome(None, "unknown", {"entity": case.entity, "items": tuple(items)}, (name,))
        value = bool(params.get("default", False))
    values: dict[str, ReasonValue] = {"value": value, "entity": case.entity, "items": tuple(items)}
    return Outcome(True, "met", values) if value else Outcome(False, "not_met", values)


def _configured(params: Params, case: Case, items: Sequence[CaseItem]) -> Outcome:
    setting = _text(params, "setting")
    listed = case.settings.get(setting, frozenset())
    if not listed:
        return Outcome(False, "unconfigured", {"setting": setting, "items": tuple(items)})
    hits = tuple(i for i in items if i.id in listed)
    values: dict[str, ReasonValue] = {"items": hits or tuple(items), "configured": len(listed), "setting": setting}
    return Outcome(True, "met", values) if hits else Outcome(False, "not_met", values)


def _risk_level(params: Params, case: Case, items: Sequence[CaseItem]) -> Outcome:
    if case.risk_level is None:
        return Outcome(None, "unknown", {"items": tuple(items)}, ("risk_level",))
    met = case.risk_level in _texts(params, "levels")
    return Outcome(met, "met" if met else "not_met", {"risk_level": case.risk_level, "items": tuple(items)})


CONDITION_KINDS: Mapping[str, ConditionKind] = {
    "item-flag": ConditionKind(
        _flagged, {"flag": ParamSpec(True, _one_of(FLAGS), N_("the catalogue flag an item must carry"))},
        _states(met=set(), not_met=set()), True,
        "met when any data item (not protected by an exemption) carries the flag"),
    "headcount": ConditionKind(
        _headcount, {"more_than": ParamSpec(True, _threshold, N_("met when persons is more than this"))},
        _states(met={"persons", "threshold"}, not_met={"persons", "threshold"}, unknown={"threshold"}), False,
        "met when the number of persons is more than the threshold; undetermined when persons is left out"),
    "malicious": ConditionKind(
        _malicious,
        {"values": ParamSpec(False, _subset_of(MALICIOUS), N_("malicious values that count (default: "
                                "suspected, confirmed)"))},
        _states(met={"malicious", "type"}, not_met={"malicious", "type"}, unstated={"malicious", "type"},
                acquiring={"malicious", "type"}), False,
        "met when a malicious act is suspected or confirmed (state `acquiring` when the data was being "
        "acquired, being_acquired = true); when left out and the incident type presumes malice, the fact is "
        "asked for", optional=frozenset({"acquiring"})),
    "fact": ConditionKind(
        _fact,
        {"fact": ParamSpec(True, _one_of(BOOL_FACTS), N_("the boolean fact of the record")),
         "default": ParamSpec(False, _boolean, N_("the value when the record leaves the fact out")),
         "unknown_for": ParamSpec(False, _subset_of(ENTITIES), N_("entities for which a left-out fact is "
                                     "undetermined instead of the default"))},
        _states(met={"value", "entity"}, not_met={"value", "entity"}, unknown={"entity"}), False,
        "met when a boolean fact of the record is true"),
    "configured-items": ConditionKind(
        _configured, {"setting": ParamSpec(True, _one_of(SETTINGS), N_("the configuration list of item ids"))},
        _states(met={"configured", "setting"}, not_met={"configured", "setting"}, unconfigured={"setting"}),
        True,
        "met when any data item is in a list the organization configures"),
    "risk-level": ConditionKind(
        _risk_level, {"levels": ParamSpec(True, _subset_of(RISK_LEVELS), N_("risk_level values that count"))},
        _states(met={"risk_level"}, not_met={"risk_level"}, unknown=set()), False,
        "met when the record's risk_level is one of the levels; undetermined when it is left out"),
}


# --------------------------------------------------------------------------- exemptions


def _high_encryption(params: Params, case: Case) -> ExemptionView:
    protected = tuple(i for i in case.items if i.protected)
    remaining = tuple(i for i in case.items if not i.protected)
    return ExemptionView(bool(protected), remaining, protected)


def _recovered(params: Params, case: Case) -> ExemptionView:
    if case.bools.get("recovered"):
        return ExemptionView(True, None, case.items)
    return ExemptionView(False, case.items)


def _copy_exists(params: Params, case: Case) -> ExemptionView:
    """An identical copy kept elsewhere: a loss or damage is no 滅失/毀損; a leak stays a leak."""
    if case.event not in COPY_EVENTS:
        return ExemptionView(False, case.items)
    value = case.bools.get("copy_exists")
    if value:
        return ExemptionView(True, None, case.items)
    return ExemptionView(False, case.items, missing=("copy_exists",) if value is None else ())


def _being_acquired(params: Params, case: Case) -> ExemptionView:
    """Data being acquired, not yet held as 個人データ: only the conditions that cover it remain."""
    value = case.bools.get("being_acquired")
    if value:
        return ExemptionView(True, None, case.items)
    asked = value is None and "being_acquired" in case.asks
    return ExemptionView(False, case.items, missing=("being_acquired",) if asked else ())


_REMOVES = {"removes": ParamSpec(False, _strings, N_("the condition ids it removes (default: all)"))}

EXEMPTION_KINDS: Mapping[str, ExemptionKind] = {
    "high-encryption": ExemptionKind(
        _high_encryption, _REMOVES,
        "items with encrypted = true and key_compromised = false do not count; an incident-wide condition "
        "is removed when every item is protected"),
    "recovered": ExemptionKind(
        _recovered, _REMOVES,
        "recovered = true (every copy retrieved or deleted before anyone could see it): no condition counts"),
    "copy-exists": ExemptionKind(
        _copy_exists, _REMOVES,
        "copy_exists = true with event loss or damage (an identical copy is kept elsewhere): the removed "
        "conditions do not count; never applies to a leak. Left out for a loss or damage: listed as missing"),
    "being-acquired": ExemptionKind(
        _being_acquired, _REMOVES,
        "being_acquired = true (the data was being acquired, not yet held as 個人データ): the removed conditions "
        "do not count. Left out where the incident type asks for it: listed as missing"),
}


# --------------------------------------------------------------------------- applicability tests

AppliesTest = Callable[[ParamValue, Case], bool]


@dataclass(frozen=True)
class AppliesKind:
    test: AppliesTest
    check: Check
    help: str


def _entity_in(value: ParamValue, case: Case) -> bool:
    return not isinstance(value, (str, int)) and case.entity in value


def _has_flag(value: ParamValue, case: Case) -> bool:
    return isinstance(value, str) and value in case.flags


def _shares_country(value: ParamValue, case: Case) -> bool:
    return not isinstance(value, (str, int)) and not case.countries.isdisjoint(value)


#: Applicability tests read only the entity, the item flags and the countries of a Case: the assessment
#: caches the derived regimes on exactly those.
APPLIES_KINDS: Mapping[str, AppliesKind] = {
    "entity": AppliesKind(_entity_in, _subset_of(ENTITIES),
                          "the record's entity is one of these"),
    "item-flag": AppliesKind(_has_flag, _one_of(FLAGS),
                             "any data item carries this catalogue flag (encrypted or not)"),
    "subject-countries": AppliesKind(_shares_country, _strings,
                                     "subject_countries shares a code with this list"),
}


def applies(tests: Params, case: Case) -> bool:
    """True when the regime's `applies` table has tests and every one of them holds."""
    if not tests:
        return False
    return all(APPLIES_KINDS[kind].test(value, case) for kind, value in tests.items())
