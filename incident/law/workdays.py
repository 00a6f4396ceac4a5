"""The administrative closed days (行政機関の休日) and deadlines counted in days.

Which days are closed is data: `playbooks/calendar.toml` cites 行政機関の休日に関する法律 Art. 1 (Saturdays,
Sundays, the holidays under the 国民の祝日に関する法律 and 12/29–1/3). Art. 2: a deadline that falls on a
closed day becomes the next day that is not closed. National holidays come from the jpholiday library.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import jpholiday

from incident import tomlfile
from incident.errors import InputError
from incident.i18n import _
from incident.resources import builtin_dir

__all__ = [
    "Calendar",
    "Closure",
    "check_calendar_file",
    "closed_day_reason",
    "day_n",
    "deadline_day_count",
    "is_closed_day",
    "load_calendar",
    "next_open_day",
]

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEKDAY_JA = ("月曜日", "火曜日", "水曜日", "木曜日", "金曜日", "土曜日", "日曜日")
_TOP_KEYS = ("schema", "version", "source", "closed_weekdays", "national_holidays", "closure")
_CLOSURE_KEYS = ("id", "name", "from", "to", "source")


@dataclass(frozen=True)
class Closure:
    """A yearly run of closed days, e.g. 年末年始 12/29–1/3 (a run may cross the new year)."""

    id: str
    name: str
    start: tuple[int, int]
    """(month, day), inclusive"""
    end: tuple[int, int]
    """(month, day), inclusive"""
    source: str

    def covers(self, d: date) -> bool:
        day = (d.month, d.day)
        if self.start <= self.end:
            return self.start <= day <= self.end
        return day >= self.start or day <= self.end

    @property
    def reason(self) -> str:
        return f"{self.name} ({self.start[0]}/{self.start[1]}–{self.end[0]}/{self.end[1]})"


@dataclass(frozen=True)
class Calendar:
    """The closed days of one calendar playbook."""

    closed_weekdays: frozenset[int]
    """0 = Monday … 6 = Sunday"""
    national_holidays: bool
    closures: tuple[Closure, ...]
    source: str

    def closed_day_reason(self, d: date) -> str | None:
        """Why d is a closed day, or None if it is open.

        The national holiday's name comes first (元日, 文化の日, 振替休日), then a closure (年末年始), then
        the weekday (土曜日 / 日曜日).
        """
        holiday = _holiday_name(d) if self.national_holidays else None
        if holiday is not None:
            return holiday
        for closure in self.closures:
            if closure.covers(d):
                return closure.reason
        return _WEEKDAY_JA[d.weekday()] if d.weekday() in self.closed_weekdays else None

    def is_closed_day(self, d: date) -> bool:
        """Weekdays and closures are decided without asking the holiday library (its first lookup of a
        date is slow); only the name, in closed_day_reason, needs it on those days."""
        return (d.weekday() in self.closed_weekdays or any(c.covers(d) for c in self.closures)
                or (self.national_holidays and _holiday_name(d) is not None))

    def next_open_day(self, d: date) -> date:
        """d itself if open, else the first later day that is not closed (Art. 2)."""
        for _unused in range(366):
            if not self.is_closed_day(d):
                return d
            d += timedelta(days=1)
        raise InputError(_("the calendar closes every day of a year; check calendar.toml"), field="closure")


@cache
def _holiday_name(d: date) -> str | None:
    name: str | None = jpholiday.is_holiday_name(d)
    return name


def _month_day(value: Any) -> tuple[int, int] | None:
    """"12-29" -> (12, 29); None when not a valid month-day."""
    if not isinstance(value, str) or len(value) != 5 or value[2] != "-":
        return None
    try:
        probe = date(2000, int(value[:2]), int(value[3:]))  # a leap year, so 02-29 is accepted
    except ValueError:
        return None
    return probe.month, probe.day


def _problems(data: Mapping[str, Any], path: Path, locator: tomlfile.TomlLocator) -> list[InputError]:
    problems: list[InputError] = []
    tomlfile.check_header(data, path, locator, problems)
    top = tomlfile.BlockProblems(path, locator, None)
    top.unknown_keys(data, _TOP_KEYS)
    weekdays = data.get("closed_weekdays", [])
    if not isinstance(weekdays, list) or any(w not in WEEKDAYS for w in weekdays):
        top.fail(_("closed_weekdays must be a list of: {valid}").format(valid=", ".join(WEEKDAYS)), "closed_weekdays")
    if not isinstance(data.get("national_holidays", True), bool):
        top.fail(_("national_holidays must be true or false"), "national_holidays")
    closures = data.get("closure", [])
    if not isinstance(closures, list):
        top.fail(_("closure must be an array of [[closure]] tables"), "closure")
        closures = []
    problems.extend(top.found)
    for block, where, owner in tomlfile.id_blocks(closures, "closure", path, locator, _CLOSURE_KEYS, problems,
                                         texts=("name",)):
        if not isinstance(block.get("source"), str) or not block["source"].strip():
            where.fail(_("{label}: source must be a non-empty string (the law or ordinance that closes these "
                         "days)").format(label=owner), "source")
        for key in ("from", "to"):
            if _month_day(block.get(key)) is None:
                where.fail(_("{label}: {key} must be a month-day such as \"12-29\"").format(label=owner, key=key), key)
    return problems


def _calendar(data: Mapping[str, Any]) -> Calendar:
    closures = []
    for block in data.get("closure", []):
        start, end = _month_day(block["from"]), _month_day(block["to"])
        assert start is not None and end is not None  # checked by _problems
        closures.append(Closure(block["id"], block["name"], start, end, block["source"]))
    return Calendar(closed_weekdays=frozenset(WEEKDAYS.index(w) for w in data.get("closed_weekdays", [])),
                    national_holidays=data.get("national_holidays", True), closures=tuple(closures),
                    source=data.get("source", ""))


def check_calendar_file(path: Path) -> list[InputError]:
    """Every problem of a calendar playbook, each with its line (for `incident playbooks check`)."""
    data, locator, problems = tomlfile.read_toml(path)
    if data is None:
        return problems
    return _problems(data, path, locator)


@cache
def load_calendar(path: Path | None = None) -> Calendar:
    """The calendar playbook at `path` (default: the bundled `playbooks/calendar.toml`)."""
    path = path or builtin_dir("playbooks") / "calendar.toml"
    data, locator, problems = tomlfile.read_toml(path)
    if data is not None:
        problems = _problems(data, path, locator)
    tomlfile.raise_problems(problems, path)
    assert data is not None
    return _calendar(data)


def closed_day_reason(d: date) -> str | None:
    """Why d is a closed day under the bundled calendar, or None if it is open."""
    return load_calendar().closed_day_reason(d)


@cache
def is_closed_day(d: date) -> bool:
    """True on a 行政機関の休日: Saturday, Sunday, national holiday, or 12/29–1/3 (the bundled calendar)."""
    return load_calendar().is_closed_day(d)


def next_open_day(d: date) -> date:
    """d itself if open, else the first later day that is not closed (Art. 2)."""
    return load_calendar().next_open_day(d)


def day_n(start: date, n: int) -> date:
    """Day n counting start as day 1: day_n(d, 30) == d + 29 days."""
    if n < 1:
        raise InputError(_("a day count must be 1 or more, got {n}").format(n=n), field="days")
    return start + timedelta(days=n - 1)


def deadline_day_count(start: date, days: int, roll_forward: bool = True) -> date:
    """The deadline `days` days after start, start being day 1, moved past closed days when roll_forward.

    Weekends and holidays count inside the period; only the last day moves (PPC guideline 3-5-3-4 ※2).
    """
    last = day_n(start, days)
    return next_open_day(last) if roll_forward else last
