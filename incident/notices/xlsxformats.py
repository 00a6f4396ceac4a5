"""Excel's number formats and serial dates, as much as reading a roster needs: a cell style's format
code (Excel's built-in formats by their number), whether it shows a number as a date or a duration,
and the date a serial number stands for in the 1900 or the 1904 date system.

Written here rather than taken from openpyxl so that reading a workbook does not import openpyxl
(about 13 MB of memory for its whole object model); the rules are Excel's (ECMA-376 Part 1, 18.8.30
numFmt and 18.17.4 dates), and a test holds them equal to openpyxl's.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Final

BUILTIN: Final = {
    0: "General", 1: "0", 2: "0.00", 3: "#,##0", 4: "#,##0.00", 9: "0%", 10: "0.00%", 11: "0.00E+00",
    12: "# ?/?", 13: "# ??/??", 14: "mm-dd-yy", 15: "d-mmm-yy", 16: "d-mmm", 17: "mmm-yy", 18: "h:mm AM/PM",
    19: "h:mm:ss AM/PM", 20: "h:mm", 21: "h:mm:ss", 22: "m/d/yy h:mm", 45: "mm:ss", 46: "[h]:mm:ss",
    47: "mmss.0", 48: "##0.0E+0", 49: "@",
}
"""The built-in formats a number can be shown with (the currency and accounting ones are left out:
they are neither dates nor widths)."""

# quoted text and bracketed colours or locales ([Red], [$-411]) say nothing about dates; [h] [m] [s] do
_NOT_DATE: Final = re.compile(r'".*?"|\[(?!hh?\]|mm?\]|ss?\])[^\]]*\]')
_DATE_PART: Final = re.compile(r"(?<![_\\])[dmhys]", re.IGNORECASE)
_ELAPSED: Final = re.compile(r"\[hh?\](:mm(:ss(\.0*)?)?)?|\[mm?\](:ss(\.0*)?)?|\[ss?\](\.0*)?", re.IGNORECASE)
_EPOCH_1900: Final = datetime(1899, 12, 30)
_EPOCH_1904: Final = datetime(1904, 1, 1)
_ISO: Final = re.compile(r"(\d{4}-\d{2}-\d{2})?T?(\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?)?Z?")


def format_code(number: int, custom: dict[int, str]) -> str:
    return custom.get(number) or BUILTIN.get(number, "General")


def is_date(code: str) -> bool:
    """Whether the format (its first section, for positive numbers) shows a number as a date or time."""
    return _DATE_PART.search(_NOT_DATE.sub("", code.split(";")[0])) is not None


def is_duration(code: str) -> bool:
    """Whether the format shows elapsed time ([h]:mm:ss)."""
    return _ELAPSED.search(code.split(";")[0]) is not None


def from_serial(value: float, *, date1904: bool, duration: bool) -> datetime | time | timedelta:
    """The date, time of day or duration the serial number `value` stands for (to the millisecond).

    In the 1900 system Excel counts 1900-02-29, a day that did not exist: serials before 60 are one day
    later than their count from 1899-12-30."""
    if duration:
        span = timedelta(days=value)
        if span.microseconds:
            span = timedelta(seconds=span.total_seconds() // 1, microseconds=round(span.microseconds, -3))
        return span
    day, fraction = divmod(value, 1)
    clock = timedelta(milliseconds=round(fraction * 86_400_000))
    if 0 <= value < 1 and clock.days == 0:
        return (datetime.min + clock).time()
    if 0 < value < 60 and not date1904:
        day += 1
    return (_EPOCH_1904 if date1904 else _EPOCH_1900) + timedelta(days=day) + clock


def from_iso(text: str) -> datetime | date | time:
    """A cell of type ``d``: an ISO 8601 date, time or both; ValueError otherwise."""
    match = _ISO.fullmatch(text)
    if match is None or not (match.group(1) or match.group(2)):
        raise ValueError(f"not an ISO 8601 date: {text!r}")
    day, clock = match.group(1), match.group(2)
    if day and clock:
        return datetime.fromisoformat(f"{day}T{clock}")
    if day:
        return date.fromisoformat(day)
    return time.fromisoformat(clock)
