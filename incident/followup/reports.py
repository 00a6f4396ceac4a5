"""The annual report (年次報告): seed 002's table 表5 of the year's mishandling incidents, from the register.

Incidents are chosen by the month they occurred (`occurred_at`, else `discovered_at`) in the
organization's timezone, grouped by their type's `report_group` in playbook order, numbered across
groups, and totalled by type, cause and department, with the regulator reports filed, the persons
affected and the share caused by a missing double check. Renderers: md and html through the
templates in `templates/reports/`, csv and json here.
"""

from __future__ import annotations

import calendar
import csv
import io
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal, get_args

from markupsafe import Markup

from incident import dates
from incident.errors import InputError
from incident.i18n import _
from incident.law.regimes import load_regimes
from incident.law.taxonomy import Taxonomy
from incident.register import record as rec
from incident.register import sections
from incident.resources import builtin_dir
from incident.safetext import csv_cell, md_text
from incident.text import normalize

Format = Literal["md", "csv", "html", "json"]
FORMATS: tuple[Format, ...] = get_args(Format)
"""Text formats; the XLSX sheet (incident.sheets) is written by the command from table5_rows/city_rows."""
CSV_COLUMNS = ("No.", "種別コード", "種別", "発生月", "取扱者", "内容", "原因", "所管", "事案番号", "事案の種類")
"""The CSV's Japanese headers (an office opens it in Excel): one row per incident."""


@dataclass(frozen=True)
class Period:
    """The report's span of dates, both ends included."""

    start: date
    end: date
    label: str
    """令和5年度 for a fiscal year, 2023年 for a calendar year."""

    @classmethod
    def fiscal_year(cls, fy: int) -> Period:
        """April fy – March fy+1, named by the era of its middle (FY 2019 is 令和元年度)."""
        start, end = dates.fiscal_year_bounds(fy)
        middle = date(fy, 10, 1)
        era = dates.era_of(middle)
        year = middle.year - era.start.year + 1
        return cls(start, end, f"{era.name}{'元' if year == 1 else year}年度")

    @classmethod
    def calendar_year(cls, year: int) -> Period:
        return cls(date(year, 1, 1), date(year, 12, 31), f"{year}年")

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        start = date(year, month, 1)
        return cls(start, date(year, month, calendar.monthrange(year, month)[1]), dates.era_year_month(start))

    @classmethod
    def half(cls, fy: int, second: bool) -> Period:
        """A fiscal half: 上半期 April–September, 下半期 October–March."""
        label = cls.fiscal_year(fy).label
        if second:
            return cls(date(fy, 10, 1), date(fy + 1, 3, 31), f"{label}下半期")
        return cls(date(fy, 4, 1), date(fy, 9, 30), f"{label}上半期")

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end


@dataclass(frozen=True)
class ReportRow:
    """One incident in the table."""

    no: int
    incident: str
    month: str
    """【5年6月】: the era month it occurred."""
    handled_by: str
    """'' or 委託事業者 or 指定管理者."""
    content: str
    """The summary, with (N名分) when the number of persons is known."""
    cause: str
    department: str
    type: str
    """The incident's own type (the group may differ, e.g. theft under その他)."""
    occurred: date | None = None
    discovered: date | None = None
    persons: int | None = None
    summary: str = ""
    reported_on: date | None = None
    """The first day a report or notice was marked done (else the 公表日), for a city's monthly list."""


@dataclass(frozen=True)
class ReportGroup:
    type: str
    label: str
    rows: tuple[ReportRow, ...]

    @property
    def count(self) -> int:
        return len(self.rows)


@dataclass(frozen=True)
class Tally:
    """One line of a total: an id (None for "not recorded"), its label and its count."""

    key: str | None
    label: str
    count: int


@dataclass(frozen=True)
class Filed:
    """Obligations marked done (reports filed, notices sent) for one regime and obligation."""

    regime: str
    obligation: str
    label: str
    recipient: str
    count: int


@dataclass(frozen=True)
class Totals:
    incidents: int
    by_type: tuple[Tally, ...]
    by_cause: tuple[Tally, ...]
    by_department: tuple[Tally, ...]
    filed: tuple[Filed, ...]
    reportable: int
    """Incidents whose stored assessment says a report or notice is required."""
    persons: int
    persons_unknown: int
    """Incidents whose number of persons is not recorded."""
    double_check: Tally | None
    """The cause flagged `annual_share` in causes.toml (ダブルチェックが不十分 in the bundled one) and its count;
    the JSON key keeps its name whichever cause is flagged."""

    @property
    def double_check_share(self) -> float:
        if self.double_check is None or not self.incidents:
            return 0.0
        return round(self.double_check.count / self.incidents, 4)


