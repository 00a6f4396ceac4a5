"""Assessment commands: assess, deadlines, done.

`incident assess ID` assesses a stored incident, saves the result on it (section `assessment`, with the
playbook versions used) and in the audit log, and says what changed since the last assessment.
`incident assess --facts FILE` assesses a record file without a store. The core is incident.law.tracking
(assess and save, open obligations, mark done), incident.law.rules, incident.law.assessment and incident.law.deadlines; this module only parses options and shows
results. Only click and incident.cli.common are imported when the module loads (`incident --help` stays
fast); everything else is imported by the function that needs it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from incident.cli.common import command_hint, get_env, info, json_option, store_options
from incident.cli.reporting import RichReporter, reporter
from incident.i18n import N_, _, either

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import date
    from pathlib import Path

    from incident.law.assessment import AssessmentJson, ObligationJson
    from incident.law.context import Context
    from incident.register.backend import RegisterStore
    from incident.register.record import Record

WEEKDAYS = "月火水木金土日"
VERDICT = {
    True: ("bold red", N_("Must report / notify")),
    False: ("bold green", N_("Not reportable")),
    None: ("bold yellow", N_("Undetermined: facts are missing")),
}


def pick(data: Mapping[str, object], key: str) -> str:
    """The Japanese text of `key` in a Japanese run, else its English twin (`key_en`) when there is one."""
    from incident import i18n

    if i18n.is_japanese():
        return str(data.get(key) or "")
    return str(data.get(f"{key}_en") or data.get(key) or "")
MARK = {True: "[red]✓[/]", False: "[green]✗[/]", None: "[yellow]?[/]"}


def _due_text(ob: ObligationJson, today: date, tz: str) -> str:
    from datetime import date, datetime

    from rich.markup import escape

    from incident.dates import to_local_date

    due = ob.get("due")
    if due is None:
        return escape(pick(ob, "due_text") or _("No deadline is set"))
    if "T" in due:
        moment = datetime.fromisoformat(due)
        day = to_local_date(moment, tz)
        shown = f"{moment.strftime('%Y-%m-%d %H:%M %z')} ({WEEKDAYS[day.weekday()]})"
    else:
        day = date.fromisoformat(due)
        shown = f"{due} ({WEEKDAYS[day.weekday()]})"
    left = (day - today).days
    when = (_("{left} days left").format(left=left) if left >= 0
            else "[bold red]" + _("overdue by {days} days").format(days=-left) + "[/]")
    target = " [yellow]" + _("target") + "[/]" if ob.get("soft") else ""
    return f"{escape(shown)}{target} — {when}"


def print_assessment(out: RichReporter, data: AssessmentJson, tz: str) -> None:
    """A rich panel per regime: verdict, conditions, exemptions, obligations, missing facts."""
    from rich.console import Group
    from rich.markup import escape
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    from incident.dates import now
    from incident.register.record import FIELD_BY_NAME

    today = now(tz).date()
    if not data["assessments"]:
        out.print(_("No regime applies to this incident."))
    learned = data.get("learned_on")
    for a in data["assessments"]:
        style, verdict = VERDICT[a["reportable"]]
        parts: list[Any] = [f"[{style}]{_(verdict)}[/]",
                            f"[dim]{escape(a.get('version', ''))} · "
                            + _("learned on {date}").format(date=learned) + "[/]"]
        conds = Table(show_header=True, header_style="bold", expand=True, box=None, padding=(0, 1))
        conds.add_column("", no_wrap=True)
        conds.add_column(_("Condition"), ratio=2, overflow="fold")
        conds.add_column(_("Reason"), ratio=4, overflow="fold")
        conds.add_column(_("Citation"), ratio=2, overflow="fold")
        for c in a["conditions"]:
            conds.add_row(MARK[c["met"]], escape(f"{c['id']}\n{pick(c, 'label')}"), escape(pick(c, "reason")),
                          escape(c["citation"]))
        parts.append(conds)
        for e in a["exemptions"]:
            flag = "[green]" + _("applied") + "[/]" if e["applied"] else "[dim]" + _("not applied") + "[/]"
            parts.append(_("Exemption {id}: {flag} — {reason}").format(
                id=escape(e["id"]), flag=flag, reason=escape(pick(e, "reason"))))
        if a["obligations"]:
            obs = Table(show_header=True, header_style="bold", expand=True, box=None, padding=(0, 1))
            obs.add_column(_("Obligation"), ratio=2, overflow="fold")
            obs.add_column(_("To"), ratio=2, overflow="fold")
            obs.add_column(_("Due"), ratio=3, overflow="fold")
            obs.add_column(_("Items"), ratio=3, overflow="fold")
            for o in a["obligations"]:
                by = _(" (notified by {by})").format(by=o["by"]) if o.get("by") else ""
                obs.add_row(escape(f"{o['id']}\n{pick(o, 'label')}"), escape(o["recipient"] + by),
                            _due_text(o, today, tz), escape(item_names(o["items"])))
            parts.append(obs)
            for o in a["obligations"]:
                if o.get("note"):
                    parts.append(f"[dim]{escape(o['id'])}: {escape(o['note'])}[/]")
        else:
            parts.append(_("No obligation arises."))
        if a["missing"]:
            names = ", ".join(f"{m} ({FIELD_BY_NAME[m].ja})" if m in FIELD_BY_NAME else m for m in a["missing"])
            parts.append("[yellow]" + _("Missing facts:") + f"[/] {escape(names)} — `incident set ID KEY=VALUE`")
        for note in a.get("notes", []):
            parts.append("[dim]" + _("Note: {note}").format(note=escape(note)) + "[/]")
        parts = [Text.from_markup(p, overflow="fold") if isinstance(p, str) else p for p in parts]
        for part in parts:
            if isinstance(part, Text):
                part.no_wrap = False
        title = f"[bold]{escape(pick(a, 'name') or a['regime'])}[/] ({escape(a['regime'])})"
        out.print(Panel(Group(*parts), title=title, title_align="left"))


def item_names(ids: list[str]) -> str:
    """The items a report must hold: their ids, or in a Japanese run their names (概要, 項目 …)."""
    from incident import i18n

    if not i18n.is_japanese():
        return ", ".join(ids)
    from incident.law.report_items import load_report_items

    items = load_report_items().items
    return "、".join(items[i].ja if i in items else i for i in ids)


def print_changes(out: RichReporter, changes: list[str], first: bool) -> None:
    from rich.markup import escape

    if first:
        out.print(_("First assessment of this incident (saved)."))
    elif changes:
        out.print(_("[bold]Changed since the last assessment:[/]"))
        for line in changes:
            out.print(f"  • {escape(line)}")
    else:
        out.print(_("No change since the last assessment."))


def print_stored_summary(out: RichReporter, record: Record) -> None:
    """One line per regime of the saved assessment (for `incident show`)."""
    from rich.markup import escape

    from incident.register.sections import assessment_of

    section = assessment_of(record.sections)
    if section is None:
        return
    out.print(_("[bold]Assessment[/] ({assessed_at}): `{command}` for details").format(
        assessed_at=escape(str(section.assessed_at)), command=escape(command_hint(f"assess {record.id}"))))
    for a in section.assessments:
        style, verdict = VERDICT[a.reportable]
        met = [c.id for c in a.conditions if c.met is True]
        dues = [f"{o.id} {o.due}" for o in a.obligations if o.due]
        line = f"  {a.regime}: [{style}]{_(verdict)}[/]"
        if met:
            line += f" — {escape(', '.join(met))}"
        if dues:
            line += f" — {escape('; '.join(dues))}"
        out.print(line)


# --------------------------------------------------------------------------- assess


@click.command("assess")
@click.argument("incident_id", metavar="ID", required=False)
@click.option("--facts", "facts_file", type=click.Path(dir_okay=False), metavar="FILE",
              help="Assess a record file (the format of `incident new --from`); no store needed.")
@json_option
@store_options
def assess_cmd(incident_id: str | None, facts_file: str | None, as_json: bool) -> None:
    """Decide, under every regime that applies, what must be reported, to whom and by when."""
    from pathlib import Path

    from incident.errors import InputError

    env = get_env()
    rep = reporter(as_json)
    if (incident_id is None) == (facts_file is None):
        raise InputError(_("give an incident ID or --facts FILE (one of them)"), field="ID")
    if facts_file is not None:
        data, tz = _assess_file(env, Path(facts_file))
        rep.result(data, lambda out: print_assessment(out, data, tz))
        return
    assert incident_id is not None
    store = env.store()
    from incident.law.tracking import assess_and_save

    first = "assessment" not in store.load(incident_id).sections
    saved = assess_and_save(env.context(), incident_id, actor=env.actor())

    def view(out: RichReporter) -> None:
        print_assessment(out, saved, store.tz)
        print_changes(out, saved["changes"], first)

    rep.result(saved, view)


def _assess_file(env: Any, path: Path) -> tuple[AssessmentJson, str]:
    """Assess a record file; a store's config and playbooks are used when a store exists."""
    from incident.law.rules import AssessConfig, assess
    from incident.law.vocabulary import load_vocabulary
    from incident.register.record import read_file

    if (env.store_path / "incidents").is_dir():
        ctx = env.context()
        record = read_file(path, vocab=load_vocabulary(ctx.playbook_dirs), tz=ctx.tz)
        return ctx.assessor.assess(record).to_json(None), ctx.tz
    config = AssessConfig()
    record = read_file(path, vocab=load_vocabulary(config.playbook_dirs), tz=config.tz)
    return assess(record, config=config).to_json(None), config.tz


