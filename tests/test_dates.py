"""Tests for incident.dates: every accepted form, era spans, full-width input, formatting, fiscal years."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from incident import dates
from incident.dates import (
    ACCEPTED_FORMS,
    era_date,
    era_month,
    era_of,
    era_year_month,
    fiscal_year,
    fiscal_year_bounds,
    now,
    parse_date,
    parse_datetime,
    to_local_date,
)
from incident.errors import InputError

TOKYO = ZoneInfo("Asia/Tokyo")
JUNE_12 = datetime(2023, 6, 12, tzinfo=TOKYO)
JUNE_12_0930 = datetime(2023, 6, 12, 9, 30, tzinfo=TOKYO)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2023-06-12", JUNE_12),
        ("2023-06-12T09:30", JUNE_12_0930),
        ("2023-06-12 09:30", JUNE_12_0930),
        ("2023-06-12T09:30:15", datetime(2023, 6, 12, 9, 30, 15, tzinfo=TOKYO)),
        ("2023年6月12日", JUNE_12),
        ("2023年06月12日", JUNE_12),
        ("2023年6月12日 9時30分", JUNE_12_0930),
        ("2023年6月12日9時30分", JUNE_12_0930),
        ("2023年6月12日 9時", datetime(2023, 6, 12, 9, tzinfo=TOKYO)),
        ("2023年6月12日 9時30分15秒", datetime(2023, 6, 12, 9, 30, 15, tzinfo=TOKYO)),
        ("2023年6月12日9:30", JUNE_12_0930),
        ("2023年6月12日 09:30:15", datetime(2023, 6, 12, 9, 30, 15, tzinfo=TOKYO)),
        ("令和5年6月12日", JUNE_12),
        ("令和5年6月12日 9時30分", JUNE_12_0930),
        ("令和元年5月1日", datetime(2019, 5, 1, tzinfo=TOKYO)),
        ("令和1年5月1日", datetime(2019, 5, 1, tzinfo=TOKYO)),
        ("平成31年4月30日", datetime(2019, 4, 30, tzinfo=TOKYO)),
        ("昭和64年1月7日", datetime(1989, 1, 7, tzinfo=TOKYO)),
        ("R5.6.12", JUNE_12),
        ("R5/6/12", JUNE_12),
        ("R5.6.12 9:30", JUNE_12_0930),
        ("H31.4.30", datetime(2019, 4, 30, tzinfo=TOKYO)),
        ("r5.6.12", JUNE_12),
        ("h1.1.8", datetime(1989, 1, 8, tzinfo=TOKYO)),
        ("2023/6/12", JUNE_12),
        ("2023/06/12 09:30", JUNE_12_0930),
        ("2023.6.12", JUNE_12),
        ("  2023-06-12  ", JUNE_12),
        ("２０２３年６月１２日", JUNE_12),
        ("２０２３年６月１２日　９時３０分", JUNE_12_0930),
        ("Ｒ５．６．１２", JUNE_12),
        ("ｒ５／６／１２", JUNE_12),
        ("２０２３－０６－１２Ｔ０９：３０", JUNE_12_0930),
        ("令和５年６月１２日", JUNE_12),
        ("㋿5年6月12日", JUNE_12),
        ("㍻31年4月30日", datetime(2019, 4, 30, tzinfo=TOKYO)),
    ],
)
def test_accepted_forms(text: str, expected: datetime) -> None:
    got = parse_datetime(text)
    assert got == expected
    assert got.tzinfo == TOKYO
    assert parse_date(text) == expected.date()


@pytest.mark.parametrize(
    ("text", "utc_offset", "expected_utc"),
    [
        ("2023-06-12T09:30:00+09:00", timedelta(hours=9), datetime(2023, 6, 12, 0, 30, tzinfo=UTC)),
        ("2023-06-12T09:30Z", timedelta(0), datetime(2023, 6, 12, 9, 30, tzinfo=UTC)),
        ("2023-06-12T09:30:00-05:00", timedelta(hours=-5), datetime(2023, 6, 12, 14, 30, tzinfo=UTC)),
    ],
)
def test_iso_offset_is_kept_as_written(text: str, utc_offset: timedelta, expected_utc: datetime) -> None:
    got = parse_datetime(text)
    assert got.utcoffset() == utc_offset
    assert got == expected_utc
    assert parse_date(text) == date(2023, 6, 12)


def test_utc_evening_is_next_day_in_tokyo() -> None:
    dt = parse_datetime("2024-10-03T20:00Z")
    assert parse_date("2024-10-03T20:00Z") == date(2024, 10, 3)
    assert to_local_date(dt) == date(2024, 10, 4)
    assert to_local_date(dt, "UTC") == date(2024, 10, 3)
    assert to_local_date(datetime(2024, 10, 3, 23, 0)) == date(2024, 10, 3)


def test_end_of_day_and_time_zone() -> None:
    assert parse_datetime("令和5年6月12日", end_of_day=True) == datetime(
        2023, 6, 12, 23, 59, 59, tzinfo=TOKYO
    )
    assert parse_datetime("2023-06-12T09:30", end_of_day=True) == JUNE_12_0930
    ny = parse_datetime("2023/6/12 9:30", "America/New_York")
    assert ny.utcoffset() == timedelta(hours=-4)
    assert ny == datetime(2023, 6, 12, 13, 30, tzinfo=UTC)


def test_unknown_time_zone() -> None:
    with pytest.raises(InputError) as err:
        parse_datetime("2023-06-12", "Mars/Olympus")
    assert (
        str(err.value) == "field 'tz': unknown time zone 'Mars/Olympus'; use an IANA name such as Asia/Tokyo"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("明治6年1月1日", date(1873, 1, 1)),
        ("明治45年7月29日", date(1912, 7, 29)),
        ("大正元年7月30日", date(1912, 7, 30)),
        ("T15.12.24", date(1926, 12, 24)),
        ("昭和元年12月25日", date(1926, 12, 25)),
        ("S64.1.7", date(1989, 1, 7)),
        ("平成元年1月8日", date(1989, 1, 8)),
        ("平成31年4月30日", date(2019, 4, 30)),
        ("令和元年5月1日", date(2019, 5, 1)),
        ("R100.1.1", date(2118, 1, 1)),
    ],
)
def test_era_boundaries_accepted(text: str, expected: date) -> None:
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "平成31年5月1日",
            "'平成31年5月1日' is outside 平成 (1989-01-08 to 2019-04-30); 2019-05-01 is 令和元年5月1日",
        ),
        (
            "令和元年4月30日",
            "'令和元年4月30日' is outside 令和 (from 2019-05-01); 2019-04-30 is 平成31年4月30日",
        ),
        ("H32.1.1", "'H32.1.1' is outside 平成 (1989-01-08 to 2019-04-30); 2020-01-01 is 令和2年1月1日"),
        (
            "昭和64年1月8日",
            "'昭和64年1月8日' is outside 昭和 (1926-12-25 to 1989-01-07); 1989-01-08 is 平成元年1月8日",
        ),
        (
            "平成元年1月7日",
            "'平成元年1月7日' is outside 平成 (1989-01-08 to 2019-04-30); 1989-01-07 is 昭和64年1月7日",
        ),
        (
            "大正元年7月29日",
            "'大正元年7月29日' is outside 大正 (1912-07-30 to 1926-12-24); 1912-07-29 is 明治45年7月29日",
        ),
        (
            "明治5年12月31日",
            "'明治5年12月31日' is before 明治6年1月1日 (1873-01-01); earlier dates used the lunisolar calendar",
        ),
        ("令和0年5月1日", "no such date '令和0年5月1日' (era years start at 元年 = 1)"),
        (
            "2023-02-29",
            "no such date '2023-02-29' (day is out of range for month); accepted forms: " + ACCEPTED_FORMS,
        ),
        ("2023年2月29日", "no such date '2023年2月29日' (day is out of range for month)"),
        ("R5.13.1", "no such date 'R5.13.1' (month must be in 1..12)"),
        ("2023年6月12日 24時", "no such time in '2023年6月12日 24時' (hour must be in 0..23)"),
        ("2023/6/12 9:60", "no such time in '2023/6/12 9:60' (minute must be in 0..59)"),
    ],
)
def test_impossible_dates_rejected(text: str, message: str) -> None:
    with pytest.raises(InputError) as err:
        parse_datetime(text, field="discovered_at")
    assert err.value.field == "discovered_at"
    assert err.value.message == message
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "hello",
        "2023",
        "2023-06",
        "2023-6-12",
        "20230612",
        "2023/6.12",
        "R5.6.12.",
        "X5.6.12",
        "令和5年6月",
        "6月12日",
        "2023年6月12日ごろ",
        "23/6/12",
    ],
)
def test_garbage_rejected_with_accepted_forms(text: str) -> None:
    with pytest.raises(InputError) as err:
        parse_date(text, field="occurred_on")
    assert (
        str(err.value)
        == f"field 'occurred_on': cannot read {text!r} as a date; accepted forms: {ACCEPTED_FORMS}"
    )
    assert err.value.exit_code == 2


def test_bad_iso_time_rejected() -> None:
    with pytest.raises(InputError) as err:
        parse_datetime("2023-06-12T9:30", field="at")
    assert err.value.field == "at"
    assert err.value.message.startswith("no such date '2023-06-12T9:30' (")
    assert err.value.message.endswith("accepted forms: " + ACCEPTED_FORMS)


@pytest.mark.parametrize(
    ("d", "full", "short", "year_month"),
    [
        (date(2024, 6, 3), "令和6年6月3日", "【6年6月】", "令和6年6月"),
        (date(2023, 6, 12), "令和5年6月12日", "【5年6月】", "令和5年6月"),
        (date(2019, 5, 1), "令和元年5月1日", "【元年5月】", "令和元年5月"),
        (date(2019, 4, 30), "平成31年4月30日", "【31年4月】", "平成31年4月"),
        (date(1989, 1, 7), "昭和64年1月7日", "【64年1月】", "昭和64年1月"),
        (date(1989, 1, 8), "平成元年1月8日", "【元年1月】", "平成元年1月"),
        (date(1926, 12, 25), "昭和元年12月25日", "【元年12月】", "昭和元年12月"),
        (date(1912, 7, 30), "大正元年7月30日", "【元年7月】", "大正元年7月"),
        (date(1873, 1, 1), "明治6年1月1日", "【6年1月】", "明治6年1月"),
    ],
)
def test_era_formatting(d: date, full: str, short: str, year_month: str) -> None:
    assert era_date(d) == full
    assert era_month(d) == short
    assert era_year_month(d) == year_month


def test_era_before_gregorian_adoption_rejected() -> None:
    with pytest.raises(InputError) as err:
        era_date(date(1872, 12, 31))
    assert err.value.message == (
        "1872-12-31 is before 1873-01-01 (明治6年1月1日), when Japan adopted the Gregorian calendar"
    )
    assert era_of(date(1873, 1, 1)).name == "明治"


@pytest.mark.parametrize(
    ("d", "fy"),
    [
        (date(2024, 3, 31), 2023),
        (date(2024, 4, 1), 2024),
        (date(2024, 12, 31), 2024),
        (date(2025, 1, 1), 2024),
    ],
)
def test_fiscal_year(d: date, fy: int) -> None:
    assert fiscal_year(d) == fy
    first, last = fiscal_year_bounds(fy)
    assert first <= d <= last


def test_fiscal_year_bounds() -> None:
    assert fiscal_year_bounds(2023) == (date(2023, 4, 1), date(2024, 3, 31))


def test_now_is_aware_and_patchable(monkeypatch: pytest.MonkeyPatch) -> None:
    assert now().utcoffset() == timedelta(hours=9)
    assert now("UTC").utcoffset() == timedelta(0)
    fixed = datetime(2024, 10, 4, 9, 0, tzinfo=TOKYO)
    monkeypatch.setattr(dates, "now", lambda tz="Asia/Tokyo": fixed)
    assert dates.now() == fixed


# --- round trips --------------------------------------------------------------------------------

_FULL_WIDTH = str.maketrans({chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)} | {" ": "\u3000"})


def _era_parts(d: date) -> tuple[str, str, str]:
    era = era_of(d)
    n = d.year - era.start.year + 1
    return era.name, era.letter, "元" if n == 1 else str(n)


def _forms(d: date) -> list[str]:
    name, letter, year = _era_parts(d)
    numeric_year = "1" if year == "元" else year
    return [
        d.isoformat(),
        f"{d.isoformat()}T23:59:59+09:00",
        f"{d.isoformat()}T00:00Z",
        f"{d.year}年{d.month}月{d.day}日",
        f"{d.year}年{d.month:02d}月{d.day:02d}日 9時30分",
        f"{d.year}年{d.month}月{d.day}日9:30",
        f"{name}{year}年{d.month}月{d.day}日",
        f"{name}{numeric_year}年{d.month}月{d.day}日",
        f"{letter}{numeric_year}.{d.month}.{d.day}",
        f"{letter}{numeric_year}/{d.month}/{d.day}",
        f"{letter.lower()}{numeric_year}.{d.month}.{d.day}",
        f"{d.year}/{d.month}/{d.day}",
        f"{d.year}.{d.month}.{d.day}",
        era_date(d),
    ]


_DATES = st.dates(min_value=date(1873, 1, 1), max_value=date(9999, 12, 31))


@given(_DATES)
def test_every_form_round_trips(d: date) -> None:
    for text in _forms(d):
        assert parse_date(text) == d, text
        assert parse_date(text.translate(_FULL_WIDTH)) == d, text


@given(_DATES, st.times())
def test_datetime_round_trips(d: date, t: time) -> None:
    t = t.replace(microsecond=0)
    expected = datetime.combine(d, t, tzinfo=TOKYO)
    assert parse_datetime(f"{d.isoformat()}T{t.isoformat()}") == expected
    assert parse_datetime(f"{era_date(d)} {t.hour}時{t.minute}分{t.second}秒") == expected
    assert parse_datetime(f"{d.year}/{d.month}/{d.day} {t.hour}:{t.minute:02d}:{t.second:02d}") == expected


@given(_DATES)
def test_era_date_parses_back(d: date) -> None:
    assert parse_date(era_date(d)) == d
    assert era_year_month(d) + f"{d.day}日" == era_date(d)
    assert era_month(d) == "【" + era_year_month(d).removeprefix(era_of(d).name) + "】"


# --------------------------------------------------------------------------- times written the Japanese way


@pytest.mark.parametrize(("text", "expected"), [
    ("令和6年6月3日 午後3時", "2024-06-03T15:00:00+09:00"),
    ("2024年6月3日15時30分", "2024-06-03T15:30:00+09:00"),
    ("2024-06-03 午後3時", "2024-06-03T15:00:00+09:00"),
    ("2024-06-03 15時30分", "2024-06-03T15:30:00+09:00"),
    ("R6.6.3 午前9時半", "2024-06-03T09:30:00+09:00"),
    ("2024/6/3 午後0時", "2024-06-03T12:00:00+09:00"),
    ("令和6年6月3日 午前0時", "2024-06-03T00:00:00+09:00"),
    ("２０２４年６月３日　午後３時", "2024-06-03T15:00:00+09:00"),
])
def test_japanese_times(text: str, expected: str) -> None:
    from incident.dates import parse_datetime

    assert parse_datetime(text, "Asia/Tokyo").isoformat() == expected


@pytest.mark.parametrize("text", ["2024-06-03 午後12時", "2024-06-03 午前12時", "2024-06-03 午後13時"])
def test_an_ambiguous_or_impossible_half_day_hour_is_refused(text: str) -> None:
    from incident.dates import parse_datetime
    from incident.errors import InputError

    with pytest.raises(InputError, match="ambiguous or impossible"):
        parse_datetime(text, "Asia/Tokyo")


def test_a_time_alone_is_today(monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from incident import dates

    monkeypatch.setattr(dates, "now", lambda tz="Asia/Tokyo": datetime(2024, 6, 3, 18, 0, tzinfo=ZoneInfo(tz)))
    assert dates.parse_datetime("午後3時").isoformat() == "2024-06-03T15:00:00+09:00"
    assert dates.parse_datetime("15時30分").isoformat() == "2024-06-03T15:30:00+09:00"
    assert dates.parse_datetime("9:05").isoformat() == "2024-06-03T09:05:00+09:00"