@dataclass(frozen=True)
class AnnualReport:
    period: Period
    groups: tuple[ReportGroup, ...]
    totals: Totals

    def to_json(self) -> dict[str, Any]:
        """The stable JSON contract of `incident report annual --format json`."""
        t = self.totals

        def tally(items: Iterable[Tally], key: str) -> list[dict[str, Any]]:
            return [{key: i.key, "label": i.label, "count": i.count} for i in items]

        return {
            "period": {"start": self.period.start.isoformat(), "end": self.period.end.isoformat()},
            "groups": [{
                "type": g.type, "label": g.label, "count": g.count,
                "rows": [{"no": r.no, "incident": r.incident, "month": r.month, "handled_by": r.handled_by,
                          "content": r.content, "cause": r.cause, "department": r.department} for r in g.rows],
            } for g in self.groups],
            "totals": {
                "incidents": t.incidents,
                "by_type": tally(t.by_type, "type"),
                "by_cause": tally(t.by_cause, "cause"),
                "by_department": [{"department": i.label, "count": i.count} for i in t.by_department],
                "reports_filed": [{"regime": f.regime, "obligation": f.obligation, "label": f.label,
                                   "recipient": f.recipient, "count": f.count} for f in t.filed],
                "reportable": t.reportable,
                "persons": {"total": t.persons, "unknown": t.persons_unknown},
                "double_check": {"cause": t.double_check.key, "label": t.double_check.label,
                                 "count": t.double_check.count, "total": t.incidents,
                                 "share": t.double_check_share} if t.double_check else None,
            },
        }


# --------------------------------------------------------------------------- periods

_FY = re.compile(r"(?:(?P<era>明治|大正|昭和|平成|令和|[MTSHR])\.?\s*(?P<ey>元|\d{1,2})|(?:FY)?(?P<year>\d{4}))"
                 r"\s*(?:年度?)?", re.IGNORECASE)
_MONTH = re.compile(r"(\d{4})-(\d{1,2})")
_HALF = re.compile(r"(.+?)[-\s]?(H1|H2|上期|下期|上半期|下半期)", re.IGNORECASE)


def parse_fiscal_year(text: str, *, field: str = "--fiscal-year") -> int:
    """A fiscal year (年度) as 2023, FY2023, 令和5, 令和5年度, R5, R05, 令和元年度 or H30 (full-width digits too)."""
    raw = normalize(text).strip()
    match = _FY.fullmatch(raw)
    if match is None:
        raise InputError(_("{text!r} is not a fiscal year; give 2023, 令和5, 令和5年度 or R5").format(text=text), field=field)
    if match["year"]:
        year = int(match["year"])
    else:
        era = dates.era_by_key(match["era"])
        number = 1 if match["ey"] == "元" else int(match["ey"])
        later = [e for e in dates.ERAS if e.start > era.start]
        if number < 1 or (later and era.start.year + number - 1 > later[0].start.year):
            raise InputError(_("{text!r}: {name} has no year {number}")
                             .format(text=text, name=era.name, number=number), field=field)
        year = era.start.year + number - 1
    if not 1873 <= year <= 9998:
        raise InputError(_("{text!r} is not a year this report covers (1873–9998)").format(text=text), field=field)
    return year


def parse_period(text: str) -> Period:
    """--period: a month (2024-04), a fiscal half (2024-H1, 令和6上期: April–September; H2: October–March)
    or a fiscal year (2024, 令和6年度, R6)."""
    raw = normalize(text).strip()
    month = _MONTH.fullmatch(raw)
    if month:
        year, number = int(month[1]), int(month[2])
        if not 1 <= number <= 12 or not 1873 <= year <= 9998:
            raise InputError(_("{text!r} is not a month; give YYYY-MM (2024-04)").format(text=text), field="--period")
        return Period.month(year, number)
    half = _HALF.fullmatch(raw)
    if half:
        fy = parse_fiscal_year(half[1], field="--period")
        return Period.half(fy, half[2].upper() in ("H2", "下期", "下半期"))
    try:
        return Period.fiscal_year(parse_fiscal_year(raw, field="--period"))
    except InputError:
        raise InputError(_("{text!r} is not a period; give a month (2024-04), a fiscal half (2024-H1, 2024-H2) or a fiscal year (2024, 令和6年度, R6)")
                         .format(text=text), field="--period") from None


# --------------------------------------------------------------------------- building


