"""The administrative closed days (行政機関の休日) and deadlines counted in days.

行政機関の休日に関する法律 Art. 1: closed days are Saturdays, Sundays, the holidays under the
国民の祝日に関する法律 (including 振替休日 and 国民の休日) and 12/29–1/3. Art. 2: a deadline that falls on a
closed day becomes the next day that is not closed. National holidays come from the jpholiday library.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache

import jpholiday

from incident.errors import InputError

__all__ = [
    "YEAR_END_REASON",
    "closed_day_reason",
    "day_n",
    "deadline_day_count",
    "is_closed_day",
    "next_open_day",
]

YEAR_END_REASON = "年末年始 (12/29–1/3)"
_WEEKDAY_REASON = {5: "土曜日", 6: "日曜日"}


@cache
def _holiday_name(d: date) -> str | None:
    name: str | None = jpholiday.is_holiday_name(d)
    return name


def _is_year_end(d: date) -> bool:
    return (d.month == 12 and d.day >= 29) or (d.month == 1 and d.day <= 3)


def closed_day_reason(d: date) -> str | None:
    """Why d is a closed day, or None if it is open.

    The national holiday's name comes first (元日, 文化の日, 振替休日), then 年末年始, then 土曜日 / 日曜日.
    """
    holiday = _holiday_name(d)
    if holiday is not None:
        return holiday
    if _is_year_end(d):
        return YEAR_END_REASON
    return _WEEKDAY_REASON.get(d.weekday())


@cache
def is_closed_day(d: date) -> bool:
    """True on a 行政機関の休日: Saturday, Sunday, national holiday, or 12/29–1/3.

    Weekends and the year end are closed without asking the holiday library (its first lookup of a
    date is slow); only the name, in closed_day_reason, needs it on those days.
    """
    return d.weekday() >= 5 or _is_year_end(d) or _holiday_name(d) is not None


def next_open_day(d: date) -> date:
    """d itself if open, else the first later day that is not closed (Art. 2)."""
    while is_closed_day(d):
        d += timedelta(days=1)
    return d


def day_n(start: date, n: int) -> date:
    """Day n counting start as day 1: day_n(d, 30) == d + 29 days."""
    if n < 1:
        raise InputError(f"a day count must be 1 or more, got {n}", field="days")
    return start + timedelta(days=n - 1)


def deadline_day_count(start: date, days: int, roll_forward: bool = True) -> date:
    """The deadline `days` days after start, start being day 1, moved past closed days when roll_forward.

    Weekends and holidays count inside the period; only the last day moves (PPC guideline 3-5-3-4 ※2).
    """
    last = day_n(start, days)
    return next_open_day(last) if roll_forward else last
