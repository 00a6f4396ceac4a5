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
from typing import Any, NamedTuple

__all__ = [
    "Assessment",
    "ConditionResult",
    "ExemptionResult",
    "ObligationResult",
    "RegimeAssessment",
    "combine",
    "diff_assessments",
]

# --------------------------------------------------------------------------- results

def _reason(result: ConditionResult | ExemptionResult, ja: bool) -> str:
    """A result's reason in one language, rendered from its template when read (never on the
    obligations-only path). The template may use {citation} and {label}: the result's own, unless its
    values give them; a tuple of items becomes their names, a label (anything with ja and en) its name."""
    filled: dict[str, Any] = {"citation": result.citation, "label": result.label if ja else result.label_en}
    for key, value in result.values.items():
        if isinstance(value, tuple):
            names = [i.ja if ja else i.en for i in value]
            value = ("、" if ja else ", ").join(names) if names else "—"
        elif hasattr(value, "ja") and hasattr(value, "en"):
            value = value.ja if ja else value.en
        elif isinstance(value, bool):
            value = "true" if value else "false"
        filled[key] = value
    return result.template[0 if ja else 1].format_map(filled)


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
    values: Mapping[str, Any]
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
    values: Mapping[str, Any]

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

    def to_json(self, learned_on: date | None) -> dict[str, Any]:
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

    def to_json(self, incident_id: str | None) -> dict[str, Any]:
        """The `--json` contract of `incident assess` (issue 3), reasons rendered in both languages."""
        return {"incident": incident_id, "reportable": self.reportable,
                "learned_on": self.learned_on.isoformat() if self.learned_on else None,
                "timezone": self.timezone,
                "assessments": [a.to_json(self.learned_on) for a in self.assessments]}

    def obligations_json(self, incident_id: str | None) -> dict[str, Any]:
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
