"""Obligation due dates, the open obligations across incidents, and their iCalendar export.

The kinds of deadline a playbook may use are a registry: `day-count` (the day of learning is day 1;
30 or 60 days; moved past 行政機関の休日 by incident.law.workdays), `soft-target` (a target day, not a legal
deadline, never moved), `hours` (an exact instant, e.g. GDPR's 72 hours) and `none` (no date in law).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from incident.i18n import N_, _
from incident.law.rule_kinds import ParamSpec
from incident.law.workdays import closed_day_reason, day_n, deadline_day_count

if TYPE_CHECKING:
    from incident.law.assessment import ObligationsJson

__all__ = [
    "DEADLINE_KINDS",
    "DeadlineKind",
    "Due",
    "OpenObligation",
    "compute_due",
    "open_obligations",
    "to_ics",
]


@dataclass(frozen=True)
class Due:
    """When one obligation is due, and how that was worked out."""

    #: YYYY-MM-DD for day counts, an ISO 8601 instant for hour counts, None when the law sets no date
    due: str | None
    soft: bool
    days: int | None = None
    hours: int | None = None
    #: the plain last day before moving past closed days (day 30 / 60, or the target day)
    day_n: str | None = None
    #: the closed days the deadline was moved past, as "YYYY-MM-DD 理由"
    rolled_past: tuple[str, ...] = ()


@dataclass(frozen=True)
class DeadlineKind:
    compute: Callable[[Mapping[str, Any], Mapping[str, bool | None], date | None, datetime | None], Due]
    params: Mapping[str, ParamSpec]
    help: str


def _positive(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        return _("expected a whole number, 1 or more, got {value!r}").format(value=value)
    return None


def _boolean(value: Any) -> str | None:
    return None if isinstance(value, bool) else _("expected true or false, got {value!r}").format(value=value)


def _days_if(value: Any) -> str | None:
    if not isinstance(value, dict) or set(value) != {"condition", "days"}:
        return _("expected days_if = {condition = \"<condition id>\", days = N}")
    if not isinstance(value["condition"], str):
        return _("days_if.condition must be a condition id")
    return _positive(value["days"])


def _day_count(params: Mapping[str, Any], met: Mapping[str, bool | None], learned: date | None,
               discovered: datetime | None) -> Due:
    days: int = params["days"]
    alt = params.get("days_if")
    if alt and met.get(alt["condition"]) is True:
        days = alt["days"]
    if learned is None:
        return Due(None, False, days=days)
    return _counted(learned, days, bool(params.get("roll_forward", True)))


@lru_cache(maxsize=8192)
def _counted(learned: date, days: int, roll: bool) -> Due:
    last = day_n(learned, days)
    due = deadline_day_count(learned, days, roll_forward=roll)
    rolled: list[str] = []
    d = last
    while d < due:
        rolled.append(f"{d.isoformat()} {closed_day_reason(d)}")
        d += timedelta(days=1)
    return Due(due.isoformat(), False, days=days, day_n=last.isoformat(), rolled_past=tuple(rolled))


def _soft_target(params: Mapping[str, Any], met: Mapping[str, bool | None], learned: date | None,
                 discovered: datetime | None) -> Due:
    day: int = params["day"]
    if learned is None:
        return Due(None, True, days=day)
    target = day_n(learned, day).isoformat()
    return Due(target, True, days=day, day_n=target)


def _hours(params: Mapping[str, Any], met: Mapping[str, bool | None], learned: date | None,
           discovered: datetime | None) -> Due:
    hours: int = params["hours"]
    if discovered is None:
        return Due(None, False, hours=hours)
    if discovered.tzinfo is None:
        return Due((discovered + timedelta(hours=hours)).isoformat(), False, hours=hours)
    instant = (discovered.astimezone(UTC) + timedelta(hours=hours)).astimezone(discovered.tzinfo)
    return Due(instant.isoformat(), False, hours=hours)


def _none(params: Mapping[str, Any], met: Mapping[str, bool | None], learned: date | None,
          discovered: datetime | None) -> Due:
    return Due(None, False)


DEADLINE_KINDS: Mapping[str, DeadlineKind] = {
    "day-count": DeadlineKind(
        _day_count,
        {"days": ParamSpec(True, _positive, N_("days counting the day of learning as day 1")),
         "days_if": ParamSpec(False, _days_if, N_("{condition = id, days = N}: N days when that condition is met")),
         "roll_forward": ParamSpec(False, _boolean, N_("move a last day on a closed day to the next open day "
                                      "(default true)"))},
        "a date: the day of learning is day 1, moved past Saturdays, Sundays, holidays and 12/29-1/3"),
    "soft-target": DeadlineKind(
        _soft_target, {"day": ParamSpec(True, _positive, N_("the target day, the day of learning being day 1"))},
        "a target date (not a legal deadline), never moved"),
    "hours": DeadlineKind(
        _hours, {"hours": ParamSpec(True, _positive, N_("hours after discovered_at"))},
        "an exact instant: discovered_at plus the hours, in discovered_at's offset"),
    "none": DeadlineKind(_none, {}, "no date in law (promptly, without undue delay)"),
}


def compute_due(kind: str, params: Mapping[str, Any], *, met: Mapping[str, bool | None], learned: date | None,
                discovered: datetime | None) -> Due:
    """The due date of a deadline of this kind; an unknown kind is a clear error."""
    spec = DEADLINE_KINDS.get(kind)
    if spec is None:
        raise KeyError(_("unknown deadline kind {kind!r}; expected one of: {join}")
                       .format(kind=kind, join=', '.join(DEADLINE_KINDS)))
    return spec.compute(params, met, learned, discovered)


# --------------------------------------------------------------------------- open obligations


@dataclass(frozen=True, slots=True)
class OpenObligation:
    """An obligation of an incident that is not marked done."""

    incident: str
    title: str
    regime: str
    id: str
    label: str
    recipient: str
    #: a date, an aware datetime (hour-counted), or None (no date in law)
    due: date | datetime | None
    soft: bool
    days_left: int | None
    overdue: bool

    @property
    def due_date(self) -> date | None:
        return self.due.date() if isinstance(self.due, datetime) else self.due

    def to_json(self) -> dict[str, Any]:
        return {"incident": self.incident, "title": self.title, "regime": self.regime, "obligation": self.id,
                "label": self.label, "recipient": self.recipient,
                "due": self.due.isoformat() if self.due is not None else None, "soft": self.soft,
                "days_left": self.days_left, "overdue": self.overdue}


def is_done(done: Mapping[str, Mapping[str, object]], regime: str, obligation: str) -> bool:
    """Whether the record's `obligations` section ({regime: {obligation: entry}}) marks this obligation done."""
    return obligation in done.get(regime, {})


