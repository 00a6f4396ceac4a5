"""Roster commands: `incident roster import ID FILE` and `incident roster show ID`.

The roster (本人一覧) is personal data: it is stored encrypted, its key lives in the OS keyring or in
the key file named by INCIDENT_KEY_FILE / key_file, and the record keeps only its count, columns and
import time. Showing it masks every field unless --reveal, which is logged. The import and the reveal,
with their records and audit entries, are incident.notices.roster_import.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from incident.cli.common import (
    get_env,
    json_option,
    split_list,
    store_options,
)
from incident.cli.group import IncidentGroup
from incident.i18n import _

if TYPE_CHECKING:
    from incident.cli.reporting import Reporter, RichReporter
    from incident.notices.roster_import import PersonsHook, PersonsMismatch, RosterSample

SAMPLE_SIZE = 5
MAX_SHOWN = 20


#: the roster's fields as the officer reads them in a Japanese run
COLUMN_JA = {"name": "氏名", "kana": "かな", "address": "住所", "postal_code": "郵便番号", "email": "メールアドレス",
             "phone": "電話番号"}


def column_names(columns: Any) -> str:
    """The roster's columns: their field ids, or in a Japanese run their Japanese names."""
    from incident import i18n

    if i18n.is_japanese():
        return "、".join(COLUMN_JA.get(c, c) for c in columns)
    return ", ".join(columns)


def persons_hook(rep: Reporter) -> PersonsHook:
    """Say so when the roster has more people than `persons` (in a JSON run too); in a human run on a
    terminal offer to update it (the core writes the update, incident.notices.roster_import)."""

    def hook(mismatch: PersonsMismatch) -> bool:
        shown = _("not recorded") if mismatch.persons is None else f"{mismatch.persons}"
        rep.note(_("warning: the roster has {count} people but the incident's persons (本人の数) is {shown}; the reports count every affected person (`incident set {id} persons={count}`)")
                 .format(count=mismatch.count, shown=shown, id=mismatch.incident_id))
        if rep.interactive() and click.confirm(_("Update persons to {count}?")
                                               .format(count=mismatch.count), default=True, err=True):
            rep.note(_("persons = {count}").format(count=mismatch.count))
            return True
        return False

    return hook


def _parse_map(text: str | None) -> dict[str, str] | None:
    from incident.errors import InputError

    if not text:
        return None
    mapping: dict[str, str] = {}
    for part in split_list(text):
        if not part:
            continue
        column, sep, field = part.partition("=")
        if not sep or not column.strip() or not field.strip():
            raise InputError(_("--map expects COLUMN=FIELD pairs separated by commas (e.g. 氏名=name,Eメール=email), not {part!r}")
                             .format(part=part), field="map")
        mapping[column.strip()] = field.strip()
    return mapping


@click.group("roster", cls=IncidentGroup)
def roster_group() -> None:
    """The affected-person roster (本人一覧) of an incident, encrypted at rest."""


@roster_group.command("import")
@click.argument("incident_id", metavar="ID")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--map", "mapping", metavar="COLUMN=FIELD,...",
              help="Name the columns the headers do not say: 氏名=name,メール=email (fields: name, kana, "
                   "address, postal_code, email, phone).")
@click.option("--encoding", metavar="NAME",
              help="The file's encoding when it is not UTF-8, UTF-16 with a BOM or Shift_JIS (cp932): "
                   "euc_jp, latin-1, ... (any Python codec name).")
@click.option("--sheet", metavar="NAME", help="With an Excel workbook: the sheet to read (default: the first).")
@click.option("--skip-invalid", is_flag=True, help="Import the valid rows and list the invalid ones "
              "(by default nothing is imported when any row is invalid).")
@click.option("--replace", is_flag=True, help="Replace a roster that notices were already made from (needs "
              "--reason; the old roster's hash goes to the audit log).")
