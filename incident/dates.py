"""Reading and writing dates as Japanese privacy officers write them.

Accepts ISO 8601 and the Japanese forms (2023年6月12日, 令和5年6月12日, R5.6.12, 2023/6/12, full-width
digits), checks era dates against the era's span, and formats dates in the Japanese era (和暦) and the
Japanese fiscal year (年度, April–March). Every parse error is an :class:`~incident.errors.InputError`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from incident.errors import InputError
from incident.i18n import _
from incident.text import normalize

__all__ = [
    "ACCEPTED_FORMS",
    "ERAS",
    "Era",
    "era_date",
    "era_month",
    "era_of",
    "era_year_month",
    "fiscal_year",
    "fiscal_year_bounds",
    "now",
    "parse_date",
    "parse_datetime",
    "to_local_date",
]

ACCEPTED_FORMS = (
    "2023-06-12, 2023-06-12T09:30[:00][+09:00|Z], 2023年6月12日[ 9時30分|9時半|午後3時|15:30], "
    "a time alone for today (午後3時, 15:30), "
    "令和5年6月12日 (元年 for year 1), R5.6.12, R5/6/12, 2023/6/12 or 2023.6.12"
)


@dataclass(frozen=True)
class Era:
    """A Japanese era (元号) and the Gregorian span it covers."""

    name: str
    """The era name, e.g. 令和."""
    letter: str
    """The one-letter abbreviation, e.g. R."""
    start: date
    """The first day of year 1 (元年) in the Gregorian calendar."""
    first_supported: date
    """The first day this module converts (later than start only for 明治, see ERAS)."""


# 明治 began on 1868-01-25 (Gregorian), but Japan kept the lunisolar calendar until 明治5年12月2日;
# 明治6年1月1日 was 1873-01-01. Earlier 明治 dates cannot be converted by year arithmetic, so they are refused.
ERAS: tuple[Era, ...] = (
    Era("明治", "M", date(1868, 1, 25), date(1873, 1, 1)),
    Era("大正", "T", date(1912, 7, 30), date(1912, 7, 30)),
    Era("昭和", "S", date(1926, 12, 25), date(1926, 12, 25)),
    Era("平成", "H", date(1989, 1, 8), date(1989, 1, 8)),
    Era("令和", "R", date(2019, 5, 1), date(2019, 5, 1)),
)
_ERA_BY_KEY: dict[str, Era] = {e.name: e for e in ERAS} | {e.letter: e for e in ERAS}

_TIME = (
    r"(?:\s*(?P<ampm>午前|午後)?\s*(?:(?P<kh>\d{1,2})時(?:(?P<half>半)|(?P<km>\d{1,2})分(?:(?P<ks>\d{1,2})秒)?)?"
    r"|(?P<ch>\d{1,2}):(?P<cm>\d{2})(?::(?P<cs>\d{2}))?))?"
)
_ERA_KANJI = re.compile(
    r"(?P<era>明治|大正|昭和|平成|令和)(?P<y>元|\d{1,4})年(?P<m>\d{1,2})月(?P<d>\d{1,2})日" + _TIME
)
_ERA_LETTER = re.compile(
    r"(?P<era>[MTSHR])(?P<y>元|\d{1,4})(?P<sep>[./])(?P<m>\d{1,2})(?P=sep)(?P<d>\d{1,2})" + _TIME
)
_WESTERN_KANJI = re.compile(r"(?P<y>\d{4})年(?P<m>\d{1,2})月(?P<d>\d{1,2})日" + _TIME)
_WESTERN_SEP = re.compile(r"(?P<y>\d{4})(?P<sep>[./])(?P<m>\d{1,2})(?P=sep)(?P<d>\d{1,2})" + _TIME)
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ].+)?")
#: an ISO date with a time written the Japanese way (2024-06-03 午後3時, 2024-06-03 15時30分)
_BARE_TIME = re.compile(
    r"(?P<ampm>午前|午後)?\s*(?:(?P<kh>\d{1,2})時(?:(?P<half>半)|(?P<km>\d{1,2})分(?:(?P<ks>\d{1,2})秒)?)?"
    r"|(?P<ch>\d{1,2}):(?P<cm>\d{2})(?::(?P<cs>\d{2}))?)"
)
_ISO_DATE_JA_TIME = re.compile(r"(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})" + _TIME)


def _zone(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InputError(
            _("unknown time zone {tz!r}; use an IANA name such as Asia/Tokyo").format(tz=tz), field="tz"
        ) from exc


def _bad(text: str, field: str | None) -> InputError:
    return InputError(_("cannot read {text!r} as a date; accepted forms: {accepted_forms}")
                      .format(text=text, accepted_forms=ACCEPTED_FORMS), field=field)


def _make_date(year: int, month: int, day: int, text: str, field: str | None) -> date:
    try:
        return date(year, month, day)
    except ValueError as exc:
        raise InputError(_("no such date {text!r} ({exc})").format(text=text, exc=exc), field=field) from exc


def era_by_key(key: str) -> Era:
    """An era by its name or letter (令和, R, r)."""
    era = _ERA_BY_KEY.get(key) or _ERA_BY_KEY.get(key.upper())
    if era is None:
        raise KeyError(key)
    return era


def era_of(d: date) -> Era:
    """The era a Gregorian date falls in; InputError before 明治6年1月1日 (1873-01-01)."""
    for era in reversed(ERAS):
        if d >= era.first_supported:
            return era
    raise InputError(
        _("{isoformat} is before 1873-01-01 (明治6年1月1日), when Japan adopted the Gregorian calendar")
        .format(isoformat=d.isoformat())
    )


def _era_end(era: Era) -> date | None:
    i = ERAS.index(era)
    return ERAS[i + 1].start - timedelta(days=1) if i + 1 < len(ERAS) else None


def _from_era(m: re.Match[str], text: str, field: str | None) -> date:
    era = _ERA_BY_KEY[m["era"]]
    era_year = 1 if m["y"] == "元" else int(m["y"])
    if era_year < 1:
        raise InputError(_("no such date {text!r} (era years start at 元年 = 1)").format(text=text), field=field)
    d = _make_date(era.start.year + era_year - 1, int(m["m"]), int(m["d"]), text, field)
    end = _era_end(era)
    if d < era.first_supported or (end is not None and d > end):
        span = (
            f"{era.first_supported.isoformat()} to {end.isoformat()}"
            if end
            else f"from {era.start.isoformat()}"
        )
        if d < ERAS[0].first_supported:
            raise InputError(
                _("{text!r} is before 明治6年1月1日 (1873-01-01); earlier dates used the lunisolar calendar")
                .format(text=text),
                field=field,
            )
        raise InputError(
            _("{text!r} is outside {name} ({span}); {isoformat} is {era_date}")
            .format(text=text, name=era.name, span=span, isoformat=d.isoformat(), era_date=era_date(d)), field=field
        )
    return d


def _time_of(m: re.Match[str], text: str, field: str | None) -> time | None:
    hour, minute, second = (m["kh"], m["km"], m["ks"]) if m["kh"] is not None else (m["ch"], m["cm"], m["cs"])
    if hour is None:
        return None
    if m["kh"] is not None and m["half"]:
        minute = "30"  # 3時半
    h = int(hour)
    if m["ampm"]:
        # 午前0時 is midnight and 午後0時 noon; 午前/午後12時 are read both ways in Japan, so they are refused
        if h >= 12:
            raise InputError(_("{ampm}{h}時 in {text!r} is ambiguous or impossible; write the hour from 0 to 23 without {ampm} (e.g. 0時 or 12時)")
                             .format(ampm=m['ampm'], h=h, text=text), field=field)
        h += 12 if m["ampm"] == "午後" else 0
    try:
        return time(h, int(minute or 0), int(second or 0))
    except ValueError as exc:
        raise InputError(_("no such time in {text!r} ({exc})").format(text=text, exc=exc), field=field) from exc


def _parse(text: str, field: str | None) -> tuple[date, time | None, tzinfo | None]:
    """Split text into (date, time or None, fixed offset or None). The offset is only set for ISO input."""
    s = normalize(text).strip()
    ja_time = _ISO_DATE_JA_TIME.fullmatch(s) if ("時" in s or "午" in s) else None
    if ja_time:
        return (_make_date(int(ja_time["y"]), int(ja_time["m"]), int(ja_time["d"]), text, field),
                _time_of(ja_time, text, field), None)
    if _ISO.fullmatch(s):
        # dateutil's parser package is the heaviest import of this module: only a run that reads an ISO date
        # typed by a person loads it (listing and showing stored dates never does)
        from dateutil.parser import isoparse  # type: ignore[import-untyped]  # no stubs installed

        try:
            parsed: datetime = isoparse(s)
        except (ValueError, OverflowError) as exc:
            raise InputError(
                _("no such date {text!r} ({exc}); accepted forms: {accepted_forms}")
                .format(text=text, exc=exc, accepted_forms=ACCEPTED_FORMS), field=field
            ) from exc
        offset = parsed.utcoffset()
        zone = None if offset is None else (UTC if offset == timedelta(0) else timezone(offset))
        has_time = len(s) > 10
        return parsed.date(), (parsed.time() if has_time else None), zone
    for pattern in (_ERA_KANJI, _ERA_LETTER):
        m = pattern.fullmatch(s if pattern is _ERA_KANJI else s.upper())
        if m:
            return _from_era(m, text, field), _time_of(m, text, field), None
    for pattern in (_WESTERN_KANJI, _WESTERN_SEP):
        m = pattern.fullmatch(s)
        if m:
            return (
                _make_date(int(m["y"]), int(m["m"]), int(m["d"]), text, field),
                _time_of(m, text, field),
                None,
            )
    raise _bad(text, field)


def parse_datetime(
    text: str, tz: str = "Asia/Tokyo", *, field: str | None = None, end_of_day: bool = False
) -> datetime:
    """An aware datetime from any accepted form.

    A date without a time is 00:00 (23:59:59 with end_of_day) in tz; a time without an offset is in tz;
    an ISO offset or Z is kept as written.
    """
    zone = _zone(tz)
    bare = _BARE_TIME.fullmatch(normalize(text).strip())
    if bare:  # a time alone (午後3時, 15時30分, 15:30) is today's, in tz
        t = _time_of(bare, text, field)
        assert t is not None
        return datetime.combine(now(tz).date(), t, tzinfo=zone)
    d, t, offset = _parse(text, field)
    if t is None:
        t = time(23, 59, 59) if end_of_day else time(0, 0)
    return datetime.combine(d, t, tzinfo=offset if offset is not None else zone)


def parse_date(text: str, *, field: str | None = None) -> date:
    """The calendar date of any accepted form; for a datetime, its date part as written (no conversion)."""
    return _parse(text, field)[0]


def to_local_date(dt: datetime, tz: str = "Asia/Tokyo") -> date:
    """The calendar date of dt in tz (2024-10-03T20:00Z is 2024-10-04 in Tokyo). A naive dt is taken as in tz."""
    zone = _zone(tz)
    if dt.tzinfo is None or dt.utcoffset() is None:
        return dt.date()
    return dt.astimezone(zone).date()


def _era_year(d: date) -> tuple[Era, str]:
    era = era_of(d)
    n = d.year - era.start.year + 1
    return era, ("元" if n == 1 else str(n))


def era_date(d: date) -> str:
    """The date in the Japanese era: 令和6年6月3日, 令和元年5月1日, 平成31年4月30日."""
    era, year = _era_year(d)
    return f"{era.name}{year}年{d.month}月{d.day}日"


def era_year_month(d: date) -> str:
    """Era, year and month of d: 令和5年6月 (the era is that of d itself, which matters in 1989-01)."""
    era, year = _era_year(d)
    return f"{era.name}{year}年{d.month}月"


def era_month(d: date) -> str:
    """The short form of a city's annual-report table, era name left out: 【5年6月】, 【元年5月】."""
    _unused, year = _era_year(d)
    return f"【{year}年{d.month}月】"


def fiscal_year(d: date) -> int:
    """The Japanese fiscal year (年度, April–March) containing d: 2024-03-31 is in FY 2023."""
    return d.year if d.month >= 4 else d.year - 1


def fiscal_year_bounds(fy: int) -> tuple[date, date]:
    """First and last day of fiscal year fy: (fy-04-01, fy+1-03-31)."""
    return date(fy, 4, 1), date(fy + 1, 3, 31)


def now(tz: str = "Asia/Tokyo") -> datetime:
    """The current time, aware, in tz. The one clock of the toolkit: tests monkeypatch this."""
    return datetime.now(_zone(tz))
