"""Report and retention commands: `incident report annual`, `incident purge`."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import click

from incident.cli.common import LabelledChoice, get_env, info, json_option, store_options
from incident.cli.group import IncidentGroup
from incident.cli.reporting import Reporter, reporter
from incident.i18n import _

if TYPE_CHECKING:
    from incident.followup.purge import PurgePlan


@click.group("report", cls=IncidentGroup)
def report_group() -> None:
    """Reports over the register."""


@report_group.command("annual")
@click.option("--fiscal-year", "fiscal_year", metavar="YEAR",
              help="Japanese fiscal year (年度): 2023, 令和5, 令和5年度 or R5 is April 2023 – March 2024.")
@click.option("--year", type=int, metavar="YEAR", help="Calendar year (January – December).")
@click.option("--period", metavar="PERIOD", help="A month (2024-04), a fiscal half (2024-H1: April–September, "
              "2024-H2: October–March) or a fiscal year (2024, 令和6年度).")
@click.option("--format", "fmt", type=LabelledChoice(["md", "csv", "html", "json", "xlsx"]), default="md",
              show_default=True, help="Output format (xlsx needs -o FILE).")
@click.option("--layout", type=LabelledChoice(["table5", "city"]), default="table5", show_default=True,
              help="csv and xlsx columns: table5 (No., 種別, 内容, 原因, 所管) or city (報告日, 発生日（判明日）, "
              "事案の概要, 人数, 担当課), as cities publish their monthly lists.")
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="Write to FILE instead of standard output.")
@store_options
def annual_cmd(fiscal_year: str | None, year: int | None, period: str | None, fmt: str, layout: str,
               output: str | None) -> None:
    """The year's table of mishandling incidents (表5 as 練馬区 publishes it), grouped by type, with totals.

    CSV has Japanese headers and a BOM (for Excel), also on standard output; a cell that a spreadsheet
    would read as a formula is written as text.
    """
    from pathlib import Path

    from incident.errors import InputError
    from incident.followup.reports import (
        CITY_COLUMNS,
        TABLE5_COLUMNS,
        Format,
        Period,
        annual_report,
        city_rows,
        csv_table,
        parse_fiscal_year,
        parse_period,
        render,
        table5_rows,
    )
    from incident.law.taxonomy import load_taxonomy

    if sum(x is not None for x in (fiscal_year, year, period)) != 1:
        raise InputError(_("give exactly one of --fiscal-year YEAR (April–March), --year YEAR or --period PERIOD"),
                         field="--fiscal-year")
    if year is not None and not 1873 <= year <= 9998:
        raise InputError(_("{year} is not a year this report covers (1873–9998)").format(year=year), field="--year")
    if fiscal_year is not None:
        chosen = Period.fiscal_year(parse_fiscal_year(fiscal_year))
    elif period is not None:
        chosen = parse_period(period)
    else:
        chosen = Period.calendar_year(cast(int, year))
    if fmt == "xlsx" and output is None:
        raise InputError(_("xlsx is written to a file: give -o FILE.xlsx"), field="--output")
    if layout == "city" and fmt not in ("csv", "xlsx"):
        raise InputError(_("--layout city is for csv and xlsx"), field="--layout")
    if output is not None:
        from incident.outputs import output_file

        output_file(Path(output), option="--output")
    env = get_env()
    store = env.store()
    report = annual_report(store.records(), load_taxonomy(store.extra_dirs()), chosen, tz=store.tz)
    title = f"{store.config.organization} {chosen.label} 個人情報に係る事務処理ミス".strip()
    columns, rows = (CITY_COLUMNS, city_rows(report)) if layout == "city" else (TABLE5_COLUMNS, table5_rows(report))
    if fmt == "xlsx":
        from incident.sheets import CITY_SHEET, TABLE5_SHEET, write_table

        path = Path(cast(str, output))
        write_table(path, title, CITY_SHEET if layout == "city" else TABLE5_SHEET, rows, sheet=chosen.label,
                    subtitle=f"対象期間 {chosen.start.isoformat()}〜{chosen.end.isoformat()}（発生月による）")
        info(_("Wrote the {label} report ({incidents} incidents) to {path}.")
             .format(label=chosen.label, incidents=report.totals.incidents, path=path))
        return
    if fmt == "csv" and layout == "city":
        text = csv_table(columns, rows)
    else:
        text = render(report, cast(Format, fmt), organization=store.config.organization,
                      extra_dirs=store.extra_dirs("templates"))
    data = ((b"\xef\xbb\xbf" if fmt == "csv" else b"") + text.encode("utf-8"))
    if output is None:
        import sys

        sys.stdout.flush()
        sys.stdout.buffer.write(data)  # the BOM too: Excel reads a redirected file right
        sys.stdout.buffer.flush()
        return
    from incident.fsutil import atomic_write_bytes

    path = Path(output)  # what click's path_type=Path would give
    atomic_write_bytes(path, data, mode=0o644)
    info(_("Wrote the {label} report ({incidents} incidents) to {path}.")
         .format(label=chosen.label, incidents=report.totals.incidents, path=path))


@click.command("purge")
@click.option("--dry-run", is_flag=True, help="Only show what would be removed.")
@click.option("--yes", is_flag=True, help="Remove without asking (needed when not on a terminal).")
@json_option
@store_options
def purge_cmd(dry_run: bool, yes: bool, as_json: bool) -> None:
    """Remove the personal data (rosters, batches, notices) of incidents closed longer ago than retention_years.

    The incident records (their summaries) and the audit log remain; each removal is logged.
    """
    from incident.followup.purge import execute_purge, plan_purge

    env = get_env()
    plan = plan_purge(env.context())
    rep = reporter(as_json)
    print_plan(rep, plan)
    if dry_run:
        print_holdings(rep, plan)
    removed = False
    if (plan.items or plan.stray) and not dry_run:
        if yes or (rep.interactive() and click.confirm(_("Remove the personal data of {count} incident(s)?")
                                                       .format(count=len(plan.items)), default=False)):
            done = execute_purge(env.context(), plan, actor=env.actor())
            removed = True
            rep.note(_("Removed the personal data of {count} incident(s): {join}. The records and the audit log remain.")
                     .format(count=len(done), join=', '.join(i.incident for i in done)))
        elif not rep.interactive():
            rep.note(_("Nothing removed: run with --yes to remove it (or --dry-run to only look)."))
        else:
            rep.note(_("Nothing removed."))
    rep.result({**plan.to_json(), "removed": removed})


def print_holdings(rep: Reporter, plan: PurgePlan) -> None:
    """What every incident still holds of people's data, and from when purge removes it."""
    if plan.stray:
        rep.print(_("Temporary files a killed run left (removed by the next purge): {join}")
                  .format(join=", ".join(p.as_posix() for p in plan.stray)))
    if not plan.holdings:
        rep.print(_("No incident holds personal data outside its record."))
        return
    from incident.register.enums import enum_label

    rep.table(_("Personal data each incident still holds"), (_("Incident"), _("Status"), _("Removed from"), _("Holds")),
              ([h.incident, enum_label("status", h.status),
                h.due_from.isoformat() if h.due_from else _("{years} years after closing").format(
                    years=plan.retention_years),
                "\n".join([*(p.as_posix() for p in h.paths), *h.notes])] for h in plan.holdings))


def print_plan(rep: Reporter, plan: PurgePlan) -> None:
    """The personal data a purge removes now (shown to people before they are asked)."""
    if not plan.items:
        rep.print(_("Nothing to remove: no incident closed more than {retention_years} years before {isoformat} still has personal data in the store.")
                  .format(retention_years=plan.retention_years, isoformat=plan.today.isoformat()))
        return
    rep.table(_("Personal data past the retention period ({years} years after closing)").format(years=plan.retention_years),
              (_("Incident"), _("Closed"), _("Remove"), _("Size")),
              ([item.incident, item.closed_on.isoformat(), "\n".join(p.as_posix() for p in item.paths), f"{item.size:,} B"]
               for item in plan.items))