# --------------------------------------------------------------------------- deadlines and done


def collect_open(ctx: Context, records: list[Any] | None = None) -> list[Any]:
    """The open obligations across the store; incidents that cannot be assessed are named on stderr."""
    from incident.law import tracking

    return tracking.collect_open(ctx, on_skip=lambda incident_id, exc: info(
        _("warning: {incident_id} cannot be assessed: {exc}").format(incident_id=incident_id, exc=exc)),
        records=records)


def _due_cells(o: Any) -> tuple[str, str]:
    """The Due and Left cells of an open obligation."""
    from datetime import datetime

    if o.due is None:
        return _("promptly"), ""
    shown = o.due.strftime("%Y-%m-%d %H:%M %z") if isinstance(o.due, datetime) else o.due.isoformat()
    due = f"{shown} ({WEEKDAYS[o.due_date.weekday()]})" + (" " + _("target") if o.soft else "")
    left = (_("{days} days").format(days=o.days_left) if not o.overdue
            else _("overdue by {days} days").format(days=-o.days_left))
    return due, left


def _deadline_columns() -> tuple[str, ...]:
    return (_("Due"), _("Left"), _("Incident"), _("Obligation"), _("To"), _("Title"))


def print_deadlines(out: RichReporter, ctx: Context, rows: list[Any] | None = None) -> None:
    from rich.markup import escape
    from rich.table import Table

    from incident.cli.tables import RICH_TABLE_MAX_ROWS

    rows = collect_open(ctx) if rows is None else rows
    if not rows:
        out.print(_("No open obligations."))
        return
    if not out.console.is_terminal or len(rows) > RICH_TABLE_MAX_ROWS:
        out.echo(plain_deadlines(rows), nl=False)  # pipes and long lists: aligned text, no rich layout
        return
    table = Table(title=_("Open obligations ({count})").format(count=len(rows)), title_justify="left")
    columns = _deadline_columns()
    for col in columns:
        table.add_column(col, overflow="fold", no_wrap=col in columns[:3])
    for o in rows:
        due, left = _due_cells(o)
        style = "bold red" if o.overdue else ""
        table.add_row(escape(due), escape(left), o.incident, escape(f"{o.regime}/{o.id}\n{o.label}"),
                      escape(o.recipient), escape(o.title), style=style)
    out.print(table)