def report_date(record: rec.Record, tz: str) -> date:
    """The day the report files an incident under: when it occurred, else when it was discovered."""
    occurred = record.get("occurred_at")
    return dates.to_local_date(occurred if occurred is not None else record.discovered_at, tz)


def content_of(record: rec.Record) -> str:
    """The summary (else the title) with (N名分) appended when the number of persons is known."""
    text = " ".join(str(record.get("summary") or record.get("title") or "").split())
    persons = record.get("persons")
    if isinstance(persons, int) and persons > 0:
        suffix = f"({persons}名分)"
        if not text.endswith(suffix):
            text += suffix
    return text


def annual_report(records: Iterable[rec.Record], taxonomy: Taxonomy, period: Period, *,
                  tz: str = "Asia/Tokyo") -> AnnualReport:
    """The report over the records that occurred within the period."""
    chosen: list[tuple[date, rec.Record]] = []
    for record in records:
        day = report_date(record, tz)
        if day in period:
            chosen.append((day, record))
    chosen.sort(key=lambda pair: (pair[0], pair[1].id))

    groups_order = [t.id for t in taxonomy.report_groups()]
    by_group: dict[str, list[tuple[date, rec.Record]]] = {g: [] for g in groups_order}
    for day, record in chosen:
        by_group[_group_of(record, taxonomy)].append((day, record))

    groups: list[ReportGroup] = []
    number = 0
    for group_id, members in by_group.items():
        if not members:
            continue
        rows = []
        for day, record in members:
            number += 1
            occurred = record.get("occurred_at")
            persons = record.get("persons")
            rows.append(ReportRow(
                no=number, incident=record.id, month=dates.era_month(day),
                handled_by=record.get("handled_by", ""), content=content_of(record),
                cause=_cause_text(record, taxonomy), department=record.get("department", ""),
                type=record.get("type", ""),
                occurred=dates.to_local_date(occurred, tz) if occurred is not None else None,
                discovered=dates.to_local_date(record.discovered_at, tz),
                persons=persons if isinstance(persons, int) else None,
                summary=" ".join(str(record.get("summary") or record.get("title") or "").split()),
                reported_on=reported_on(record, tz),
            ))
        groups.append(ReportGroup(type=group_id, label=taxonomy.types[group_id].ja, rows=tuple(rows)))
    return AnnualReport(period=period, groups=tuple(groups), totals=_totals([r for _d, r in chosen], taxonomy))


def reported_on(record: rec.Record, tz: str) -> date | None:
    """The first day an obligation (a report or notice) was marked done, else the day it was published."""
    days = [dates.to_local_date(entry.done_at, tz)
            for obligations in sections.obligations_of(record.sections).done.values()
            for entry in obligations.values()]
    published = record.get("published_on")
    if not days and published is not None:
        days.append(dates.to_local_date(published, tz))
    return min(days) if days else None


def city_rows(report: AnnualReport) -> list[list[Any]]:
    """The columns several cities publish monthly: 報告日, 発生日（判明日）, 事案の概要, 人数, 担当課."""
    def era(day: date | None) -> str:
        return dates.era_date(day) if day is not None else ""

    rows: list[list[Any]] = []
    for group in report.groups:
        for row in group.rows:
            happened = era(row.occurred) or "不明"
            if row.discovered is not None and row.discovered != row.occurred:
                happened += f"（{era(row.discovered)}）"
            rows.append([era(row.reported_on), happened, row.summary, row.persons, row.department])
    return rows


CITY_COLUMNS = ("報告日", "発生日（判明日）", "事案の概要", "人数", "担当課")
TABLE5_COLUMNS = ("No.", "種別", "内容", "原因", "所管")


def _group_of(record: rec.Record, taxonomy: Taxonomy) -> str:
    entry = taxonomy.types.get(record.get("type", ""))
    if entry is None:
        raise InputError(_("unknown incident type {type!r}; valid: {join}")
                         .format(type=record.get('type'), join=', '.join(taxonomy.types)),
                         file=f"incident {record.id}", field="type")
    return entry.report_group


def _cause_text(record: rec.Record, taxonomy: Taxonomy) -> str:
    text = " ".join(str(record.get("cause") or "").split())
    if text:
        return text
    cause = taxonomy.causes.get(record.get("cause_category", ""))
    return cause.ja if cause is not None else ""