@click.option("--reason", default="", help="With --replace: why (logged).")
@json_option
@store_options
def import_cmd(as_json: bool, incident_id: str, file: Path, mapping: str | None, encoding: str | None,
               sheet: str | None, skip_invalid: bool, replace: bool, reason: str) -> None:
    """Import the people of FILE for incident ID.

    FILE is a CSV (UTF-8 with or without BOM, Shift_JIS/cp932, or tab-separated UTF-16 with BOM as
    Excel's 「Unicode テキスト」; --encoding for anything else), or an Excel workbook (.xlsx: the first
    sheet or --sheet NAME; leading zeros of postal codes and telephone numbers kept). It needs a name column and an address or
    e-mail column. The import is all or nothing: a broken row (an unclosed quote, a wrong number of
    fields) or an invalid value imports nobody unless --skip-invalid leaves the invalid rows out."""
    from incident.cli.reporting import reporter
    from incident.notices.roster_import import import_roster, settle_persons

    env = get_env()
    imported = import_roster(env.context(), incident_id, file, actor=env.actor(), mapping=_parse_map(mapping),
                             encoding=encoding, sheet=sheet, skip_invalid=skip_invalid, replace=replace,
                             reason=reason)
    result, section = imported.result, imported.section
    rep = reporter(as_json)
    rep.result({"incident": incident_id, **section, "data_lines": result.data_lines,
                "skipped_rows": [p.english() for p in result.skipped],
                "duplicate_rows": [d.english() for d in result.duplicates]})
    rep.info(_("Imported {count:,} people of {data_lines:,} data lines for {incident_id} ({encoding}; columns: {join}); stored encrypted.")
             .format(count=result.count, data_lines=result.data_lines, incident_id=incident_id, encoding=result.encoding, join=column_names(result.columns)))
    if result.skipped_rows:
        rep.info(_("Skipped {skipped_rows} invalid row(s):").format(skipped_rows=result.skipped_rows))
        for problem in result.skipped[:MAX_SHOWN]:
            rep.info(f"  {problem}")
    if result.duplicate_count:
        rep.info(_("{duplicate_count} possible duplicate(s), imported:")
                 .format(duplicate_count=result.duplicate_count))
        for dup in result.duplicates[:MAX_SHOWN]:
            rep.info(f"  {dup}")
    if imported.persons is not None:  # after the import's summary: the warning, and the offer on a terminal
        settle_persons(env.store(), imported.persons, env.actor(), persons_hook(rep))


@roster_group.command("show")
@click.argument("incident_id", metavar="ID")
@click.option("--reveal", is_flag=True, help="Show the sample unmasked (recorded in the audit log).")
@click.option("-n", "count", type=click.IntRange(0, 1000), default=SAMPLE_SIZE, show_default=True,
              help="How many people to show.")
@json_option
@store_options
def show_cmd(as_json: bool, incident_id: str, reveal: bool, count: int) -> None:
    """The roster's size and columns, and a masked sample of its people."""
    from incident.cli.reporting import reporter
    from incident.notices.roster_import import show_roster

    env = get_env()
    shown = show_roster(env.store(), incident_id, actor=env.actor(), count=count, reveal=reveal)
    meta, people = shown.info, shown.people
    rep = reporter(as_json)
    rep.result({"incident": incident_id, "count": meta.count, "columns": list(meta.columns),
                "imported_at": meta.imported_at, "masked": not reveal,
                "sample": [{"key": p.key, "name": p.name, "kana": p.kana, "email": p.email, "address": p.address,
                            "postal_code": p.postal_code, "phone": p.phone, "extra": dict(p.extra), "line": p.line}
                           for p in people]},
               lambda out: _show_sample(out, incident_id, shown))


def _show_sample(out: RichReporter, incident_id: str, shown: RosterSample) -> None:
    from rich.markup import escape
    from rich.table import Table

    meta = shown.info
    out.print(_("{incident_id}: {count} people, imported {imported_at:%Y-%m-%d %H:%M} UTC; columns: {join}")
              .format(incident_id=incident_id, count=meta.count, imported_at=meta.imported_at, join=column_names(meta.columns)))
    table = Table(_("key"), _("name"), _("email"), _("address"), _("postal code"), _("phone"),
                  title=_("sample") + ("" if not shown.masked else _(" (masked; --reveal to unmask, logged)")))
    for p in shown.people:  # the roster's text is shown, never read as markup
        table.add_row(*(escape(v) for v in (p.key, p.name, p.email, p.address, p.postal_code, p.phone)))
    out.print(table)
