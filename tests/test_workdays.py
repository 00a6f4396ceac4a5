"""Tests for incident.law.workdays: 行政機関の休日 and day-counted deadlines (確報 30/60 days)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from incident.errors import InputError, MultipleErrors
from incident.law.workdays import (
    check_calendar_file,
    closed_day_reason,
    day_n,
    deadline_day_count,
    is_closed_day,
    load_calendar,
    next_open_day,
)
from incident.resources import builtin_dir


@pytest.mark.parametrize(
    ("start", "days", "raw", "deadline"),
    [
        # SOURCES.md §3.2 and the brief: 11-02 Sat, 11-03 Sun 文化の日, 11-04 振替休日.
        (date(2024, 10, 4), 30, date(2024, 11, 2), date(2024, 11, 5)),
        # Day 30 = 2023-12-30, year-end closure to 1/3, 1/4 is a Thursday.
        (date(2023, 12, 1), 30, date(2023, 12, 30), date(2024, 1, 4)),
        # Day 30 = 2025-12-30, year-end, 2026-01-04 Sunday.
        (date(2025, 12, 1), 30, date(2025, 12, 30), date(2026, 1, 5)),
        # Day 30 = 2025-11-02 Sunday, 11-03 Monday 文化の日.
        (date(2025, 10, 4), 30, date(2025, 11, 2), date(2025, 11, 4)),
        # 60-day case (規則7条3号): day 60 is a Thursday; the start itself is 海の日.
        (date(2025, 7, 21), 60, date(2025, 9, 18), date(2025, 9, 18)),
        # Golden Week 2024: 5/3 憲法記念日, 5/4 Sat, 5/5 Sun, 5/6 振替休日.
        (date(2024, 4, 4), 30, date(2024, 5, 3), date(2024, 5, 7)),
        # Golden Week 2025: 5/3 Sat, 5/4 Sun, 5/5 こどもの日, 5/6 振替休日.
        (date(2025, 4, 3), 30, date(2025, 5, 2), date(2025, 5, 2)),
        (date(2025, 4, 4), 30, date(2025, 5, 3), date(2025, 5, 7)),
        # 2019: 4/27 to 5/6 all closed (天皇の即位の日 and 国民の休日 around it).
        (date(2019, 3, 29), 30, date(2019, 4, 27), date(2019, 5, 7)),
        # Year-end: 12/27 is a Friday (open); 12/28/2024 Saturday rolls past the closure.
        (date(2024, 11, 28), 30, date(2024, 12, 27), date(2024, 12, 27)),
        (date(2024, 11, 29), 30, date(2024, 12, 28), date(2025, 1, 6)),
        # Coming of Age Day 2024-01-08 (Monday).
        (date(2023, 12, 10), 30, date(2024, 1, 8), date(2024, 1, 9)),
    ],
)
def test_worked_examples(start: date, days: int, raw: date, deadline: date) -> None:
    assert day_n(start, days) == raw
    assert deadline_day_count(start, days) == deadline
    assert deadline_day_count(start, days, roll_forward=False) == raw


@pytest.mark.parametrize(
    ("d", "reason"),
    [
        (date(2024, 11, 2), "土曜日"),
        (date(2024, 11, 3), "文化の日"),
        (date(2024, 11, 4), "文化の日 振替休日"),
        (date(2024, 1, 8), "成人の日"),
        (date(2024, 5, 3), "憲法記念日"),
        (date(2024, 5, 6), "こどもの日 振替休日"),
        (date(2019, 4, 30), "国民の休日"),
        (date(2025, 12, 29), "年末年始 (12/29–1/3)"),
        (date(2025, 12, 31), "年末年始 (12/29–1/3)"),
        (date(2026, 1, 1), "元日"),
        (date(2026, 1, 2), "年末年始 (12/29–1/3)"),
        (date(2026, 1, 3), "年末年始 (12/29–1/3)"),
        (date(2026, 1, 4), "日曜日"),
        (date(2024, 12, 28), "土曜日"),
        (date(2023, 12, 28), None),
        (date(2026, 1, 5), None),
        (date(2024, 11, 5), None),
        (date(2024, 5, 7), None),
    ],
)
def test_closed_day_reason(d: date, reason: str | None) -> None:
    assert closed_day_reason(d) == reason
    assert is_closed_day(d) is (reason is not None)


def test_year_end_range_is_exactly_12_29_to_1_3() -> None:
    # 2021-12-28 (Tue) and 2022-01-04 (Tue) are open weekdays around the closure.
    span = [date(2021, 12, 28) + timedelta(days=i) for i in range(8)]
    assert [is_closed_day(d) for d in span] == [False, True, True, True, True, True, True, False]
    assert next_open_day(date(2021, 12, 28)) == date(2021, 12, 28)
    assert next_open_day(date(2021, 12, 29)) == date(2022, 1, 4)


def test_next_open_day_is_identity_on_open_days() -> None:
    assert next_open_day(date(2024, 11, 5)) == date(2024, 11, 5)
    assert next_open_day(date(2024, 11, 2)) == date(2024, 11, 5)


def test_day_n() -> None:
    d = date(2024, 10, 4)
    assert day_n(d, 1) == d
    assert day_n(d, 30) == d + timedelta(days=29)
    assert day_n(d, 60) == d + timedelta(days=59)


@pytest.mark.parametrize("n", [0, -1])
def test_day_n_rejects_counts_below_one(n: int) -> None:
    with pytest.raises(InputError) as err:
        deadline_day_count(date(2024, 10, 4), n)
    assert str(err.value) == f"field 'days': a day count must be 1 or more, got {n}"


_STARTS = st.dates(min_value=date(1990, 1, 1), max_value=date(2060, 12, 31))
_DAYS = st.integers(min_value=1, max_value=400)


@given(_STARTS, _DAYS)
def test_deadline_properties(start: date, days: int) -> None:
    raw = day_n(start, days)
    deadline = deadline_day_count(start, days)
    assert not is_closed_day(deadline)
    assert deadline >= raw
    d = raw
    while d < deadline:
        assert is_closed_day(d), d
        d += timedelta(days=1)
    if not is_closed_day(raw):
        assert deadline == raw


# --- the calendar is data (playbooks/calendar.toml) -------------------------------------------------


def _calendar_file(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "calendar.toml"
    path.write_text(body, encoding="utf-8")
    return path


def test_the_bundled_calendar_checks_clean_and_cites_the_act() -> None:
    path = builtin_dir("playbooks") / "calendar.toml"
    assert check_calendar_file(path) == []
    calendar = load_calendar(path)
    assert calendar.source == "行政機関の休日に関する法律 第1条第1項"
    assert [c.id for c in calendar.closures] == ["year-end"]


def test_a_closure_in_the_data_closes_its_days_and_names_them(tmp_path: Path) -> None:
    """A calendar whose closure differs from the bundled one: the days follow the data, not the code."""
    path = _calendar_file(tmp_path, """
