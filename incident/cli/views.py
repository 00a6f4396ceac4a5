"""Human views of the register (drawn through the human reporter) and their JSON equivalents."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from incident import i18n
from incident.cli.listing import STATUS_STYLE
from incident.dates import to_local_date
from incident.i18n import _
from incident.register import enums
from incident.register import record as rec

if TYPE_CHECKING:
    from incident.cli.reporting import RichReporter



def record_json(record: rec.Record) -> dict[str, Any]:
    from incident.cli.common import to_jsonable

    out = to_jsonable(rec.to_toml_dict(record))
    assert isinstance(out, dict)
    return out


def print_record(out: RichReporter, record: rec.Record, tz: str) -> None:
    from rich.markup import escape
    from rich.panel import Panel
    from rich.table import Table

    from incident.dates import era_date

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
            label = enums.ENUM_LABELS_JA.get(spec.name, {}).get(value)
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
                    subtitle=f"[{STATUS_STYLE.get(status, '')}]{enums.enum_label('status', status)}[/]",
                    title_align="left"))
    if record.timeline:
        from incident.cli.reporting import Column

        out.table(_("Timeline"), [Column(_("When"), overflow="ellipsis"), _("What"), Column(_("Who"), overflow="ellipsis")],
                  ([e.at.astimezone(_zone(tz)).strftime("%Y-%m-%d %H:%M"), e.text, e.actor] for e in record.timeline))


def field_label(spec: rec.FieldSpec) -> str:
    """A record key as a row label: the Japanese term in a Japanese run (the key the officer types
    beside it), else the key with the Japanese term."""
    return f"{spec.ja}（{spec.name}）" if i18n.is_japanese() else f"{spec.name} ({spec.ja})"


def _zone(tz: str) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(tz)