def _totals(records: Sequence[rec.Record], taxonomy: Taxonomy) -> Totals:
    types = Counter(r.get("type", "") for r in records)
    causes: Counter[str | None] = Counter(r.get("cause_category") or None for r in records)
    departments = Counter(r.get("department", "") for r in records)
    by_type = tuple(Tally(t.id, t.ja, types[t.id]) for t in taxonomy.types.values() if types[t.id])
    cause_order = {c: i for i, c in enumerate(taxonomy.causes)}
    by_cause = tuple(
        Tally(c, taxonomy.causes[c].ja if c is not None and c in taxonomy.causes else (c or ""), n)
        for c, n in sorted(causes.items(), key=lambda kv: (kv[0] is None, cause_order.get(kv[0] or "", 0), kv[0] or ""))
    )
    by_department = tuple(Tally(d or None, d, n) for d, n in sorted(departments.items(), key=lambda kv: (-kv[1], kv[0])))
    filed: Counter[tuple[str, str, str, str]] = Counter()
    reportable = 0
    for record in records:
        if sections.reportable_of(record.sections) is True:
            reportable += 1
        for key in _done_obligations(record):
            filed[key] += 1
    persons = [r.get("persons") for r in records]
    share = taxonomy.annual_share_cause
    return Totals(
        incidents=len(records), by_type=by_type, by_cause=by_cause, by_department=by_department,
        filed=tuple(Filed(*key, count=n) for key, n in sorted(filed.items())),
        reportable=reportable,
        persons=sum(p for p in persons if isinstance(p, int)),
        persons_unknown=sum(1 for p in persons if not isinstance(p, int)),
        double_check=Tally(share.id, share.ja, causes[share.id]) if share else None,
    )


def _done_obligations(record: rec.Record) -> set[tuple[str, str, str, str]]:
    """(regime, obligation, label, recipient) of each obligation the `obligations` section marks done.

    The section is {regime: {obligation: {done_at, ref}}} (as `incident done` writes it); the label and
    the recipient come from the stored assessment, when it lists that obligation.
    """
    done = sections.obligations_of(record.sections).done
    if not done:
        return set()
    assessment = sections.assessment_of(record.sections)
    assessed = {(regime.regime, ob.id): (ob.label or ob.id, ob.recipient)
                for regime in (assessment.assessments if assessment else ()) for ob in regime.obligations}
    found: set[tuple[str, str, str, str]] = set()
    for regime, obligations in done.items():
        for obligation in obligations:
            label, recipient = assessed.get((regime, obligation), (obligation, ""))
            found.add((regime, obligation, label, recipient))
    return found


# --------------------------------------------------------------------------- rendering


def render(report: AnnualReport, fmt: Format, *, organization: str = "", extra_dirs: Sequence[Path] = ()) -> str:
    """The report in one of FORMATS."""
    renderer = RENDERERS.get(fmt)
    if renderer is None:
        raise InputError(_("unknown format {fmt!r}; valid: {join}").format(fmt=fmt, join=', '.join(FORMATS)), field="--format")
    return renderer(report, organization, tuple(extra_dirs))


def _render_json(report: AnnualReport, _organization: str, _extra: tuple[Path, ...]) -> str:
    return json.dumps(report.to_json(), ensure_ascii=False, indent=2) + "\n"


def csv_table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A CSV (CRLF) with the headers, every cell protected against formula injection."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(headers)
    writer.writerows([csv_cell(v) for v in row] for row in rows)
    return out.getvalue()