def plain_deadlines(rows: list[Any]) -> str:
    """The open obligations as aligned text (the same columns as the table; overdue ones say so)."""
    from incident.cli.tables import plain_table
    from incident.safetext import terminal_safe

    cells = []
    for o in rows:
        due, left = _due_cells(o)
        cells.append([due, left, o.incident, f"{o.regime}/{o.id} {o.label}", terminal_safe(o.recipient),
                      terminal_safe(o.title)])
    return (_("Open obligations ({count})").format(count=len(rows)) + "\n"
            + plain_table(_deadline_columns(), cells, max_width=60))


def _step_target(due: Any, tz: str) -> str:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    return due.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M") if isinstance(due, datetime) else str(due)


def plain_overdue_steps(late: list[Any], tz: str) -> str:
    """Overdue response steps as aligned text: each step, or for a long list one line per incident (its
    earliest overdue step and how many are overdue; `incident steps ID` lists them all)."""
    from incident.cli.steps import who_label
    from incident.cli.tables import RICH_TABLE_MAX_ROWS, plain_table
    from incident.followup.response import URGENCIES
    from incident.safetext import terminal_safe

    def step_title(item: Any) -> str:
        return either(item.view.step.title_ja, item.view.step.title_en)

    def target(item: Any) -> str:
        urgency = URGENCIES[item.view.step.urgency]
        return _step_target(item.view.due, tz) + " " + either(urgency.ja, urgency.en)

    if len(late) <= RICH_TABLE_MAX_ROWS:
        cells = [[target(item), item.incident, f"{step_title(item)} {item.view.step.id}",
                  terminal_safe(who_label(item.view.step))] for item in late]
        return (_("Overdue response steps ({count})").format(count=len(late)) + "\n"
                + plain_table((_("Target"), _("Incident"), _("Step"), _("Who")), cells, max_width=60))
    first: dict[str, Any] = {}
    count: dict[str, int] = {}
    for item in late:  # earliest first already
        first.setdefault(item.incident, item)
        count[item.incident] = count.get(item.incident, 0) + 1
    cells = [[target(item), incident, str(count[incident]), f"{step_title(item)} {item.view.step.id}"]
             for incident, item in first.items()]
    title = _("Overdue response steps: {count} of {incidents} incidents (the earliest of each; "
              "`incident steps ID` lists them)").format(count=len(late), incidents=len(first))
    return title + "\n" + plain_table((_("Target"), _("Incident"), _("Overdue"), _("Earliest step")), cells,
                                      max_width=60)


