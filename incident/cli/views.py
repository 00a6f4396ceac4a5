"""Human views of the register (drawn through the human reporter) and their JSON equivalents."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any
from unicodedata import east_asian_width as _east_asian_width

from incident import i18n
from incident.dates import to_local_date
from incident.i18n import N_, _
from incident.register import record as rec
from incident.register.sections import reportable_of

if TYPE_CHECKING:
    from incident.cli.reporting import RichReporter

STATUS_STYLE = {"open": "bold red", "contained": "yellow", "reported": "cyan", "closed": "green"}


def record_json(record: rec.Record) -> dict[str, Any]:
    from incident.cli.common import to_jsonable

    out = to_jsonable(rec.to_toml_dict(record))
    assert isinstance(out, dict)
    return out


def summary_json(record: rec.Record) -> dict[str, Any]:
    return {
        "id": record.id,
        "status": record.status,
        "discovered_at": record.discovered_at.isoformat(),
        "type": record.get("type"),
        "title": record.get("title"),
        "department": record.get("department", ""),
        "persons": record.get("persons"),
        "reportable": reportable_of(record.sections),
    }


#: above this many rows a terminal gets the plain table too (rich tables grow slow with thousands of rows)
RICH_TABLE_MAX_ROWS = 200
LIST_COLUMNS = (N_("ID"), N_("Status"), N_("Discovered"), N_("Type"), N_("Title"), N_("Dept."), N_("Persons"),
                N_("Report?"))


def list_columns() -> tuple[str, ...]:
    """The list's column headers in the run's language."""
    return tuple(_(c) for c in LIST_COLUMNS)


def _list_row(r: rec.Record, tz: str) -> list[str]:
    s = summary_json(r)
    reportable = {True: _("yes"), False: _("no"), None: "?"}.get(s["reportable"], "-") \
        if "assessment" in r.sections else "-"
    return [s["id"], rec.enum_label("status", s["status"]), to_local_date(r.discovered_at, tz).isoformat(),
            type_label(str(s["type"])),
            str(s["title"]), str(s["department"]), "" if s["persons"] is None else f"{s['persons']:,}", reportable]


def list_rows(records: list[rec.Record], tz: str) -> list[list[Any]]:
    """The list's rows for a sheet or a CSV: the persons as a number, the rest as the table shows them."""
    rows: list[list[Any]] = []
    for record in records:
        row: list[Any] = _list_row(record, tz)
        persons = record.get("persons")
        row[6] = persons if isinstance(persons, int) else None
        rows.append(row)
    return rows


def print_list(out: RichReporter, records: list[rec.Record], tz: str) -> None:
    if not records:
        out.print(_("No incidents match. Record one with `incident new` (or try `incident demo`)."))
        return
    if not out.console.is_terminal or len(records) > RICH_TABLE_MAX_ROWS:
        out.echo(plain_list(records, tz), nl=False)
        return
    from rich.markup import escape

    from incident.cli.reporting import Column, Markup

    rows: list[list[str]] = []
    for record in records:
        row: list[str] = _list_row(record, tz)
        row[1] = Markup(f"[{STATUS_STYLE.get(record.status, '')}]{escape(row[1])}[/]")
        row[7] = Markup(f"[bold red]{escape(row[7])}[/]") if row[7] == _("yes") else row[7]
        rows.append(row)
    headers = list_columns()
    out.table(_("Incidents ({count})").format(count=len(records)),
              [*(Column(col, no_wrap=True, overflow="ellipsis") for col in headers[:4]), *headers[4:6],
               Column(headers[6], justify="right", no_wrap=True, overflow="ellipsis"),
               Column(headers[7], no_wrap=True, overflow="ellipsis")], rows)


def plain_list(records: list[rec.Record], tz: str) -> str:
    """The list as aligned text (pipes, long lists)."""
    if not records:
        return _("No incidents match. Record one with `incident new` (or try `incident demo`).") + "\n"
    from incident.safetext import terminal_safe

    # stored text is shown, never sent to the terminal as control characters
    return plain_table(list_columns(), [[terminal_safe(c) for c in _list_row(r, tz)] for r in records])


#: terminal columns of each non-ASCII character met so far (a list of 1,000 titles repeats most of them)
_CHAR_WIDTHS: dict[str, int] = {}


def cell_width(text: str) -> int:
    """Terminal columns of `text`: East Asian wide and full-width characters take two."""
    if text.isascii():
        return len(text)
    widths = _CHAR_WIDTHS
    for ch in set(text).difference(widths):
        widths[ch] = 2 if _east_asian_width(ch) in "WF" else 1
    return sum(map(widths.__getitem__, text))


