"""The result types of an assessment, their JSON, and what changed between two assessments.

incident.law.rules produces an `Assessment` (one `RegimeAssessment` per regime, each with its condition,
exemption and obligation results); `Assessment.to_json` is the `--json` contract of `incident assess`
(issue 3) and `obligations_json` the part `incident deadlines` reads. `combine` folds true/false/
undetermined answers; `diff_assessments` says in plain sentences what changed between two saved JSONs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple, Protocol, TypedDict

from incident.register.sections import AssessmentSection

__all__ = [
    "Assessment",
    "AssessmentJson",
    "ConditionResult",
    "ExemptionResult",
    "Named",
    "ObligationJson",
    "ObligationResult",
    "ObligationsJson",
    "ReasonValue",
    "RegimeAssessment",
    "RegimeJson",
    "combine",
    "diff_assessments",
]

# --------------------------------------------------------------------------- results


class Named(Protocol):
    """Anything with a Japanese and an English name (a data item, a condition)."""

    @property
    def ja(self) -> str: ...

    @property
    def en(self) -> str: ...


#: a value filling a reason template's placeholder: a text, a number, a yes/no, a name or a list of names
ReasonValue = str | int | bool | None | Named | tuple[Named, ...]


def _reason(result: ConditionResult | ExemptionResult, ja: bool) -> str:
    """A result's reason in one language, rendered from its template when read (never on the
    obligations-only path). The template may use {citation} and {label}: the result's own, unless its
    values give them; a tuple of items becomes their names, a label (anything with ja and en) its name."""
    filled: dict[str, object] = {"citation": result.citation, "label": result.label if ja else result.label_en}
    for key, value in result.values.items():
        shown: object = value
        if isinstance(value, tuple):
            names = [i.ja if ja else i.en for i in value]
            shown = ("、" if ja else ", ").join(names) if names else "—"
        elif isinstance(value, bool):
            shown = "true" if value else "false"
        elif value is not None and not isinstance(value, (str, int)):
            shown = value.ja if ja else value.en
        filled[key] = shown
    return result.template[0 if ja else 1].format_map(filled)


class ConditionJson(TypedDict):
    id: str
    met: bool | None
    reason: str
    citation: str
    label: str
    label_en: str
    reason_en: str
    exempted_by: str | None


class ExemptionJson(TypedDict):
    id: str
    applied: bool
    reason: str
    citation: str
    label: str
    label_en: str
    reason_en: str


class ObligationJson(TypedDict):
    """One obligation in the `--json` of `incident assess` and `incident deadlines`."""

    id: str
    recipient: str
    due: str | None
    soft: bool
    items: list[str]
    label: str
    label_en: str
    citation: str
    deadline: str
    days: int | None
    hours: int | None
    day_n: str | None
    rolled_past: list[str]
    learned_on: str | None
    note: str
    due_text: str
    due_text_en: str
    by: str
    method: str


class RegimeJson(TypedDict):
    """One regime's answer in the `--json` of `incident assess`."""

    regime: str
    name: str
    name_en: str
    law: str
    version: str
    effective_from: str
    reportable: bool | None
    conditions: list[ConditionJson]
    exemptions: list[ExemptionJson]
    obligations: list[ObligationJson]
    missing: list[str]
    notes: list[str]


class AssessmentJson(TypedDict):
    """The `--json` contract of `incident assess` (issue 3); stable English keys."""

    incident: str | None
    reportable: bool | None
    learned_on: str | None
    timezone: str
    assessments: list[RegimeJson]


class RegimeObligationsJson(TypedDict):
    regime: str
    reportable: bool | None
    obligations: list[ObligationJson]


class ObligationsJson(TypedDict):
    """The part of AssessmentJson that deadlines read: per regime its id, reportable and obligations."""

    incident: str | None
    reportable: bool | None
    learned_on: str | None
    timezone: str
    assessments: list[RegimeObligationsJson]


class ConditionResult(NamedTuple):
    """One condition's answer for one incident (a named tuple: `incident deadlines` makes ~70,000)."""

    id: str
    label: str
    label_en: str
    #: the answer after exemptions; None when undetermined
    met: bool | None
    citation: str
    #: (Japanese, English) reason templates and the values of their placeholders (besides the result's
    #: own citation and label); read `reason` / `reason_en`
    template: tuple[str, str]
    values: Mapping[str, ReasonValue]
    #: the exemption that removed it, if any
    exempted_by: str | None = None

    @property
    def reason(self) -> str:
        return _reason(self, True)

    @property
    def reason_en(self) -> str:
        return _reason(self, False)


class ExemptionResult(NamedTuple):
    """Whether an exemption removed any condition, and why (shared between incidents with the same answer)."""

    id: str
    label: str
    label_en: str
    applied: bool
    citation: str
    template: tuple[str, str]
    values: Mapping[str, ReasonValue]

    @property
    def reason(self) -> str:
        return _reason(self, True)

    @property
    def reason_en(self) -> str:
        return _reason(self, False)


@dataclass(frozen=True, slots=True)
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
    #: how the report is submitted (the playbook's, or the delegated sector's)
    method: str = ""

    def to_json(self, learned_on: date | None) -> ObligationJson:
        return {"id": self.id, "recipient": self.recipient, "due": self.due, "soft": self.soft,
                "items": list(self.items), "label": self.label, "label_en": self.label_en,
                "citation": self.citation, "deadline": self.deadline, "days": self.days, "hours": self.hours,
                "day_n": self.day_n, "rolled_past": list(self.rolled_past),
                "learned_on": learned_on.isoformat() if learned_on else None, "note": self.note,
                "due_text": self.due_text, "due_text_en": self.due_text_en, "by": self.by, "method": self.method}