def print_overdue_steps(out: RichReporter, ctx: Context, department: str | None = None,
                        records: list[Any] | None = None) -> None:
    """The open response steps past their target across the register (below the obligations)."""
    from rich.markup import escape
    from rich.table import Table

    from incident.cli.steps import who_label
    from incident.cli.tables import RICH_TABLE_MAX_ROWS
    from incident.followup.people import same_name
    from incident.followup.response import URGENCIES
    from incident.followup.steps import overdue_steps

    late = [s for s in overdue_steps(ctx, ctx.now(), records)
            if department is None or same_name(department, s.department)]
    if not late:
        return
    if not out.console.is_terminal or len(late) > RICH_TABLE_MAX_ROWS:
        out.echo(plain_overdue_steps(late, ctx.tz), nl=False)
        return
    table = Table(title=_("Overdue response steps ({count})").format(count=len(late)), title_justify="left")
    for col in (_("Target"), _("Incident"), _("Step"), _("Who")):
        table.add_column(col, overflow="fold", no_wrap=col in (_("Target"), _("Incident")))
    for item in late:
        shown = _step_target(item.view.due, ctx.tz)
        urgency = either(URGENCIES[item.view.step.urgency].ja, URGENCIES[item.view.step.urgency].en)
        table.add_row(escape(f"{shown} {urgency}"), item.incident,
                      escape(f"{either(item.view.step.title_ja, item.view.step.title_en)}\n{item.view.step.id}"),
                      escape(who_label(item.view.step)),
                      style="bold red")
    out.print(table)