def plain_table(headers: tuple[str, ...], rows: list[list[str]], max_width: int = 40) -> str:
    """An aligned text table for pipes and long lists; cells longer than `max_width` columns are cut.

    Each cell's width is measured once (a 1,000-row list has 8,000 cells)."""

    seen: dict[str, tuple[str, int]] = {}  # the same text (a department, a step title) is measured once

    def measured(text: str) -> tuple[str, int]:
        known = seen.get(text)
        if known is not None:
            return known
        seen[text] = result = _measure(text)
        return result

    def _measure(text: str) -> tuple[str, int]:
        text = text.replace("\n", " ")
        width = cell_width(text)
        if width <= max_width:
            return text, width
        out, used = [], 0
        for ch in text:
            w = cell_width(ch)
            if used + w > max_width - 1:
                break
            out.append(ch)
            used += w
        return "".join(out) + "…", used + 1

    cells = [[measured(c) for c in headers]] + [[measured(c) for c in row] for row in rows]
    widths = [max(row[i][1] for row in cells) for i in range(len(headers))]
    lines = []
    for row in cells:
        lines.append("  ".join(c + " " * (w - cw) for (c, cw), w in zip(row, widths)).rstrip())
    return "\n".join(lines) + "\n"


def print_record(out: RichReporter, record: rec.Record, tz: str) -> None:
    from rich.markup import escape
    from rich.panel import Panel
    from rich.table import Table

    from incident.dates import era_date, to_local_date

    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    for spec in rec.FIELDS:
        value = record.facts.get(spec.name)
        if value is None or value == "" or spec.name in ("id", "title"):
            continue
        if spec.name in ("occurred_at", "discovered_at", "created_at", "updated_at"):
            local = value.astimezone(_zone(tz))
            shown = f"{local.strftime('%Y-%m-%d %H:%M')} ({era_date(to_local_date(value, tz))})"
        elif spec.name == "type":
            from incident.law.taxonomy import load_taxonomy

            types = load_taxonomy().types
            shown = f"{types[value].ja} ({value})" if value in types else str(value)
        elif spec.kind == "enum" and isinstance(value, str):
            label = rec.ENUM_LABELS_JA.get(spec.name, {}).get(value)
            shown = f"{label} ({value})" if label else value
        elif isinstance(value, bool):
            shown = _("yes") if value else _("no")
        elif isinstance(value, list):
            shown = ", ".join(value)
        elif isinstance(value, int):
            shown = f"{value:,}"
        else:
            shown = str(value)
        grid.add_row(field_label(spec), escape(shown))  # stored text is shown, never read as markup
    if record.data:
        from incident.law.catalogue import load_catalogue

        catalogue = load_catalogue()
        grid.add_row(_("Data items"), escape("、".join(
            (f"{item.ja} ({d.item})" if (item := catalogue.get(d.item)) and not item.free else d.item)
            + (" " + _("encrypted") if d.encrypted else "")
            + (" " + _("key also leaked") if d.key_compromised else "")
            for d in record.data)))
    status = record.status
    out.print(Panel(grid, title=f"[bold]{escape(record.id)}[/] {escape(str(record.get('title', '')))}",
                    subtitle=f"[{STATUS_STYLE.get(status, '')}]{rec.enum_label('status', status)}[/]",
                    title_align="left"))
    if record.timeline:
        from incident.cli.reporting import Column

        out.table(_("Timeline"), [Column(_("When"), overflow="ellipsis"), _("What"), Column(_("Who"), overflow="ellipsis")],
                  ([e.at.astimezone(_zone(tz)).strftime("%Y-%m-%d %H:%M"), e.text, e.actor] for e in record.timeline))


def field_label(spec: rec.FieldSpec) -> str:
    """A record key as a row label: the Japanese term in a Japanese run (the key the officer types
    beside it), else the key with the Japanese term."""
    return f"{spec.ja}（{spec.name}）" if i18n.is_japanese() else f"{spec.name} ({spec.ja})"


def type_label(type_id: str) -> str:
    """An incident type as listed: its Japanese name in a Japanese run, else the id."""
    if not i18n.is_japanese():
        return type_id
    return _type_names().get(type_id, type_id)


@cache
def _type_names() -> dict[str, str]:
    """Each bundled incident type's Japanese name, read from incident-types.toml alone: a list needs the
    names, not the checked taxonomy with its causes (`incident playbooks check` and every command that
    records a type load that)."""
    import tomllib

    from incident.resources import builtin_dir

    data = tomllib.loads((builtin_dir("playbooks") / "incident-types.toml").read_text(encoding="utf-8"))
    return {t["id"]: t["ja"] for t in data.get("type", []) if isinstance(t, dict) and "id" in t and "ja" in t}


def _zone(tz: str) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(tz)