def _render_csv(report: AnnualReport, _organization: str, _extra: tuple[Path, ...]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for group in report.groups:
        for row in group.rows:  # free text from the register: never a formula in a spreadsheet
            writer.writerow([csv_cell(v) for v in (row.no, group.type, group.label, row.month, row.handled_by,
                                                   row.content, row.cause, row.department, row.incident, row.type)])
    return out.getvalue()


def contractor_marker(handled_by: str, content: str) -> str:
    """The (委託事業者) marker of a row, or '' when there is none or the summary already starts with it."""
    if not handled_by:
        return ""
    return "" if content.lstrip("(（【[ 　").startswith(handled_by) else handled_by


def table5_rows(report: AnnualReport) -> list[list[Any]]:
    """The 表5 rows as a sheet prints them: No., 種別 (with the group's count on its first row), 内容
    (【5年6月】, the contractor marker once, the summary), 原因 (同上 under the same cause), 所管."""
    rows: list[list[Any]] = []
    previous = None
    for group in report.groups:
        for index, row in enumerate(group.rows):
            marker = contractor_marker(row.handled_by, row.content)
            content = f"{row.month} " + (f"({marker}) " if marker else "") + row.content
            same = previous is not None and row.cause == previous and bool(row.cause)
            rows.append([row.no, f"{group.label} ({group.count})" if index == 0 else "", content,
                         "同上" if same else row.cause, row.department])
            previous = row.cause
    return rows


def _render_md(report: AnnualReport, organization: str, extra: tuple[Path, ...]) -> str:
    return render_template("annual.md.j2", view(report, organization), extra_dirs=extra)


def _render_html(report: AnnualReport, organization: str, extra: tuple[Path, ...]) -> str:
    return render_template("annual.html.j2", view(report, organization), extra_dirs=extra)


RENDERERS: Mapping[Format, Callable[[AnnualReport, str, tuple[Path, ...]], str]] = {
    "md": _render_md,
    "csv": _render_csv,
    "html": _render_html,
    "json": _render_json,
}

CHART_WIDTH = 320
"""Width in px of the longest bar of the HTML chart."""


def view(report: AnnualReport, organization: str = "") -> dict[str, Any]:
    """What the md and html templates see: the JSON plus the period's label, 同上 marks and chart bars."""
    data = report.to_json()
    previous = None
    for group in data["groups"]:
        for index, row in enumerate(group["rows"]):
            row["first"] = index == 0
            row["marker"] = contractor_marker(row["handled_by"], row["content"])
            row["same_cause"] = previous is not None and row["cause"] == previous and bool(row["cause"])
            previous = row["cause"]
    top = max((g["count"] for g in data["groups"]), default=0)
    data["chart"] = [{"label": g["label"], "count": g["count"],
                      "width": round(CHART_WIDTH * g["count"] / top) if top else 0} for g in data["groups"]]
    data["chart_width"] = CHART_WIDTH
    totals = data["totals"]
    if totals["double_check"] is not None:
        totals["double_check"]["percent"] = f"{100 * totals['double_check']['share']:.1f}"
    data["period"] |= {"label": report.period.label, "start_era": dates.era_date(report.period.start),
                       "end_era": dates.era_date(report.period.end)}
    data["organization"] = organization
    names = regime_names()
    for filed in totals["reports_filed"]:
        filed["regime_name"] = names.get(filed["regime"], filed["regime"])
    return data


def regime_names(extra_dirs: Sequence[Path] = ()) -> dict[str, str]:
    """Each regime's Japanese name (個人情報保護法（個人情報取扱事業者）) by id, as the report shows it."""
    return {regime_id: regime.name_ja for regime_id, regime in load_regimes(extra_dirs).items()}


def render_template(name: str, context: Mapping[str, Any], *, extra_dirs: Sequence[Path] = ()) -> str:
    """Render templates/reports/NAME strictly (StrictUndefined; autoescaped when NAME ends in .html.j2, every
    value with its HTML escaped as Markdown text when NAME ends in .md.j2).

    The organization's `templates/reports/` (in `extra_dirs`) is searched first; every template is
    rendered in Jinja2's sandbox, since an organization's file is not trusted code.
    """
    import jinja2
    from jinja2.exceptions import SecurityError

    from incident.templating import BoundedSandbox, ConfinedLoader, bounded_render

    own = [(Path(d) / "reports", Path(d)) for d in extra_dirs]
    search = [str(p) for p, _unused in own] + [str(builtin_dir("templates") / "reports")]
    env = BoundedSandbox(
        loader=ConfinedLoader([Path(p) for p in search], dict(own)), undefined=jinja2.StrictUndefined,
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2", "html"), default_for_string=False),
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
        finalize=_md_value if name.endswith(".md.j2") else None,
    )
    env.filters["cell"] = _md_cell
    try:
        text = str(bounded_render(env.get_template(name), context))
        return text if text.endswith("\n") else text + "\n"
    except jinja2.TemplateNotFound:
        raise InputError(_("template {name} not found in {join}").format(name=name, join=', '.join(search)), field="template") from None
    except jinja2.TemplateSyntaxError as exc:
        raise InputError(_("template error: {message}").format(message=exc.message), file=exc.filename or name, line=exc.lineno) from None
    except jinja2.UndefinedError as exc:
        raise InputError(_("template uses an unknown value: {message}").format(message=exc.message), file=name) from None
    except SecurityError as exc:
        raise InputError(_("template does something a template may not: {exc}").format(exc=exc), file=name) from None


def _md_value(value: object) -> object:
    """Every value a Markdown template prints: raw HTML escaped (what `_md_cell` made is kept)."""
    return value if isinstance(value, Markup) or value is None else md_text(value)


def _md_cell(value: object) -> str:
    """A value safe inside a Markdown table cell (HTML escaped, pipes escaped, line breaks as <br>)."""
    text = "" if value is None else md_text(value)
    return Markup(text.replace("\\", "\\\\").replace("|", "\\|").replace("\r\n", "\n").replace("\n", "<br>"))
