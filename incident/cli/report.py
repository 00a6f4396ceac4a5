"""Report and retention commands: `incident report annual`, `incident purge`."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import click

from incident.cli.common import emit_json, get_env, info, is_interactive, json_option, store_options
from incident.cli.group import IncidentGroup

if TYPE_CHECKING:
    from rich.console import Console

    from incident.followup.purge import PurgePlan


@click.group("report", cls=IncidentGroup)
def report_group() -> None:
    """Reports over the register."""


@report_group.command("annual")
@click.option("--fiscal-year", "fiscal_year", type=int, metavar="YEAR",
              help="Japanese fiscal year (年度): 2023 is April 2023 – March 2024.")
@click.option("--year", type=int, metavar="YEAR", help="Calendar year (January – December).")
@click.option("--format", "fmt", type=click.Choice(["md", "csv", "html", "json"]), default="md", show_default=True,
              help="Output format.")
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="Write to FILE instead of standard output (a CSV file gets a BOM for Excel).")
@store_options
def annual_cmd(fiscal_year: int | None, year: int | None, fmt: str, output: str | None) -> None:
    """The year's table of mishandling incidents (seed 002's 表5), grouped by type, with totals."""
    from incident.errors import InputError
    from incident.followup.reports import Format, Period, annual_report, render
    from incident.law.taxonomy import load_taxonomy

    if (fiscal_year is None) == (year is None):
        raise InputError("give exactly one of --fiscal-year YEAR (April–March) or --year YEAR", field="--fiscal-year")
    for flag, value in (("--fiscal-year", fiscal_year), ("--year", year)):
        if value is not None and not 1873 <= value <= 9998:
            raise InputError(f"{value} is not a year this report covers (1873–9998)", field=flag)
    period = Period.fiscal_year(fiscal_year) if fiscal_year is not None else Period.calendar_year(cast(int, year))
    if output is not None:
        from pathlib import Path

        from incident.outputs import output_file

        output_file(Path(output), option="--output")
    env = get_env()
    store = env.store()
    report = annual_report(store.records(), load_taxonomy(store.extra_dirs()), period, tz=store.tz)
    text = render(report, cast(Format, fmt), organization=store.config.organization,
                  extra_dirs=store.extra_dirs("templates"))
    if output is None:
        click.echo(text, nl=False)
        return
    from pathlib import Path

    from incident.fsutil import atomic_write_bytes

    path = Path(output)  # what click's path_type=Path would give
    data = text.encode("utf-8")
    atomic_write_bytes(path, (b"\xef\xbb\xbf" + data) if fmt == "csv" else data, mode=0o644)
    info(f"Wrote the {period.label} report ({report.totals.incidents} incidents) to {path}.")


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
    store = env.store()
    plan = plan_purge(store)
    if not as_json:
        print_plan(env.console, plan)
    removed = False
    if plan.items and not dry_run:
        if yes or (is_interactive() and not as_json
                   and click.confirm(f"{len(plan.items)}件のインシデントの個人データを削除しますか? "
                                 f"Remove the personal data of {len(plan.items)} incident(s)?", default=False)):
            done = execute_purge(store, plan, actor=env.actor())
            removed = True
            info(f"Removed the personal data of {len(done)} incident(s): {', '.join(i.incident for i in done)}. "
                 "The records and the audit log remain.")
        elif not is_interactive() or as_json:
            info("Nothing removed: run with --yes to remove it (or --dry-run to only look).")
        else:
            info("Nothing removed.")
    if as_json:
        emit_json({**plan.to_json(), "removed": removed})


def print_plan(console: Console, plan: PurgePlan) -> None:
    from rich.table import Table

    if not plan.items:
        console.print(f"Nothing to remove: no incident closed more than {plan.retention_years} years before "
                      f"{plan.today.isoformat()} still has personal data in the store.")
        return
    table = Table(title=f"Personal data past the retention period ({plan.retention_years} years after closing)",
                  title_justify="left")
    for column in ("Incident", "Closed", "Remove", "Size"):
        table.add_column(column, overflow="fold")
    for item in plan.items:
        table.add_row(item.incident, item.closed_on.isoformat(), "\n".join(p.as_posix() for p in item.paths),
                      f"{item.size:,} B")
    console.print(table)