@click.command("deadlines")
@click.option("--ics", "ics_file", type=click.Path(dir_okay=False), metavar="FILE",
              help="Also write an iCalendar file with an alarm before each deadline.")
@click.option("--department", metavar="NAME",
              help="Only incidents of this department (所管), e.g. for a calendar file per department.")
@json_option
@store_options
def deadlines_cmd(ics_file: str | None, department: str | None, as_json: bool) -> None:
    """Every open obligation across incidents, soonest first, with days left (overdue in red).

    Below them, the response steps past their target (1時間以内, 当日中 …).
    """
    from pathlib import Path

    from incident.fsutil import atomic_write_bytes
    from incident.law.deadlines import to_ics

    if ics_file is not None:
        from incident.outputs import output_file

        output_file(Path(ics_file), option="--ics")
    env = get_env()
    store = env.store()
    rep = reporter(as_json)
    records = store.records()  # read once for the obligations and the overdue steps
    rows = collect_open(env.context(), records)
    if department is not None:
        rows = _of_department(store, rows, department)
    if ics_file is not None:
        ics_path = Path(ics_file)  # what click's path_type=Path would give
        atomic_write_bytes(ics_path, to_ics(rows, name=f"incident deadlines — {department}" if department
                                            else None))
        rep.note(_("Wrote {count} deadline(s) to {path}")
                 .format(count=sum(1 for r in rows if r.due is not None), path=ics_path))

    def view(out: RichReporter) -> None:
        print_deadlines(out, env.context(), rows)
        print_overdue_steps(out, env.context(), department, records)

    rep.result(lambda: [r.to_json() for r in rows], view)


def _of_department(store: RegisterStore, rows: list[Any], department: str) -> list[Any]:
    from incident.errors import InputError
    from incident.followup.people import same_name

    records = store.records()
    known = sorted({str(r.get("department")) for r in records if r.get("department")} | set(store.config.people))
    if not any(same_name(department, name) for name in known):
        raise InputError(_("no incident or [people] entry names the department {department!r}; known: {known}")
                         .format(department=department, known=", ".join(known) or _("none")), field="--department")
    ids = {r.id for r in records if same_name(department, str(r.get("department", "")))}
    return [row for row in rows if row.incident in ids]


@click.command("done")
@click.argument("incident_id", metavar="ID")
@click.argument("obligation", metavar="OBLIGATION")
@click.option("--at", "at_text", metavar="DATETIME", help="When it was done (default: now).")
@click.option("--ref", default="", metavar="RECEIPT-NO", help="Receipt or reference number (受付番号).")
@click.option("--replace", is_flag=True, help="Change an obligation already marked done (a recorded receipt "
              "number is kept unless --ref gives a new one).")
@store_options
def done_cmd(incident_id: str, obligation: str, at_text: str | None, ref: str, replace: bool) -> None:
    """Mark an obligation done: `incident done 2024-0007 regulator-final --ref R6-123`."""
    from incident.cli.common import is_interactive
    from incident.dates import parse_datetime
    from incident.errors import RefusedError
    from incident.law.tracking import mark_done

    env = get_env()
    ctx = env.context()
    at = parse_datetime(at_text, ctx.tz, field="--at") if at_text else ctx.now().replace(microsecond=0)
    try:
        key = mark_done(ctx, incident_id, obligation, at=at, ref=ref, actor=env.actor(), replace=replace)
    except RefusedError as exc:
        if replace or not is_interactive() or not click.confirm(_("{message}. Replace it?")
                                                                .format(message=exc.message),
                                                                 default=False, err=True):
            raise
        key = mark_done(ctx, incident_id, obligation, at=at, ref=ref, actor=env.actor(), replace=True)
    info(_("Marked {key} done on {incident_id} ({at}{ref}).").format(
        key=key, incident_id=incident_id, at=at.isoformat(), ref=_(", ref {ref}").format(ref=ref) if ref else ""))
