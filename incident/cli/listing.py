"""`incident list`: the register as a table, a CSV or a sheet.

The command lists summaries (`incident.register.listing`), not records: on a file store whose
`list.json` still vouches for every incident file it answers from that file without opening the store or
loading the record's schema, so a list of a thousand incidents starts nearly as fast as `--help`; anything
else lists through the store (which writes the file again).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from incident import i18n
from incident.cli.common import LabelledChoice, get_env, info, json_option, store_options
from incident.cli.reporting import reporter
from incident.cli.tables import RICH_TABLE_MAX_ROWS, plain_table
from incident.i18n import N_, _
from incident.register.enums import ENUM_LABELS_JA, STATUSES, enum_label
from incident.register.listing import cached_summaries, filter_summaries, summary_json

if TYPE_CHECKING:
    from incident.cli.reporting import RichReporter
    from incident.register.listing import Summary

STATUS_STYLE = {"open": "bold red", "contained": "yellow", "reported": "cyan", "closed": "green"}
LIST_COLUMNS = (N_("ID"), N_("Status"), N_("Discovered"), N_("Type"), N_("Title"), N_("Dept."), N_("Persons"),
                N_("Report?"))


@click.command("list")
@click.option("--status", type=LabelledChoice(STATUSES, ENUM_LABELS_JA["status"]),
              help="Only incidents in this state.")
@click.option("--year", type=int, help="Only incidents discovered in this calendar year.")
@click.option("--type", "type_", metavar="TYPE", help="Only incidents of this type (e.g. misdirected-email).")
@click.option("--format", "fmt", type=LabelledChoice(["table", "csv", "xlsx"]), default="table", show_default=True,
              help="csv (Japanese headers, BOM, also on standard output) or xlsx (-o FILE, prints on A4 landscape).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="With csv or xlsx: write to FILE.")
@json_option
@store_options
def list_cmd(status: str | None, year: int | None, type_: str | None, fmt: str, output: str | None,
             as_json: bool) -> None:
    """List incidents, newest discovery first."""
    env = get_env()
    listed = cached_summaries(env.store_dir) if fmt == "table" else None
    if listed is None:
        listed = env.store().summaries()
    summaries = filter_summaries(listed, status=status, year=year, type_=type_)
    if fmt != "table":
        store = env.store()
        _export_list(summaries, fmt, output, store.config.organization)
        return

    def view(out: RichReporter) -> None:
        if not sys.stdout.isatty() or len(summaries) > RICH_TABLE_MAX_ROWS:
            out.echo(plain_list(summaries), nl=False)  # pipes and long lists: no rich needed
        else:
            print_list(out, summaries)

    reporter(as_json).result(lambda: [summary_json(s) for s in summaries], view)


def _export_list(summaries: list[Summary], fmt: str, output: str | None, organization: str) -> None:
    """The list as a sheet or a CSV (Japanese headers; cells that would start a formula kept as text)."""
    from pathlib import Path  # exports only: a list answered from its cache never loads pathlib

    from incident.errors import InputError

    headers = ("番号", "状態", "発覚日", "種別", "件名", "所管", "本人の数", "報告・通知")
    if output is not None:
        from incident.outputs import output_file

        output_file(Path(output), option="--output")
    rows = list_rows(summaries)
    if fmt == "xlsx":
        if output is None:
            raise InputError(_("xlsx is written to a file: give -o FILE.xlsx"), field="--output")
        from incident.sheets import LIST_SHEET, write_table

        write_table(Path(output), f"{organization} 事案一覧".strip(), LIST_SHEET, rows, sheet="事案一覧")
        info(_("Wrote {count} incident(s) to {output}.").format(count=len(rows), output=output))
        return
    from incident.followup.reports import csv_table

    data = b"\xef\xbb\xbf" + csv_table(headers, rows).encode("utf-8")
    if output is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    from incident.fsutil import atomic_write_bytes

    atomic_write_bytes(Path(output), data, mode=0o644)
    info(_("Wrote {count} incident(s) to {output}.").format(count=len(rows), output=output))


def list_columns() -> tuple[str, ...]:
    """The list's column headers in the run's language."""
    return tuple(_(c) for c in LIST_COLUMNS)


def _list_rows(summaries: list[Summary]) -> list[list[str]]:
    """Each summary as the table shows it, in the run's language."""
    answers = {True: _("yes"), False: _("no"), None: "?"}
    statuses = {status: enum_label("status", status) for status in STATUSES}
    japanese = i18n.is_japanese()
    return [[s["id"], statuses.get(s["status"]) or enum_label("status", s["status"]), s["discovered_on"],
             (s["type_ja"] or str(s["type"])) if japanese else str(s["type"]), str(s["title"]),
             str(s["department"]), "" if s["persons"] is None else f"{s['persons']:,}",
             answers.get(s["reportable"], "-") if s["assessed"] else "-"]
            for s in summaries]


def list_rows(summaries: list[Summary]) -> list[list[Any]]:
    """The list's rows for a sheet or a CSV: the persons as a number, the rest as the table shows them."""
    rows: list[list[Any]] = list(_list_rows(summaries))
    for row, summary in zip(rows, summaries):
        persons = summary["persons"]
        row[6] = persons if isinstance(persons, int) else None
    return rows


def print_list(out: RichReporter, summaries: list[Summary]) -> None:
    if not summaries:
        out.print(_("No incidents match. Record one with `incident new` (or try `incident demo`)."))
        return
    if not out.console.is_terminal or len(summaries) > RICH_TABLE_MAX_ROWS:
        out.echo(plain_list(summaries), nl=False)
        return
    from rich.markup import escape

    from incident.cli.reporting import Column, Markup

    rows = _list_rows(summaries)
    for row, summary in zip(rows, summaries):
        row[1] = Markup(f"[{STATUS_STYLE.get(summary['status'], '')}]{escape(row[1])}[/]")
        row[7] = Markup(f"[bold red]{escape(row[7])}[/]") if row[7] == _("yes") else row[7]
    headers = list_columns()
    out.table(_("Incidents ({count})").format(count=len(summaries)),
              [*(Column(col, no_wrap=True, overflow="ellipsis") for col in headers[:4]), *headers[4:6],
               Column(headers[6], justify="right", no_wrap=True, overflow="ellipsis"),
               Column(headers[7], no_wrap=True, overflow="ellipsis")], rows)


def plain_list(summaries: list[Summary]) -> str:
    """The list as aligned text (pipes, long lists)."""
    if not summaries:
        return _("No incidents match. Record one with `incident new` (or try `incident demo`).") + "\n"
    from incident.safetext import terminal_safe

    # stored text is shown, never sent to the terminal as control characters
    return plain_table(list_columns(), _list_rows(summaries), clean=terminal_safe)