def open_obligations(items: Iterable[tuple[str, str, ObligationsJson, Mapping[str, Mapping[str, object]]]],
                     today: date,
                     now: datetime | None = None) -> list[OpenObligation]:
    """Every obligation not marked done, soonest first (undated ones last), with days left.

    items: (incident id, title, assessment JSON as saved, the record's `obligations` section); only each
    regime's `regime` and `obligations` are read, so `Assessment.obligations_json` is enough. Items are
    read one at a time (a generator keeps only one assessment alive). An hour-counted obligation is
    overdue once `now` passes it (when now is given), else by date. Order: by the due instant (a date
    before the instants of that day), then incident, regime and obligation id.
    """
    keyed: list[tuple[tuple[int, str, str, str, str], OpenObligation]] = []
    for incident, title, assessment, done in items:
        for regime in assessment.get("assessments", []):
            rid = regime["regime"]
            for ob in regime.get("obligations", []):
                oid = ob["id"]
                if done and is_done(done, rid, oid):
                    continue
                text = ob.get("due")
                due: date | datetime | None
                if text is None:
                    due = due_day = days_left = None
                    key = (1, "", incident, rid, oid)
                elif "T" in text:
                    due = datetime.fromisoformat(text)
                    due_day = due.date()
                    key = (0, due.astimezone(UTC).isoformat(), incident, rid, oid)
                else:
                    due = due_day = date.fromisoformat(text)
                    key = (0, due.isoformat(), incident, rid, oid)
                if due_day is not None:
                    days_left = (due_day - today).days
                if isinstance(due, datetime) and now is not None:
                    overdue = now > due
                else:
                    overdue = days_left is not None and days_left < 0
                keyed.append((key, OpenObligation(incident, title, rid, oid, ob.get("label", oid),
                                                  ob.get("recipient", ""), due, bool(ob.get("soft")), days_left,
                                                  overdue)))
    keyed.sort(key=itemgetter(0))
    return [o for _unused, o in keyed]


# --------------------------------------------------------------------------- iCalendar


def _uid(o: OpenObligation) -> str:
    digest = hashlib.sha256(f"{o.incident}/{o.regime}/{o.id}".encode()).hexdigest()[:16]
    return f"{o.incident}-{o.regime}-{o.id}-{digest}@incident"


def to_ics(obligations: Iterable[OpenObligation], *, stamp: datetime | None = None, name: str | None = None) -> bytes:
    """An iCalendar file with a VEVENT per dated obligation, each with alarms 2 days before and on the day.

    UIDs are derived from incident, regime and obligation, so re-exporting updates calendar entries.
    """
    from icalendar import Alarm, Calendar, Event

    cal = Calendar()
    cal.add("prodid", "-//incident//breach deadlines//JA")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", name or "incident deadlines")
    moment = stamp or datetime.now(UTC)
    for o in obligations:
        if o.due is None:
            continue
        event = Event()
        event.add("uid", _uid(o))
        event.add("dtstamp", moment)
        kind = "目安" if o.soft else "期限"
        event.add("summary", f"[{o.incident}] {o.label} ({kind}) — {o.recipient}")
        event.add("description", f"{o.title}\n{o.regime}: {o.id}\n{o.recipient}")
        if isinstance(o.due, datetime):
            # in UTC: a fixed offset has no TZID and would be written as floating local time
            event.add("dtstart", o.due.astimezone(UTC))
            event.add("dtend", o.due.astimezone(UTC) + timedelta(minutes=30))
            triggers = (timedelta(days=-2), timedelta(hours=-3))
        else:
            event.add("dtstart", o.due)
            event.add("dtend", o.due + timedelta(days=1))
            # all-day events start at 00:00: alarms at 09:00 two days before and on the day
            triggers = (timedelta(days=-2, hours=9), timedelta(hours=9))
        for trigger in triggers:
            alarm = Alarm()
            alarm.add("action", "DISPLAY")
            alarm.add("description", f"{o.label}: {o.incident}")
            alarm.add("trigger", trigger)
            event.add_component(alarm)
        cal.add_component(event)
    data: bytes = cal.to_ical()
    return data