@dataclass(frozen=True, slots=True)
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

    def to_json(self, learned_on: date | None) -> RegimeJson:
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
            "obligations": [o.to_json(learned_on) for o in self.obligations],
            "missing": list(self.missing),
            "notes": list(self.notes),
        }


@dataclass(frozen=True, slots=True)
class Assessment:
    """The answer for one incident under every regime that applies."""

    reportable: bool | None
    learned_on: date | None
    timezone: str
    assessments: tuple[RegimeAssessment, ...]

    def to_json(self, incident_id: str | None) -> AssessmentJson:
        """The `--json` contract of `incident assess` (issue 3), reasons rendered in both languages."""
        return {"incident": incident_id, "reportable": self.reportable,
                "learned_on": self.learned_on.isoformat() if self.learned_on else None,
                "timezone": self.timezone,
                "assessments": [a.to_json(self.learned_on) for a in self.assessments]}

    def obligations_json(self, incident_id: str | None) -> ObligationsJson:
        """The part of `to_json` that deadlines need: per regime its id, reportable and obligations.

        The same values as `to_json`, without conditions, exemptions and their reasons (never rendered
        here), for `incident deadlines` over every incident.
        """
        learned = self.learned_on
        return {"incident": incident_id, "reportable": self.reportable,
                "learned_on": learned.isoformat() if learned else None, "timezone": self.timezone,
                "assessments": [{"regime": a.regime, "reportable": a.reportable,
                                 "obligations": [o.to_json(learned) for o in a.obligations]}
                                for a in self.assessments]}

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


# --------------------------------------------------------------------------- what changed


def _word(value: bool | None) -> str:
    return {True: "true", False: "false", None: "undetermined"}[value]


class _RegimeFacts(NamedTuple):
    """What `diff_assessments` compares of one regime, from either a JSON or a saved section."""

    version: str | None
    reportable: bool | None
    #: (condition id, met) in order
    conditions: tuple[tuple[str, bool | None], ...]
    #: (obligation id, due) in order
    obligations: tuple[tuple[str, str | None], ...]
    missing: tuple[str, ...]


def _facts(assessment: AssessmentJson | AssessmentSection) -> tuple[bool | None, dict[str, _RegimeFacts]]:
    """The overall answer and each regime's facts, keyed by regime id in order."""
    if isinstance(assessment, AssessmentSection):
        return assessment.reportable, {
            a.regime: _RegimeFacts(a.version, a.reportable, tuple((c.id, c.met) for c in a.conditions),
                                   tuple((o.id, o.due) for o in a.obligations), a.missing)
            for a in assessment.assessments}
    return assessment.get("reportable"), {
        a["regime"]: _RegimeFacts(a.get("version"), a.get("reportable"),
                                  tuple((c["id"], c.get("met")) for c in a.get("conditions", [])),
                                  tuple((o["id"], o.get("due")) for o in a.get("obligations", [])),
                                  tuple(a.get("missing", [])))
        for a in assessment.get("assessments", [])}


def diff_assessments(old: AssessmentJson | AssessmentSection | None,
                     new: AssessmentJson | AssessmentSection) -> list[str]:
    """Plain sentences saying what changed between two assessments ("special-care: now met"), each the
    JSON of `incident assess` or the record's saved `assessment` section."""
    if not old:
        return []
    out: list[str] = []
    (old_reportable, before), (new_reportable, after) = _facts(old), _facts(new)
    if old_reportable != new_reportable:
        out.append(f"reportable: {_word(old_reportable)} → {_word(new_reportable)}")
    for rid in before:
        if rid not in after:
            out.append(f"{rid}: no longer applies")
    for rid, a in after.items():
        b = before.get(rid)
        if b is None:
            out.append(f"{rid}: now applies (reportable: {_word(a.reportable)})")
            for oid, due in a.obligations:
                out.append(_new_obligation(rid, oid, due))
            continue
        if b.version != a.version:
            out.append(f"{rid}: playbook version {b.version} → {a.version}")
        if b.reportable != a.reportable:
            out.append(f"{rid}: reportable: {_word(b.reportable)} → {_word(a.reportable)}")
        old_met = dict(b.conditions)
        for cid, met in a.conditions:
            if cid in old_met and old_met[cid] != met:
                state = {True: "now met", False: "now not met", None: "now undetermined"}[met]
                out.append(f"{rid}: {cid}: {state}")
        old_obs, new_obs = dict(b.obligations), dict(a.obligations)
        for oid, due in new_obs.items():
            if oid not in old_obs:
                out.append(_new_obligation(rid, oid, due))
            elif old_obs[oid] != due:
                out.append(f"{rid}: {oid}: deadline {old_obs[oid] or 'none'} → {due or 'none'}")
        for oid in old_obs:
            if oid not in new_obs:
                out.append(f"{rid}: {oid}: no longer required")
        old_missing = set(b.missing)
        for fact in sorted(old_missing - set(a.missing)):
            out.append(f"{rid}: {fact}: now known")
        for fact in a.missing:
            if fact not in old_missing:
                out.append(f"{rid}: {fact}: now missing")
    return out


def _new_obligation(rid: str, oid: str, due: str | None) -> str:
    if due:
        return f"{rid}: {oid}: new deadline {due}"
    return f"{rid}: {oid}: now required"