closed_weekdays = ["sunday"]
national_holidays = false
[[closure]]
id = "founding-day"
name = "開庁記念日"
from = "06-01"
to = "06-02"
source = "○○市の休日を定める条例 第1条"
""")
    calendar = load_calendar(path)
    assert calendar.closed_day_reason(date(2024, 6, 1)) == "開庁記念日 (6/1–6/2)"
    assert calendar.is_closed_day(date(2024, 6, 2))
    assert not calendar.is_closed_day(date(2024, 12, 30))  # no year-end closure in this calendar
    assert not calendar.is_closed_day(date(2024, 6, 8))    # a Saturday, open here
    assert calendar.is_closed_day(date(2024, 6, 9))        # a Sunday
    assert not calendar.is_closed_day(date(2024, 11, 4))   # 振替休日, but national holidays are off
    assert calendar.next_open_day(date(2024, 6, 1)) == date(2024, 6, 3)


def test_a_closure_may_cross_the_new_year(tmp_path: Path) -> None:
    path = _calendar_file(tmp_path, """
[[closure]]
id = "winter"
name = "冬季休庁"
from = "12-28"
to = "01-04"
source = "条例"
""")
    calendar = load_calendar(path)
    assert all(calendar.is_closed_day(d) for d in (date(2024, 12, 28), date(2025, 1, 1), date(2025, 1, 4)))
    assert not calendar.is_closed_day(date(2025, 1, 6))


def test_the_checker_lists_every_problem_at_its_line(tmp_path: Path) -> None:
    path = _calendar_file(tmp_path, """closed_weekdays = ["caturday"]
colour = 1

[[closure]]
id = "year-end"
name = "年末年始"
from = "12-32"
to = "01-03"
""")
    problems = check_calendar_file(path)
    assert [(p.field, p.line) for p in problems] == [
        ("colour", 2), ("closed_weekdays", 1), ("closure.source", 4), ("closure.from", 7)]
    with pytest.raises(MultipleErrors):
        load_calendar(path)
